// Which package uploads keep the full number of writes in flight (src/delivery/upload-lanes.ts).
import { describe, expect, test } from '@jest/globals';
import { UploadLanes } from '../../src/sftp/upload-lanes.js';

const lanes = (): UploadLanes => new UploadLanes({ fullLanes: 2, fullDepth: 16, minDepth: 4 });

describe('upload lanes', () => {
  test('of uploads of the same size, the two started first get the full depth', () => {
    const line = lanes();
    const [a, b, c] = [line.start(1000), line.start(1000), line.start(1000)];
    expect([a.depth(), b.depth(), c.depth()]).toEqual([16, 16, 4]);
    expect(line.sending).toBe(3);
  });

  test('an upload nearer its end moves ahead; one that stalls falls behind', () => {
    const line = lanes();
    const [a, b, c] = [line.start(1000), line.start(1000), line.start(1000)];
    c.progress(300);
    expect([a.depth(), b.depth(), c.depth()]).toEqual([16, 4, 16]);
    // a stalls at 0 while b and c move on.
    b.progress(100);
    expect([a.depth(), b.depth(), c.depth()]).toEqual([4, 16, 16]);
  });

  test('fewer bytes left comes first across sizes (a small delta before a full package)', () => {
    const line = lanes();
    const [full1, full2, delta] = [line.start(50_000), line.start(50_000), line.start(2_000)];
    expect([full1.depth(), full2.depth(), delta.depth()]).toEqual([16, 4, 16]);
  });

  test('a closed upload lets the next one up, closing twice changes nothing, and a closed one gets the small depth', () => {
    const line = lanes();
    const [a, b, c, d] = [line.start(10), line.start(10), line.start(10), line.start(10)];
    a.close();
    expect([b.depth(), c.depth(), d.depth()]).toEqual([16, 16, 4]);
    a.close();
    expect(line.sending).toBe(3);
    expect(a.depth()).toBe(4);
    b.close();
    c.close();
    expect(d.depth()).toBe(16);
    d.close();
    expect(line.sending).toBe(0);
  });

  test('impossible settings are refused', () => {
    expect(() => new UploadLanes({ fullLanes: 2, fullDepth: 16, minDepth: 0 })).toThrow(RangeError);
    expect(() => new UploadLanes({ fullLanes: 2, fullDepth: 2, minDepth: 4 })).toThrow(RangeError);
    expect(() => new UploadLanes({ fullLanes: -1, fullDepth: 16, minDepth: 4 })).toThrow(RangeError);
  });
});
