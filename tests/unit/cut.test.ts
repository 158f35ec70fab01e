import { cutAt, cutFromId, parseCutTime } from '../../src/core/cut.js';
import { PrepPushError } from '../../src/core/errors.js';

const TZ = 'America/Mexico_City';
const never = () => {
  throw new Error('clock must not be read when --cut is given');
};

describe('cut ids', () => {
  test.each([
    ['2024-06-02T20:20:00-06:00', '20240602_2020', '2024-06-02T20:20:00-06:00'],
    ['2024-06-03T02:20:00Z', '20240602_2020', '2024-06-02T20:20:00-06:00'],
    ['2024-06-02T20:20:59-06:00', '20240602_2020', '2024-06-02T20:20:00-06:00'],
    // Mexico City kept daylight saving time until 2022: June 2021 was -05:00.
    ['2021-06-07T05:05:00Z', '20210607_0005', '2021-06-07T00:05:00-05:00'],
  ])('%s is cut %s', (input, id, time) => {
    const cut = parseCutTime(input, TZ, never);
    expect(cut.id).toBe(id);
    expect(cut.time).toBe(time);
  });

  test('without --cut the clock gives the cut', () => {
    expect(parseCutTime(undefined, TZ, () => Date.parse('2024-06-03T02:40:10Z')).id).toBe('20240602_2040');
  });

  test('the same instant in another timezone gets that zone’s id', () => {
    expect(cutAt(Date.parse('2024-06-03T02:20:00Z'), 'America/Tijuana').id).toBe('20240602_1920');
  });

  test.each(['2024-06-02 20:20', '2024-06-02T20:20:00', 'yesterday', '2024-13-02T20:20:00Z'])(
    '%s is refused as a usage error',
    (input) => {
      expect(() => parseCutTime(input, TZ, never)).toThrow(PrepPushError);
      expect(() => parseCutTime(input, TZ, never)).toThrow(/--cut: .* is not an ISO 8601 time with an offset/);
    },
  );

  test('a cut id round-trips to its cut', () => {
    const cut = cutFromId('20240602_2020', TZ);
    expect(cut.time).toBe('2024-06-02T20:20:00-06:00');
    expect(cut.epochMs).toBe(Date.parse('2024-06-02T20:20:00-06:00'));
  });

  test.each(['2024060_2020', '20241302_2020', 'latest'])('%s is not a cut id', (id) => {
    expect(() => cutFromId(id, TZ)).toThrow(/is not (a cut id|a valid time)/);
  });
});
