import {
  auditCountsAsMiss,
  auditOutcomeChanged,
  checkCacheControl,
  checkServedFile,
  chooseFilesToCheck,
  compareManifest,
  digestOf,
  exitCodeOfAudit,
  isNewAuditFailure,
  MAX_LISTED_PROBLEMS,
  outcomeOf,
  parseServedManifest,
  problemsOf,
  quoteHeader,
  type Finding,
  type FindingKind,
  type Manifest,
} from '../../src/audit/model.js';
import { type AuditOutcome } from '../../src/ledger/types.js';
import { applyEvent, deriveLedgerState, autoBlockReason } from '../../src/ledger/rules.js';
import type { LedgerEvent } from '../../src/ledger/types.js';
import { mulberry32 } from '../helpers/prng.js';

const sha = (c: string) => c.repeat(64);
const manifest = (cut: string, files: Array<[string, number, string]>, institute = 'IEM'): Manifest => ({
  cut: { id: cut, time: '2024-06-02T20:20:00-06:00' },
  institute,
  files: files.map(([path, size, sha256]) => ({ path, size, sha256 })),
});
const CUT = '20240602_2020';
const EXPECTED = manifest(CUT, [
  ['index.html', 10, sha('a')],
  ['json/main.json', 20, sha('b')],
  ['json/casillas.json', 30, sha('c')],
]);

describe('outcome precedence: unreachable > stale > tampered > misconfigured > ok', () => {
  const f = (kind: FindingKind): Finding => ({ kind, text: kind });
  const cases: Array<[FindingKind[], AuditOutcome]> = [
    [[], 'ok'],
    [['misconfigured'], 'misconfigured'],
    [['misconfigured', 'tampered'], 'tampered'],
    [['tampered', 'stale', 'misconfigured'], 'stale'],
    [['misconfigured', 'stale', 'unreachable', 'tampered'], 'unreachable'],
    [['unreachable'], 'unreachable'],
  ];
  test.each(cases)('%j → %s', (kinds, outcome) => {
    expect(outcomeOf(kinds.map(f))).toBe(outcome);
  });

  test('problems list every finding, most serious first, capped with a count', () => {
    expect(problemsOf([f('misconfigured'), f('unreachable'), f('tampered')])).toEqual(['unreachable', 'tampered', 'misconfigured']);
    const many = Array.from({ length: 30 }, (_, i) => ({ kind: 'tampered' as const, text: `file ${i}` }));
    const listed = problemsOf(many);
    expect(listed).toHaveLength(MAX_LISTED_PROBLEMS);
    expect(listed[MAX_LISTED_PROBLEMS - 1]).toBe('… and 11 more problems of the same kinds');
  });
});

