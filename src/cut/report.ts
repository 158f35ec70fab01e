// The report of a cut or push run: what the CLI prints, what `--json` emits (the contract's shape),
// what is kept in the state dir, and the pure mapping from a report to the process exit code.
import type { DeliveryAuditSummary } from '../audit/after-delivery.js';
import type { DeliveryFailure } from '../delivery/types.js';
import type { DeliveryFallback } from '../sftp/atomic-upload.js';
import type { PublishSummary } from '../ledger/types.js';
import type { PlannedSkip } from './plan.js';
import type { FollowUpReport } from './follow-up.js';
import { mkdir } from 'node:fs/promises';
import { writeFileAtomically } from '../core/atomic-write.js';
import path from 'node:path';
import { PrepPushError } from '../core/errors.js';
import { reportsDir } from '../core/state-dir.js';

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
  /** Delivered with these fallbacks (the server lacked fsync or posix-rename); absent when none. */
  fallbacks?: DeliveryFallback[];
  /** `cut --audit` / `push --audit`: the audit of its public site right after the delivery. */
  audit?: DeliveryAuditSummary;
  /** Site mode: the release (contract: null for a package-only difusor). */
  publish?: PublishSummary | null;
}

export interface RunReport {
  command: 'cut' | 'push';
  cut: { id: string; time: string };
  /** `--drill`: a drill (simulacro); a cut run journaled its cut with `drill: true`. */
  drill?: boolean;
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
  /** Notifications, notices and the public list after the outcomes were recorded (never change exit_code). */
  follow_up?: FollowUpReport;
  /** A push that targeted nobody: the one line saying why (nothing was sent or recorded). */
  nothing_to_push?: string;
  /** Difusores `--only` named that were not pushed (blocked or disabled), each with why: exit 1. */
  not_pushed?: string[];
}

/**
 * 0: every targeted difusor has the package; 1: at least one failed, or this run blocked a difusor
 * (also when it records the block a killed run did not get to), or the run was interrupted before
 * reaching every target.
 */
export function exitCodeOfRun(report: Pick<RunReport, 'results' | 'interrupted' | 'not_started' | 'newly_blocked'>): 0 | 1 {
  if (report.interrupted || report.not_started.length > 0 || report.newly_blocked.length > 0) return 1;
  // An audit under audit.counts_as_miss that found the cut not served is a miss like a failure.
  if (report.results.some((r) => r.audit?.counts_as_miss === true)) return 1;
  return report.results.some((r) => r.outcome === 'failed') ? 1 : 0;
}

/** Keeps every run's report as `reports/<cut>-<command>-<started>.json` (written atomically). */
export async function writeRunReport(stateDir: string, report: RunReport): Promise<string> {
  const dir = reportsDir(stateDir);
  const stamp = report.started_at.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = path.join(dir, `${report.cut.id}-${report.command}-${stamp}.json`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFileAtomically(file, `${JSON.stringify(report, null, 2)}\n`);
    return file;
  } catch (cause) {
    throw new PrepPushError('io', `could not write the run report ${file}: ${(cause as Error).message}`, {
      hint: 'check that the state dir is writable and the disk is not full',
      cause,
    });
  }
}
