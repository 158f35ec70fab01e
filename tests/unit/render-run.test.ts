import { makeStyle, renderBlockChange, renderResultLine, renderRunSummary, renderStatus } from '../../src/cli/render.js';
import { fitLines, wrapLine } from '../../src/cli/io.js';
import type { BlockChange } from '../../src/commands/block.js';
import type { FollowUpReport } from '../../src/cut/follow-up.js';
import type { StatusReport } from '../../src/commands/status.js';
import { formatAge } from '../../src/core/duration.js';
import type { ReportResult, RunReport } from '../../src/cut/report.js';

const plain = makeStyle(false);
/** The lines' text with the wraps undone: every run of spaces and line breaks as one space. */
const flat = (lines: string[]) => lines.join(' ').replace(/\s+/g, ' ');
const failedWith = (id: string, code: string): ReportResult => ({
  id,
  outcome: 'failed',
  error: { code: code as never, message: `${id}: ${code}` },
  seconds: 1,
  attempts: 1,
  bytes: 0,
});
const aReport = (results: ReportResult[], more: Partial<RunReport> = {}): RunReport => ({
  command: 'cut',
  cut: { id: '20240602_2020', time: '2024-06-02T20:20:00-06:00' },
  package: { file: 'P_20240602_2020.tar.gz', sha256: 'a'.repeat(64), bytes: 10 },
  results,
  newly_blocked: [],
  not_started: [],
  interrupted: false,
  dry_run: false,
  started_at: '2024-06-03T02:20:00.000Z',
  seconds: 1,
  exit_code: 1,
  ...more,
});

type Entry = StatusReport['difusores'][number];
const entry = (id: string, more: Partial<Entry> = {}): Entry => ({
  id,
  name: id,
  state: 'active',
  consecutive_misses: 0,
  last_delivered_cut: '20240602_2020',
  blocked_reason: null,
  blocked_since: null,
  last_error: null,
  last_audit: null,
  current_release: null,
  notice: null,
  ...more,
});
const aStatus = (difusores: Entry[], more: Partial<StatusReport> = {}): StatusReport => ({
  latest_cut: '20240602_2020',
  latest_cut_time: '2024-06-02T20:20:00-06:00',
  latest_cut_age_seconds: 754,
  withdrawn_cuts: [],
  warnings: [],
  pending_notifications: [],
  notices_pending: [],
  difusores,
  ...more,
});

describe('the run summary says what fits the case', () => {
  test('failures get a push --only naming them; a changed host key gets no re-push suggestion', () => {
    const one = renderRunSummary(aReport([failedWith('la-voz', 'CONNECT_TIMEOUT')]), plain);
    expect(one).toEqual(expect.arrayContaining(['re-push by hand once fixed:', '  prep-push push --cut 20240602_2020 --only la-voz']));
    const hostKey = renderRunSummary(aReport([failedWith('el-sol', 'HOST_KEY_MISMATCH')]), plain);
    expect(hostKey.join('\n')).not.toMatch(/re-push|prep-push push/);
    const both = renderRunSummary(aReport([failedWith('el-sol', 'HOST_KEY_MISMATCH'), failedWith('la-voz', 'NO_SPACE')]), plain);
    expect(both).toContain('  prep-push push --cut 20240602_2020 --only la-voz');
  });

  test('a newly blocked difusor gets unblock then push, never a push that would skip it', () => {
    const lines = renderRunSummary(aReport([failedWith('tv-norte', 'CONNECT_REFUSED')], { newly_blocked: ['tv-norte'] }), plain);
    expect(lines).toEqual(expect.arrayContaining(['  prep-push unblock tv-norte', '  prep-push push --only tv-norte']));
    expect(lines.join('\n')).not.toMatch(/--failed|re-push by hand/);
  });

  test('a refused rollback names --allow-rollback, not a plain re-push', () => {
    const lines = renderRunSummary(aReport([failedWith('sitio', 'ROLLBACK_REFUSED')], { command: 'push' }), plain);
    expect(lines).toContain('  prep-push push --cut 20240602_2020 --only sitio --allow-rollback');
    expect(lines.join('\n')).not.toMatch(/--failed|re-push by hand/);
  });

  test('a push that targeted nobody is one line, no table', () => {
    const line = 'nothing to push: every active difusor selected already has cut 20240602_2020';
    expect(renderRunSummary(aReport([], { command: 'push', nothing_to_push: line, exit_code: 0 }), plain)).toEqual([line]);
  });
});

