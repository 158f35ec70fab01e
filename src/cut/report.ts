// The report of a cut or push run: what the CLI prints, what `--json` emits (the contract's shape),
// what is kept in the state dir, and the pure mapping from a report to the process exit code.
import type { DeliveryFailure, PublishSummary } from '../delivery/types.js';
import type { PlannedSkip } from './plan.js';

export interface ReportResult {
  id: string;
  outcome: 'delivered' | 'failed' | 'skipped';
  error: DeliveryFailure | null;
  seconds: number;
  attempts: number;
  /** Bytes uploaded (delivered only). */
  bytes: number;
  /** For skipped: why. */
  skip_reason?: PlannedSkip['reason'];
  /** Site mode: the release (contract: null for a package-only difusor). */
  publish?: PublishSummary | null;
}

export interface RunReport {
  command: 'cut' | 'push';
  cut: { id: string; time: string };
  package: { file: string; sha256: string; bytes: number };
  results: ReportResult[];
  newly_blocked: string[];
  /** Targets never started because the run was interrupted (SIGINT/SIGTERM). */
  not_started: string[];
  interrupted: boolean;
  dry_run: boolean;
  started_at: string;
  seconds: number;
  exit_code: number;
}

/**
 * 0: every targeted difusor has the package; 1: at least one failed, or this run blocked a difusor
 * (also when it records the block a killed run did not get to), or the run was interrupted before
 * reaching every target.
 */
export function exitCodeOfRun(report: Pick<RunReport, 'results' | 'interrupted' | 'not_started' | 'newly_blocked'>): 0 | 1 {
  if (report.interrupted || report.not_started.length > 0 || report.newly_blocked.length > 0) return 1;
  return report.results.some((r) => r.outcome === 'failed') ? 1 : 0;
}