describe('the served MANIFEST.json', () => {
  const url = 'http://x/prep/MANIFEST.json';
  test('an HTML error page sent with 200 is stale, naming the Content-Type, its size and SHA-256, never its text', () => {
    const page = '<!DOCTYPE html><html><body>Not found: SECRETO-1234</body></html>';
    const parsed = parseServedManifest(url, Buffer.from(page), 'text/html');
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.finding.kind).toBe('stale');
    expect(parsed.finding.text).toContain(`an HTML page (Content-Type "text/html", ${page.length} bytes, SHA-256 ${digestOf(Buffer.from(page)).sha256.slice(0, 16)}…)`);
    expect(parsed.finding.text).not.toMatch(/DOCTYPE|SECRETO/);
  });
  test('JSON of another shape is stale', () => {
    const parsed = parseServedManifest(url, Buffer.from('{"hello": "SECRETO"}'), 'application/json');
    expect(parsed.ok ? null : parsed.finding.text).toContain('not a prep-push MANIFEST.json');
    expect(parsed.ok ? null : parsed.finding.text).not.toContain('SECRETO');
  });
  test('a manifest whose cut id is not one is not ours (the cut id is the only text of it problems quote)', () => {
    const parsed = parseServedManifest(url, Buffer.from(JSON.stringify({ ...EXPECTED, cut: { id: 'SECRETO', time: 'x' } })), 'application/json');
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? null : parsed.finding.text).not.toContain('SECRETO');
  });
  test('a manifest parses, with its digest', () => {
    const body = Buffer.from(JSON.stringify(EXPECTED));
    const parsed = parseServedManifest(url, body, 'application/json');
    expect(parsed).toEqual({ ok: true, manifest: EXPECTED, digest: digestOf(body) });
  });
  test('a long or odd header is quoted short and printable', () => {
    expect(quoteHeader('text/html')).toBe('"text/html"');
    expect(quoteHeader('a\u0001"b')).toBe('"a?\\"b"');
    expect(quoteHeader('x'.repeat(500))).toBe(`"${'x'.repeat(80)}…"`);
  });

  const compareCases: Array<{ name: string; served: Manifest; kinds: FindingKind[]; servedCut: string | null; checkFiles: boolean; text?: string }> = [
    { name: 'the same cut, identical', served: EXPECTED, kinds: [], servedCut: CUT, checkFiles: true },
    {
      name: 'an older cut',
      served: manifest('20240602_2000', []),
      kinds: ['stale'],
      servedCut: '20240602_2000',
      checkFiles: false,
      text: 'serves cut 20240602_2000 (an older cut); expected 20240602_2020',
    },
    {
      name: 'another institute (named by the served file size and hash, not its text)',
      served: manifest(CUT, [], 'SECRETO'),
      kinds: ['stale'],
      servedCut: null,
      checkFiles: false,
      text: `MANIFEST.json (1234 bytes, SHA-256 ${'d'.repeat(16)}…) names another institute than "IEM" (cut ${CUT})`,
    },
    {
      name: 'the same cut with a file listed differently, one dropped and two added, and another time',
      served: {
        ...manifest(CUT, [
          ['index.html', 11, sha('a')],
          ['json/main.json', 20, sha('b')],
          ['SECRETO.html', 1, sha('e')],
          ['SECRETO-2.html', 1, sha('e')],
        ]),
        cut: { id: CUT, time: 'SECRETO' },
      },
      kinds: ['tampered', 'tampered', 'tampered', 'tampered'],
      servedCut: CUT,
      checkFiles: true,
      text: `MANIFEST.json (1234 bytes, SHA-256 ${'d'.repeat(16)}…) of cut ${CUT} differs from the institute's copy: another cut time than 2024-06-02T20:20:00-06:00`,
    },
  ];
  test.each(compareCases)('$name', ({ served, kinds, servedCut, checkFiles, text }) => {
    const result = compareManifest(served, { size: 1234, sha256: sha('d') }, { institute: 'IEM', cutId: CUT, manifest: EXPECTED });
    expect(result.findings.map((f) => f.kind)).toEqual(kinds);
    expect(result.servedCut).toBe(servedCut);
    expect(result.checkFiles).toBe(checkFiles);
    if (text) expect(result.findings[0].text).toContain(text);
    for (const f of result.findings) expect(f.text).not.toContain('SECRETO');
  });
  test('listed differently, missing, extra: paths of the institute are named, the served ones only counted', () => {
    const served = manifest(CUT, [
      ['index.html', 11, sha('a')],
      ['json/main.json', 20, sha('b')],
      ['SECRETO.html', 1, sha('e')],
      ['SECRETO-2.html', 1, sha('e')],
    ]);
    const texts = compareManifest(served, { size: 1, sha256: sha('d') }, { institute: 'IEM', cutId: CUT, manifest: EXPECTED }).findings.map((f) => f.text.split(': ').pop());
    expect(texts).toEqual(['index.html is listed with another size or SHA-256', 'json/casillas.json is missing from it', 'it lists 2 files the cut does not have']);
  });
});