describe('status', () => {
  test('names the state dir, the newest cut with its age, withdrawn cuts and block times in local time with offset', () => {
    const report = aStatus(
      [
        entry('el-sol', {
          state: 'blocked',
          consecutive_misses: 3,
          last_delivered_cut: null,
          blocked_reason: 'auto: missed 3 consecutive cuts',
          blocked_since: '2024-06-03T02:40:01.404Z',
        }),
      ],
      { withdrawn_cuts: [{ cut: '20250602_2020', reason: 'typo', at: '2024-06-03T02:25:00.000Z' }] },
    );
    const lines = renderStatus(report, plain, 'America/Mexico_City', '/srv/prep/.prep-push');
    expect(lines.slice(0, 3)).toEqual([
      'state dir: /srv/prep/.prep-push',
      'latest cut: 20240602_2020 (2024-06-02T20:20:00-06:00, 12 min ago)',
      'withdrawn cut: 20250602_2020 at 2024-06-02T20:25:00-06:00 (typo)',
    ]);
    expect(lines[5]).toMatch(/^el-sol +blocked +3 +- +-$/);
    expect(lines).toContain('el-sol: blocked since 2024-06-02T20:40:01-06:00 (auto: missed 3 consecutive cuts)');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
  });
});

describe('human output fits 100 columns', () => {
  test('a long line is wrapped at spaces, its continuation indented; a path stays whole', () => {
    expect(wrapLine('a '.repeat(60).trim(), 20)).toEqual(['a a a a a a a a a a', ...Array(5).fill('  a a a a a a a a a'), '  a a a a a']);
    expect(wrapLine(`  see ${'x'.repeat(120)} now`, 100)).toEqual(['  see', `    ${'x'.repeat(120)}`, '    now']);
    expect(fitLines(['short', `${makeStyle(true).bad('colour codes take no columns')} ${'y'.repeat(70)}`], 100)).toHaveLength(2);
  });

  test('the run summary: site releases under the table, failure messages wrapped', () => {
    const site = {
      id: 'radio-universidad-michoacana',
      outcome: 'delivered' as const,
      error: null,
      seconds: 1,
      attempts: 1,
      bytes: 1000,
      publish: {
        mode: 'link+rename', release: '20240602_2020', uploaded_files: 612, linked_files: 19388, bytes_uploaded: 1_200_000,
        current: '20240602_2020', manifest_sha256: 'b'.repeat(64), sftp_operations: 700,
      },
    };
    const failed: ReportResult = {
      ...failedWith('tv-norte', 'CONNECT_REFUSED'),
      error: { code: 'CONNECT_REFUSED', message: 'tv-norte (127.0.0.1:42455): connecting as iem: connection refused (ECONNREFUSED); nothing listens on that port: check host and port with them, or whether their SSH service is down' },
    };
    const lines = renderRunSummary(aReport([site, failed], { newly_blocked: ['tv-norte'], drill: true }), plain);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
    expect(flat(lines)).toContain(' radio-universidad-michoacana: site 20240602_2020 (link+rename): 612 uploaded (1.1 MiB), 19388 linked ');
    expect(lines[1]).toMatch(/^cut 20240602_2020 \(drill\) /);
    expect(lines).toContain('a drill (simulacro): journaled as one, its MANIFEST.json says "drill": true');
    const progress = renderResultLine(failed, plain);
    expect(progress.length).toBeGreaterThan(2);
    for (const line of progress) expect(line.length).toBeLessThanOrEqual(100);
    expect(progress[1]).toMatch(/^ {11}tv-norte \(127/);
  });
});

describe('block and unblock say everything they did', () => {
  const followUp = (over: Partial<FollowUpReport> = {}): FollowUpReport => ({
    notifications: { queued: 2, sent: 2, failed: [], pending: 0 },
    notices: { placed: ['la-voz'], failed: [], waiting: [] },
    public_list: { written: true, dir: '/srv/prep/publico', error: null },
    warnings: [],
    ...over,
  });
  const blocked: BlockChange = {
    id: 'la-voz',
    action: 'block',
    wasBlocked: false,
    previousMisses: 1,
    reason: 'server down for maintenance, called 21:05',
    publicReason: { text: 'Este sitio incumplió disposiciones de la convocatoria para los difusores del PREP, por lo que ya no es un difusor válido.', isDefault: true },
    channels: ['email', 'webhook'],
    follow_up: followUp(),
  };

  test('block: the block, both reasons, the notice, the notifications, the public list', () => {
    const lines = renderBlockChange(blocked);
    expect(lines[0]).toBe('blocked la-voz: skipped by every cut and push until `prep-push unblock la-voz`');
    expect(flat(lines)).toContain(" reason (internal: ledger, report, the institute's e-mail): server down for maintenance, called 21:05 public reason");
    expect(flat(lines)).toContain(' public reason (on the notice, the default; set it with --public-reason): Este sitio incumplió');
    expect(lines).toContain("  notice: placed on la-voz's portal: it shows the notice instead of results");
    expect(lines).toContain('  notifications (e-mail, webhook): 2 queued, 2 sent');
    expect(lines).toContain('  public list: rewritten in /srv/prep/publico');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
  });

  test('block: a notice not placed yet, failed notifications, no public list', () => {
    const lines = renderBlockChange({
      ...blocked,
      follow_up: followUp({
        notices: { placed: [], failed: [{ id: 'la-voz', error: 'CONNECT_TIMEOUT: no answer' }], waiting: [] },
        notifications: { queued: 2, sent: 1, failed: [{ key: 'k', channel: 'email', error: 'down' }], pending: 1 },
        public_list: null,
      }),
    });
    expect(lines).toContain('  notice: NOT placed yet (CONNECT_TIMEOUT: no answer); the next cut or push tries again');
    expect(lines).toContain('  notifications (e-mail, webhook): 2 queued, 1 sent, 1 failed, 1 pending (retried by the next run)');
    expect(lines).toContain('  public list: none, the registry has no public_list');
  });

  test('unblock: the change, how results come back, the notifications and the list', () => {
    const lines = renderBlockChange({ id: 'tv-norte', action: 'unblock', wasBlocked: true, previousMisses: 3, reason: null, channels: [], follow_up: followUp({ notices: { placed: [], failed: [], waiting: [] } }) });
    expect(lines[0]).toBe('unblocked tv-norte; miss count 3 → 0');
    expect(flat(lines)).toContain('to send the latest cut now: prep-push push --only tv-norte');
    expect(lines).toContain('  notifications: none, the registry has no notify');
    expect(lines).toContain('  public list: rewritten in /srv/prep/publico');
  });

  test('a notice in place: shown as what the portal serves, and since when, also after the unblock until results return', () => {
    const notice = { release: '20240602_2020-aviso', since: '2024-06-03T02:41:07.000Z', cut: '20240602_2020' };
    const report = aStatus([
      entry('la-voz', { state: 'blocked', blocked_reason: 'auto: missed 3 consecutive cuts', blocked_since: '2024-06-03T02:40:01.404Z', current_release: '20240602_2000', notice }),
      entry('radio', { current_release: '20240602_2000', notice: { ...notice, release: '20240602_2000-aviso' } }),
      entry('el-sol', { current_release: '20240602_2020' }),
    ]);
    const lines = renderStatus(report, plain, 'America/Mexico_City', '/s');
    expect(lines.find((l) => l.startsWith('la-voz'))).toMatch(/^la-voz\s+blocked\s+0\s+20240602_2020\s+20240602_2020-aviso \(notice\)$/);
    expect(lines).toContain('la-voz: blocked since 2024-06-02T20:40:01-06:00 (auto: missed 3 consecutive cuts)');
    expect(lines.find((l) => l.startsWith('el-sol'))).toMatch(/^el-sol\s+active\s+0\s+20240602_2020\s+20240602_2020$/);
    expect(flat(lines)).toContain('notice on la-voz since 2024-06-02T20:41:07-06:00 (20240602_2020-aviso): the public sees the notice, not results');
    expect(flat(lines)).toContain('notice on radio since 2024-06-02T20:41:07-06:00 (20240602_2000-aviso): unblocked; the next delivery puts results back');
  });

  test.each([
    ['ok', '20240602_2020', '20240602_2020', 'ok 20240602_2020'],
    ['tampered', '20240602_2020', '20240602_2020', 'tampered 20240602_2020'],
    ['misconfigured', '20240602_2020', '20240602_2020', 'misconfigured 20240602_2020'],
    ['stale', '20240602_2000', '20240602_2020', 'stale: serves 20240602_2000 (expected 20240602_2020)'],
    ['unreachable', null, '20240602_2020', 'unreachable: serves no cut (expected 20240602_2020)'],
    ['tampered', null, '20240602_2020', 'tampered 20240602_2020 (no cut served)'],
  ] as Array<[string, string | null, string | null, string]>)('the last audit names its cut whatever its outcome: %s', (outcome, served, expected, cell) => {
    const report = aStatus([entry('el-sol', { last_audit: { outcome, served_cut: served, expected_cut: expected, time: '2024-06-03T02:30:00.000Z' } })]);
    expect(renderStatus(report, plain, 'America/Mexico_City', '/s')[4]).toMatch(new RegExp(`\\s${cell.replace(/[()]/g, '\\$&')}$`));
  });

  test('no cut yet', () => {
    expect(renderStatus(aStatus([], { latest_cut: null, latest_cut_time: null, latest_cut_age_seconds: null }), plain, 'UTC', '/s')[1]).toBe('latest cut: (none yet)');
  });
});

describe('formatAge', () => {
  test.each([
    [0, '0 s'],
    [59, '59 s'],
    [754, '12 min'],
    [3600 + 5 * 60, '1 h 05 min'],
    [3 * 86400 + 4 * 3600 + 59, '3 d 4 h'],
  ])('%d s → %s', (seconds, words) => {
    expect(formatAge(seconds)).toBe(words);
  });
});
