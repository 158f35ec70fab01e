// One cut id, one content: the decision a build takes against what the store holds for its cut.
import { cutAt } from '../../src/core/cut.js';
import { filesDigestOf, renderManifest } from '../../src/package/manifest.js';
import { decideAgainstStored, type NewBuild } from '../../src/package/one-content.js';
import type { StoredCut } from '../../src/package/store.js';

const CUT = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), 'America/Mexico_City');
const h = (c: string) => c.repeat(64);

function stored(overrides: Partial<StoredCut> = {}): StoredCut {
  return {
    cutId: CUT.id,
    cutTime: CUT.time,
    fileName: 'PREP_20240602_2020.tar.gz',
    sha256: h('a'),
    sourceSha256: h('1'),
    builtMs: Date.parse('2024-06-03T02:20:41Z'),
    ...overrides,
  };
}

function built(overrides: Partial<NewBuild> = {}): NewBuild {
  return { fileName: 'PREP_20240602_2020.tar.gz', sha256: h('a'), sourceSha256: h('1'), ...overrides };
}

describe('decideAgainstStored', () => {
  test.each<[string, string, StoredCut | null, NewBuild]>([
    ['nothing stored for the cut', 'store', null, built()],
    ['the very same package', 'reuse', stored(), built()],
    ['the same package, stored before source digests were kept', 'reuse', stored({ sourceSha256: undefined }), built()],
    ['the same source under a new name template', 'store', stored(), built({ fileName: 'OTRO_20240602_2020.tar.gz', sha256: h('a') })],
    ['the same source as zip', 'store', stored(), built({ fileName: 'PREP_20240602_2020.zip', sha256: h('b') })],
    ['a different source', 'refuse', stored(), built({ sha256: h('b'), sourceSha256: h('2') })],
    ['a different source under another name', 'refuse', stored(), built({ fileName: 'OTRO_20240602_2020.tar.gz', sha256: h('b'), sourceSha256: h('2') })],
    ['other bytes of an old record (cannot tell the source)', 'refuse', stored({ sourceSha256: undefined }), built({ sha256: h('b') })],
    ['the same source, same name, other bytes (institute or signing key changed)', 'refuse', stored(), built({ sha256: h('b') })],
  ])('%s: %s', (_name, action, have, next) => {
    expect(decideAgainstStored(CUT, have, next).action).toBe(action);
  });

  test("a refusal is a source error (exit 2) naming the stored cut's time, build time and SHA-256, and both ways out", () => {
    const decision = decideAgainstStored(CUT, stored(), built({ sha256: h('b'), sourceSha256: h('2') }));
    if (decision.action !== 'refuse') throw new Error('expected a refusal');
    expect(decision.error.exitCode).toBe(2);
    expect(decision.error.message).toBe(
      'cut 20240602_2020 is already stored from a different source: PREP_20240602_2020.tar.gz (cut time 2024-06-02T20:20:00-06:00, ' +
        `built 2024-06-02T20:20:41-06:00, SHA-256 ${h('a')}); a cut id names one content, so nothing was stored or pushed`,
    );
    expect(decision.error.hint).toContain('`--cut 2024-06-02T20:21-06:00`');
    expect(decision.error.hint).toContain('`prep-push retract 20240602_2020 --reason TEXT`');
  });
});

describe('filesDigestOf', () => {
  const files = [{ path: 'index.html', size: 3, sha256: h('c') }];
  test('depends on the files only, not on the cut or the institute', () => {
    const later = cutAt(Date.parse('2024-06-02T20:40:00-06:00'), 'America/Mexico_City');
    expect(filesDigestOf(renderManifest(CUT, 'IEM', files))).toBe(filesDigestOf(renderManifest(later, 'IEM "files": x\n', files)));
    expect(filesDigestOf(renderManifest(CUT, 'IEM', files))).not.toBe(filesDigestOf(renderManifest(CUT, 'IEM', [{ ...files[0], size: 4 }])));
  });
});
