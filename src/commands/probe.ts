// `probe [ID,...]`: checks difusores against the registry's requirements (free disk, upload rate,
// write permission, server capabilities) before the drills. Never a miss: the only thing it writes
// to the journal is the notifications outbox of its `probe_failed` events (notifyProbeFailures).
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Clock } from '../core/clock.js';
import { PrepPushError } from '../core/errors.js';
import { assertKnownIds } from '../cut/plan.js';
import type { SftpTransport } from '../sftp/session.js';
import { probeDifusor } from '../probe/probe.js';
import { exitCodeOfProbe, judgeProbe, requirementsOf, uploadDeadlineSeconds, type ProbeResult } from '../probe/verdict.js';
import type { Difusor, Registry } from '../registry/types.js';
import { openJournal, readJournal } from '../ledger/journal.js';
import { acquireLock } from '../ledger/lock.js';
import { deriveLedgerState } from '../ledger/rules.js';
import type { NotifyChannel } from '../notify/channel.js';
import { probeFailedNotification } from '../notify/events.js';
import { followUpRun, type FollowUpReport } from '../cut/follow-up.js';

export interface ProbeCommandDeps {
  transport: SftpTransport;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  /** Aborted on SIGINT/SIGTERM: the difusor being probed finishes (and is cleaned up), no other starts. */
  signal?: AbortSignal;
  /** Each difusor's result as soon as it is known (progress lines). */
  onResult?: (result: ProbeResult) => void;
  /**
   * Called for every difusor that does not meet the requirements: where the notifications'
   * `probe_failed` event is raised. A failing hook never changes the probe's result.
   */
  onProbeFailed?: (difusor: Difusor, problems: string[]) => void | Promise<void>;
}

export interface ProbeReport {
  results: ProbeResult[];
  /** Ids not probed because a signal arrived. */
  not_started: string[];
  exit_code: 0 | 1;
  /** Hook failures, for stderr. */
  warnings: string[];
}

/** Writes `bytes` random bytes to a fresh temp file; the caller removes its folder. */
async function randomFile(bytes: number): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'prep-push-probe-'));
  const file = path.join(dir, 'probe.bin');
  const handle = await open(file, 'wx', 0o600);
  try {
    for (let written = 0; written < bytes; ) {
      const chunk = randomBytes(Math.min(1 << 20, bytes - written));
      await handle.write(chunk);
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return { dir, file };
}

/** The difusores to probe: those named (disabled or blocked included), else every enabled one. */
export function probeTargets(registry: Registry, ids: string[] | undefined): Difusor[] {
  if (ids !== undefined) {
    assertKnownIds(ids, registry.difusores, 'probe');
    return ids.map((id) => registry.difusores.find((d) => d.id === id) as Difusor);
  }
  const enabled = registry.difusores.filter((d) => d.enabled);
  if (enabled.length === 0) {
    throw new PrepPushError('usage', 'probe: every difusor in the registry is disabled', { hint: 'name the ones to probe: prep-push probe ID,...' });
  }
  return enabled;
}

/**
 * Probes one difusor at a time: the upload rates are the institute's uplink shared by nobody else,
 * as they will be measured against the call's minimum.
 */
export async function probe(registry: Registry, ids: string[] | undefined, deps: ProbeCommandDeps): Promise<ProbeReport> {
  const targets = probeTargets(registry, ids);
  const requirements = requirementsOf(registry);
  const probeBytes = Math.round(requirements.probeMb * 1e6);
  const local = await randomFile(probeBytes);
  const results: ProbeResult[] = [];
  const warnings: string[] = [];
  const notStarted: string[] = [];
  try {
    for (const difusor of targets) {
      if (deps.signal?.aborted) {
        notStarted.push(difusor.id);
        continue;
      }
      const measured = await probeDifusor(
        difusor,
        {
          connectTimeoutMs: registry.push.connectTimeoutS * 1000,
          uploadDeadlineS: uploadDeadlineSeconds(requirements, registry.push.transferTimeoutS),
          probeFile: local.file,
          probeBytes,
        },
        deps,
      );
      const result = judgeProbe(measured, requirements);
      results.push(result);
      deps.onResult?.(result);
      if (!result.ok && deps.onProbeFailed) {
        try {
          await deps.onProbeFailed(difusor, result.problems);
        } catch (error) {
          warnings.push(`${difusor.id}: probe_failed hook: ${(error as Error).message}`);
        }
      }
    }
  } finally {
    await rm(local.dir, { recursive: true, force: true });
  }
  return { results, not_started: notStarted, exit_code: notStarted.length ? 1 : exitCodeOfProbe(results), warnings };
}

export interface ProbeFailure {
  difusor: Difusor;
  problems: string[];
}

export interface ProbeNotifyDeps {
  clock: Clock;
  env: NodeJS.ProcessEnv;
  /** Replaces the registry's channels (tests). */
  channels?: NotifyChannel[];
  signal?: AbortSignal;
}

/**
 * Queues one `probe_failed` per failing difusor in the journal's outbox and sends what the outbox
 * holds, under the state dir's lock like block/unblock. It records no outcome, so a probe is never
 * a miss; the outbox key (probe_failed:ID:newest cut) keeps a repeated probe from notifying twice.
 * Never throws: a busy lock or an unwritable state dir comes back as a warning.
 */
export async function notifyProbeFailures(
  registry: Registry,
  stateDir: string,
  failures: readonly ProbeFailure[],
  deps: ProbeNotifyDeps,
): Promise<{ follow_up: FollowUpReport | null; warnings: string[] }> {
  // Without `notify` in the registry there is nothing to queue: the state dir is left alone.
  if (failures.length === 0 || registry.notify === undefined) return { follow_up: null, warnings: [] };
  try {
    const lock = await acquireLock(stateDir, { command: 'probe', timeZone: registry.timezone });
    try {
      const { events, warnings } = await readJournal(stateDir);
      const before = deriveLedgerState(events);
      const at = new Date(deps.clock.now()).toISOString();
      const extra = failures.map((f) => probeFailedNotification(registry, f.difusor, f.problems, before.latestCut, at));
      const journal = await openJournal(stateDir);
      try {
        const followUp = await followUpRun(
          { registry, stateDir, journal, events: [...events], before, runEvents: [], cut: null, extra },
          { clock: deps.clock, env: deps.env, channels: deps.channels, signal: deps.signal },
        );
        return { follow_up: followUp, warnings: [...warnings, ...journal.warnings, ...followUp.warnings] };
      } finally {
        await journal.close();
      }
    } finally {
      await lock.release();
    }
  } catch (error) {
    return {
      follow_up: null,
      warnings: [`probe_failed notifications not queued (run probe again once the state dir is free): ${(error as Error).message}`],
    };
  }
}