describe('files and headers', () => {
  const file = { path: 'json/main.json', size: 20, sha256: sha('b') };
  const cases: Array<[string, Parameters<typeof checkServedFile>[2], FindingKind | null]> = [
    ['identical', { kind: 'body', sha256: sha('b'), size: 20 }, null],
    ['another hash', { kind: 'body', sha256: sha('f'), size: 20 }, 'tampered'],
    ['another size', { kind: 'body', sha256: sha('b'), size: 19 }, 'tampered'],
    ['past the cap', { kind: 'too-large', size: 21 }, 'tampered'],
    ['404', { kind: 'status', status: 404 }, 'tampered'],
    ['503', { kind: 'status', status: 503 }, 'unreachable'],
    ['connection reset', { kind: 'failed', reason: 'reset' }, 'unreachable'],
  ];
  test.each(cases)('%s', (_name, answer, kind) => {
    const finding = checkServedFile(file.path, file, answer);
    expect(finding?.kind ?? null).toBe(kind);
    if (finding) expect(finding.text.startsWith('json/main.json: ')).toBe(true);
  });

  const cacheCases: Array<[string | undefined, string | null]> = [
    ['no-cache, no-store, must-revalidate', null],
    ['No-Store,must-revalidate,  NO-CACHE, max-age=0', null],
    [undefined, 'no Cache-Control header, lacking no-cache, no-store, must-revalidate'],
    ['max-age=60', 'Cache-Control "max-age=60", lacking no-cache, no-store, must-revalidate'],
    ['no-cache, no-store', 'lacking must-revalidate'],
  ];
  test.each(cacheCases)('Cache-Control %p', (header, text) => {
    const finding = checkCacheControl(header);
    if (text === null) expect(finding).toBeNull();
    else {
      expect(finding?.kind).toBe('misconfigured');
      expect(finding?.text).toContain(text);
    }
  });
});

describe('choosing the files to check', () => {
  const files: Array<[string, number, string]> = Array.from({ length: 100 }, (_, i) => [`f/${i}.json`, i, sha('1')]);
  const previous = manifest('20240602_2000', [...files, ['json/main.json', 1, sha('0')]]);
  const current = manifest(CUT, [
    ...files.map(([p, s, h], i): [string, number, string] => [p, s, i < 3 ? sha('2') : h]),
    ['json/main.json', 1, sha('9')],
    ['new.html', 5, sha('3')],
  ]);

  test('always json/main.json and every changed file, plus a sample of the rest', () => {
    const chosen = chooseFilesToCheck(current, previous, 10, mulberry32(1));
    expect(chosen.filter((c) => c.reason === 'main').map((c) => c.file.path)).toEqual(['json/main.json']);
    expect(chosen.filter((c) => c.reason === 'changed').map((c) => c.file.path).sort()).toEqual(['f/0.json', 'f/1.json', 'f/2.json', 'new.html']);
    const sampled = chosen.filter((c) => c.reason === 'sample').map((c) => c.file.path);
    expect(sampled).toHaveLength(10);
    expect(new Set(sampled).size).toBe(10);
    expect(sampled.every((p) => !['f/0.json', 'f/1.json', 'f/2.json'].includes(p))).toBe(true);
  });
  test('the same seed chooses the same sample; another seed another', () => {
    const a = chooseFilesToCheck(current, previous, 10, mulberry32(7)).map((c) => c.file.path);
    expect(chooseFilesToCheck(current, previous, 10, mulberry32(7)).map((c) => c.file.path)).toEqual(a);
    expect(chooseFilesToCheck(current, previous, 10, mulberry32(8)).map((c) => c.file.path)).not.toEqual(a);
  });
  test('all checks every file once; with no previous cut every file counts as changed', () => {
    expect(chooseFilesToCheck(current, previous, 'all', Math.random)).toHaveLength(current.files.length);
    const first = chooseFilesToCheck(current, null, 0, Math.random);
    expect(first).toHaveLength(current.files.length);
    expect(first.filter((c) => c.reason === 'sample')).toHaveLength(0);
  });
  test('a sample larger than the rest takes the rest', () => {
    expect(chooseFilesToCheck(current, previous, 1000, Math.random)).toHaveLength(current.files.length);
  });
});

