// `probe [ID,...]`: checks difusores against the registry's requirements (free disk, upload rate,
// write permission, server capabilities) before the drills. Never touches the ledger: not a miss.
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Clock } from '../core/clock.js';
import { PrepPushError } from '../core/errors.js';
import { assertKnownIds } from '../cut/plan.js';
import type { SftpTransport } from '../delivery/transport.js';
import { probeDifusor } from '../probe/probe.js';
import { exitCodeOfProbe, judgeProbe, requirementsOf, uploadDeadlineSeconds, type ProbeResult } from '../probe/verdict.js';
import type { Difusor, Registry } from '../registry/types.js';

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
