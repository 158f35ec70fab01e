// Which package a difusor gets (full or delta) and in what order its files are uploaded.
import { appliedCutOf, chooseDeltaBase, packageFilesToUpload } from '../../src/delivery/modes/package-choice.js';
import { changedFiles, deltaFileName } from '../../src/package/delta.js';
import { shouldReplaceLatest } from '../../src/delivery/modes/latest.js';

describe('appliedCutOf', () => {
  it.each([
    [null, null],
    ['', null],
    ['20240602_2020\n', '20240602_2020'],
    ['20240602_2020', '20240602_2020'],
    [' 20240602_2020 \r\nmore\n', '20240602_2020'],
    ['PREP_20240602_2020.tar.gz\n', null],
    ['2024-06-02\n', null],
  ])('%j → %j', (text, cut) => {
    expect(appliedCutOf(text)).toBe(cut);
  });
});

describe('chooseDeltaBase', () => {
  const stored = new Set(['20240602_2000', '20240602_2020']);
  const exists = (base: string) => stored.has(base);
  it.each([
    { why: 'APPLIED is the last delivered cut and its delta is stored', applied: '20240602_2020', last: '20240602_2020', base: '20240602_2020' },
    { why: 'no APPLIED (no prep-apply, or never applied)', applied: null, last: '20240602_2020', base: null },
    { why: 'APPLIED lags the last delivered cut (an apply failed)', applied: '20240602_2000', last: '20240602_2020', base: null },
    { why: 'nothing delivered yet per the ledger', applied: '20240602_2020', last: null, base: null },
    { why: 'the base is no longer in the store', applied: '20240602_1940', last: '20240602_1940', base: null },
    { why: 'APPLIED is the cut being sent (a re-push)', applied: '20240602_2040', last: '20240602_2040', base: null },
  ])('$why → $base', ({ applied, last, base }) => {
    expect(chooseDeltaBase(applied, last, '20240602_2040', exists)).toBe(base);
  });
});

describe('packageFilesToUpload', () => {
  it('uploads the package, its .sha256 and its .sig, in that order (LATEST comes after)', () => {
    const files = packageFilesToUpload({ kind: 'delta', file: '/s/P.from-X.tar.gz', fileName: 'P_20240602_2040.from-20240602_2020.tar.gz', bytes: 10, sha256Text: 'abc  P\n', sigText: 'SIG\n' });
    expect(files.map((f) => [f.finalName, f.expectedBytes, f.isPackage])).toEqual([
      ['P_20240602_2040.from-20240602_2020.tar.gz', 10, true],
      ['P_20240602_2040.from-20240602_2020.tar.gz.sha256', 7, false],
      ['P_20240602_2040.from-20240602_2020.tar.gz.sig', 4, false],
    ]);
  });
  it('an unsigned package has no .sig', () => {
    expect(packageFilesToUpload({ kind: 'full', file: '/s/P.tar.gz', fileName: 'P.tar.gz', bytes: 1, sha256Text: 'x' }).map((f) => f.finalName)).toEqual(['P.tar.gz', 'P.tar.gz.sha256']);
  });
});

describe('deltas', () => {
  it('names a delta after the new package and its base', () => {
    expect(deltaFileName('PREP_MICH_20240602_2040.tar.gz', '20240602_2020')).toBe('PREP_MICH_20240602_2040.from-20240602_2020.tar.gz');
  });
  it('carries new and changed files only', () => {
    const base = [
      { path: 'a', size: 1, sha256: '1' },
      { path: 'b', size: 1, sha256: '2' },
      { path: 'gone', size: 1, sha256: '3' },
    ];
    const next = [
      { path: 'a', size: 1, sha256: '1' },
      { path: 'b', size: 2, sha256: '9' },
      { path: 'new', size: 1, sha256: '4' },
    ];
    expect(changedFiles(base, next).map((f) => f.path)).toEqual(['b', 'new']);
  });
  it('LATEST naming a delta is read as the cut it brings, not its base', () => {
    const latest = 'PREP_20240602_2040.from-20240602_2000.tar.gz\n';
    expect(shouldReplaceLatest(latest, '20240602_2020')).toBe(false);
    expect(shouldReplaceLatest(latest, '20240602_2100')).toBe(true);
  });
});
