// Where a run's events are journaled as they happen, with the derived state kept current, so the
// block decision (rules.ts: autoBlockReason) sees every outcome: where a miss becomes a block.
import type { Journal } from './journal.js';
import { applyEvent, autoBlockReason } from './rules.js';
import type { LedgerEvent, LedgerState, PublishSummary, RecordedOutcome } from './types.js';

type OutcomeEvent = Extract<LedgerEvent, { type: 'outcome' }>;

/** What the journal keeps of one difusor's result in a run. */
export interface ResultToRecord {
  id: string;
  outcome: RecordedOutcome;
  error: { message: string } | null;
  seconds: number;
  attempts: number;
  publish?: PublishSummary | null;
}

export class LedgerRecorder {
  readonly newlyBlocked: string[] = [];
  /** Every event this run journaled, in order (what notifications are derived from). */
  readonly appended: LedgerEvent[] = [];

  constructor(
    private readonly journal: Journal,
    private current: LedgerState,
    private readonly blockAfterMisses: number,
    private readonly now: () => string,
    private readonly onBlocked: (id: string, reason: string) => void = () => {},
  ) {}

  async record(event: LedgerEvent): Promise<void> {
    await this.journal.append(event);
    this.appended.push(event);
    this.current = applyEvent(this.current, event);
  }

  /** The ledger as of the last recorded event. */
  get state(): LedgerState {
    return this.current;
  }

  async recordOutcome(via: 'cut' | 'push', cut: string, result: ResultToRecord, code: OutcomeEvent['code'], auditPending = false): Promise<void> {
    await this.record({
      type: 'outcome',
      at: this.now(),
      cut,
      id: result.id,
      outcome: result.outcome,
      code,
      message: result.error?.message ?? null,
      via,
      seconds: result.seconds,
      attempts: result.attempts,
      ...(auditPending ? { auditPending } : {}),
      ...(result.publish ? { publish: result.publish } : {}),
    });
  }

  /** Blocks (and journals) each of `ids` whose consecutive misses reached the registry's limit. */
  async blockWhoeverReachedTheLimit(ids: string[]): Promise<void> {
    for (const id of ids) {
      const reason = autoBlockReason(this.current.difusores[id], this.blockAfterMisses);
      if (reason === null) continue;
      await this.record({ type: 'block', at: this.now(), id, reason, by: 'auto' });
      this.newlyBlocked.push(id);
      this.onBlocked(id, reason);
    }
  }
}
