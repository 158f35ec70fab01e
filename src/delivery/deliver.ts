// The fan-out: every targeted difusor's strategies, at most `concurrency` deliveries at a time, each
// delivery isolated from the others and reported as soon as it ends.
import pLimit from 'p-limit';
import type { Difusor, PushSettings } from '../registry/types.js';
import type { DeliveryResult } from './types.js';
import { deliverToDifusor, type DeliveryDeps } from './deliver-one.js';
import type { DeliveryStrategy } from './modes/strategy.js';

export interface DeliveryPlan {
  targets: Difusor[];
  settings: PushSettings;
  /** What each target gets, chosen once by the caller (delivery/modes/index.ts). */
  strategiesFor(difusor: Difusor): DeliveryStrategy[];
}

export interface DeliveryHooks {
  /** A difusor's delivery begins (it took a concurrency slot). */
  onStart?(id: string): void;
  /** A difusor's delivery ended; the caller journals it here. deliverToAll waits for these. */
  onResult?(result: DeliveryResult): void | Promise<void>;
  /** Once aborted (SIGINT/SIGTERM), no new difusor is started; started ones run to their end. */
  signal?: AbortSignal;
}

/**
 * Delivers to every target, at most `plan.settings.concurrency` at a time, and resolves
 * with one result per STARTED difusor, in `plan.targets` order, after every `onResult` settled.
 * A difusor's failure is its result, never a rejection. After `hooks.signal` aborts, difusores
 * not yet started are left out of the results (the caller sees who is missing); those in flight
 * finish or fail within their own deadline.
 *
 * Rejects only when an `onResult` rejected (after every delivery ended, with the first such error:
 * an outcome that could not be journaled must not pass silently).
 */
export async function deliverToAll(
  plan: DeliveryPlan,
  deps: DeliveryDeps,
  hooks: DeliveryHooks = {},
): Promise<DeliveryResult[]> {
  const { targets, settings } = plan;

  const limit = pLimit(Math.max(1, settings.concurrency));
  const journaling: Promise<void>[] = [];
  const journalFailures: unknown[] = [];
  const runs = targets.map((difusor) =>
    limit(async (): Promise<DeliveryResult | undefined> => {
      if (hooks.signal?.aborted) return undefined;
      hooks.onStart?.(difusor.id);
      const result = await Promise.resolve()
        .then(() => deliverToDifusor({ difusor, settings, strategies: plan.strategiesFor(difusor) }, deps))
        .catch(
          // deliverToDifusor turns every failure into a result; this only guards the fan-out
          // against a bug there (or in choosing the strategies), so one difusor can never take the others down.
          (error: unknown): DeliveryResult => ({
            id: difusor.id,
            outcome: 'failed',
            error: { code: 'SFTP_ERROR', message: `${difusor.id}: internal error: ${String(error)}` },
            seconds: 0,
            attempts: 1,
            bytes: 0,
          }),
        );
      if (hooks.onResult) {
        // Handled at once (not only at the end), so a rejection is never "unhandled" meanwhile.
        journaling.push(
          Promise.resolve()
            .then(() => hooks.onResult?.(result))
            .then(
              () => undefined,
              (error: unknown) => {
                journalFailures.push(error);
              },
            ),
        );
      }
      return result;
    }),
  );
  const results = (await Promise.all(runs)).filter((r): r is DeliveryResult => r !== undefined);
  await Promise.all(journaling);
  if (journalFailures.length > 0) throw journalFailures[0];
  return results;
}