describe('what an outcome means', () => {
  test.each<[AuditOutcome, boolean, boolean]>([
    ['stale', true, true],
    ['unreachable', true, true],
    ['tampered', true, true],
    ['misconfigured', true, false],
    ['ok', true, false],
    ['stale', false, false],
  ])('%s with counts_as_miss %s counts as a miss: %s', (outcome, counts, miss) => {
    expect(auditCountsAsMiss(outcome, counts)).toBe(miss);
  });
  test.each<[AuditOutcome | null, AuditOutcome, boolean, boolean]>([
    [null, 'ok', false, false],
    [null, 'stale', true, true],
    ['stale', 'stale', false, false],
    ['stale', 'tampered', true, true],
    ['stale', 'ok', true, false],
    ['ok', 'misconfigured', true, true],
  ])('%s → %s: changed %s, new failure %s', (before, after, changed, failure) => {
    expect(auditOutcomeChanged(before, after)).toBe(changed);
    expect(isNewAuditFailure(before, after)).toBe(failure);
  });
  test('exit code: 0 when all ok or none, else 1', () => {
    expect(exitCodeOfAudit([])).toBe(0);
    expect(exitCodeOfAudit([{ outcome: 'ok' }, { outcome: 'ok' }])).toBe(0);
    expect(exitCodeOfAudit([{ outcome: 'ok' }, { outcome: 'misconfigured' }])).toBe(1);
  });
});

describe('audits in the ledger', () => {
  const at = '2024-06-03T02:00:00.000Z';
  const delivered = (cut: string, auditPending = false): LedgerEvent => ({
    type: 'outcome', at, cut, id: 'el-sol', outcome: 'delivered', code: null, message: null, via: 'cut', seconds: 1, attempts: 1,
    ...(auditPending ? { auditPending } : {}),
  });
  const audited = (cut: string, outcome: AuditOutcome, countsAsMiss: boolean, settlesDelivery = false): LedgerEvent => ({
    type: 'audit', at, id: 'el-sol', outcome, servedCut: '20240602_1000', expectedCut: cut, problems: [], via: 'cut', countsAsMiss, settlesDelivery,
  });

  test('last audit is kept; a plain audit never counts as a miss', () => {
    const state = deriveLedgerState([delivered('20240602_2000'), audited('20240602_2000', 'stale', false)]);
    expect(state.difusores['el-sol'].lastAudit).toEqual({ outcome: 'stale', servedCut: '20240602_1000', expectedCut: '20240602_2000', at });
    expect(state.difusores['el-sol'].consecutiveMisses).toBe(0);
  });
  test('an audit that counts as a miss counts once per cut, blocks at the limit, and the next good delivery resets it', () => {
    const events: LedgerEvent[] = [];
    for (const cut of ['20240602_2000', '20240602_2020', '20240602_2040']) {
      events.push(delivered(cut, true), audited(cut, 'stale', true, true), audited(cut, 'stale', true));
    }
    const state = deriveLedgerState(events);
    expect(state.difusores['el-sol'].consecutiveMisses).toBe(3);
    expect(state.difusores['el-sol'].lastDeliveredCut).toBe('20240602_2040');
    expect(autoBlockReason(state.difusores['el-sol'], 3)).toBe('auto: missed 3 consecutive cuts');
    expect(applyEvent(state, delivered('20240602_2100')).difusores['el-sol'].consecutiveMisses).toBe(0);
  });
  test('a pending delivery counts once its audit is ok or only misconfigured', () => {
    const missed = deriveLedgerState([delivered('20240602_2000', true), audited('20240602_2000', 'stale', true, true)]);
    expect(missed.difusores['el-sol'].consecutiveMisses).toBe(1);
    for (const outcome of ['ok', 'misconfigured'] as const) {
      const pending = applyEvent(missed, delivered('20240602_2020', true));
      expect(pending.difusores['el-sol'].consecutiveMisses).toBe(1);
      expect(applyEvent(pending, audited('20240602_2020', outcome, false, true)).difusores['el-sol'].consecutiveMisses).toBe(0);
    }
  });
});
