import { makeStyle, renderRunSummary, renderStatus } from '../../src/cli/render.js';
import type { StatusReport } from '../../src/commands/status.js';
import type { ReportResult, RunReport } from '../../src/cut/report.js';

const plain = makeStyle(false);
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

describe('the run summary says what fits the case', () => {
  test('failures get a push --only naming them; a changed host key gets no re-push suggestion', () => {
    const one = renderRunSummary(aReport([failedWith('la-voz', 'CONNECT_TIMEOUT')]), plain);
    expect(one).toContain('re-push by hand once fixed: prep-push push --cut 20240602_2020 --only la-voz');
    const hostKey = renderRunSummary(aReport([failedWith('el-sol', 'HOST_KEY_MISMATCH')]), plain);
    expect(hostKey.join('\n')).not.toMatch(/re-push|prep-push push/);
    const both = renderRunSummary(aReport([failedWith('el-sol', 'HOST_KEY_MISMATCH'), failedWith('la-voz', 'NO_SPACE')]), plain);
    expect(both).toContain('re-push by hand once fixed: prep-push push --cut 20240602_2020 --only la-voz');
  });

  test('a newly blocked difusor gets unblock then push, never a push that would skip it', () => {
    const lines = renderRunSummary(aReport([failedWith('tv-norte', 'CONNECT_REFUSED')], { newly_blocked: ['tv-norte'] }), plain);
    expect(lines).toContain('once tv-norte is fixed: prep-push unblock tv-norte && prep-push push --only tv-norte');
    expect(lines.join('\n')).not.toMatch(/--failed|re-push by hand/);
  });

  test('a refused rollback names --allow-rollback, not a plain re-push', () => {
    const lines = renderRunSummary(aReport([failedWith('sitio', 'ROLLBACK_REFUSED')], { command: 'push' }), plain);
    expect(lines).toContain('to move sitio back to 20240602_2020 anyway: prep-push push --cut 20240602_2020 --only sitio --allow-rollback');
    expect(lines.join('\n')).not.toMatch(/--failed|re-push by hand/);
  });

  test('a push that targeted nobody is one line, no table', () => {
    const line = 'nothing to push: every active difusor selected already has cut 20240602_2020';
    expect(renderRunSummary(aReport([], { command: 'push', nothing_to_push: line, exit_code: 0 }), plain)).toEqual([line]);
  });
});

describe('status', () => {
  test('names the state dir, withdrawn cuts and block times in local time with offset', () => {
    const report: StatusReport = {
      latest_cut: '20240602_2020',
      withdrawn_cuts: [{ cut: '20250602_2020', reason: 'typo', at: '2024-06-03T02:25:00.000Z' }],
      warnings: [],
      pending_notifications: [],
      notices_pending: [],
      difusores: [
        {
          id: 'el-sol',
          name: 'El Sol',
          state: 'blocked',
          consecutive_misses: 3,
          last_delivered_cut: null,
          blocked_reason: 'auto: missed 3 consecutive cuts',
          blocked_since: '2024-06-03T02:40:01.404Z',
          last_error: null,
          last_audit: null,
          current_release: null,
        },
      ],
    };
    const lines = renderStatus(report, plain, 'America/Mexico_City', '/srv/prep/.prep-push');
    expect(lines.slice(0, 3)).toEqual([
      'state dir: /srv/prep/.prep-push',
      'latest cut: 20240602_2020',
      'withdrawn cut: 20250602_2020 at 2024-06-02T20:25:00-06:00 (typo)',
    ]);
    expect(lines[5]).toMatch(/auto: missed 3 consecutive cuts \(since 2024-06-02T20:40:01-06:00\)$/);
  });
});
