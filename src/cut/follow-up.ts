// What every run that opens the ledger does once its outcomes are recorded: queue the notifications
// of this run's transitions, keep the public list true, place due notices, and send what the outbox
// holds. Nothing here throws or changes a run's outcome: problems come back as warnings.
import type { Clock } from '../core/clock.js';
import type { Journal } from '../ledger/journal.js';
import { deriveLedgerState } from '../ledger/rules.js';
import type { LedgerEvent, LedgerState } from '../ledger/types.js';
import { noticesDue } from '../notice/decide.js';
import { writeNoticeRelease, type NoticePublisher } from '../notice/release.js';
import type { Registry } from '../registry/types.js';
import { syncPublicList, type PublicListResult } from '../public/write.js';
import { withinTimeout, type NotifyChannel } from '../notify/channel.js';
import { channelsOf, queueNotifications, sendDue, type SendSummary } from '../notify/dispatch.js';
import { notificationsOfEvents, notificationsOfTransition } from '../notify/events.js';
import { type Notification } from '../ledger/notification.js';
import { outboxEntries, unsentEntries } from '../notify/outbox.js';

export interface FollowUpInput {
  registry: Registry;
  stateDir: string;
  journal: Journal;
  /** Every event in the journal, this run's included. Events appended here are added to it. */
  events: LedgerEvent[];
  /** The ledger before this run's first event. */
  before: LedgerState;
  /** This run's events (outcomes, blocks, unblocks), in journal order. */
  runEvents: readonly LedgerEvent[];
  /** The cut this run delivered, for a notice's release name; null for block/unblock. */
  cut: { id: string; time: string } | null;
  /** Notifications other callers raise (audit_failed, probe_failed), queued with this run's. */
  extra?: readonly Notification[];
}

export interface FollowUpDeps {
  clock: Clock;
  env: NodeJS.ProcessEnv;
  /** Places a notice on a difusor; without one, due notices stay due (and `status` says so). */
  noticePublisher?: NoticePublisher;
  /** Replaces the registry's channels (tests). */
  channels?: NotifyChannel[];
  /** Once aborted (SIGINT/SIGTERM), nothing new is sent or placed: it is queued for the next run. */
  signal?: AbortSignal;
}

export interface FollowUpReport {
  notifications: { queued: number; sent: number; failed: SendSummary['failed']; pending: number };
  notices: { placed: string[]; failed: Array<{ id: string; error: string }>; waiting: string[] };
  public_list: PublicListResult | null;
  warnings: string[];
}

export async function followUpRun(input: FollowUpInput, deps: FollowUpDeps): Promise<FollowUpReport> {
  const { registry, events } = input;
  const warnings: string[] = [];
  const report: FollowUpReport = {
    notifications: { queued: 0, sent: 0, failed: [], pending: 0 },
    notices: { placed: [], failed: [], waiting: [] },
    public_list: null,
    warnings,
  };
  const record = async (event: LedgerEvent) => {
    await input.journal.append(event);
    events.push(event);
  };
  const at = () => new Date(deps.clock.now()).toISOString();
  const step = async (what: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      warnings.push(`${what}: ${(error as Error).message}`);
    }
  };

  await step('queueing notifications', async () => {
    const notifications = [...notificationsOfEvents(registry, input.before, input.runEvents, events), ...(input.extra ?? [])];
    report.notifications.queued += await queueNotifications(registry, events, notifications, record, deps.clock);
  });

  await step('public list', async () => {
    report.public_list = await syncPublicList(registry, deriveLedgerState(events), at());
    if (report.public_list?.error) warnings.push(report.public_list.error);
    warnings.push(...(report.public_list?.warnings ?? []));
  });

  await step('notices', async () => {
    for (const due of noticesDue(registry.difusores, events)) {
      if (!deps.noticePublisher || deps.signal?.aborted) {
        report.notices.waiting.push(due.difusor.id);
        continue;
      }
      const newestCut = input.cut ?? newestCutOf(events);
      const cut = newestCut?.id ?? null;
      try {
        const release = await writeNoticeRelease(registry, input.stateDir, due, newestCut);
        const bound = registry.push.transferTimeoutS * 1000;
        await withinTimeout(bound, `placing the notice on ${due.difusor.id}`, deps.noticePublisher.publish(due.difusor, release));
        const placed: LedgerEvent = { type: 'notice_placed', at: at(), id: due.difusor.id, cut, release: release.name };
        const state = deriveLedgerState(events);
        await record(placed);
        report.notices.placed.push(due.difusor.id);
        report.notifications.queued += await queueNotifications(registry, events, notificationsOfTransition(registry, state, placed), record, deps.clock);
      } catch (error) {
        const message = (error as Error).message;
        await record({ type: 'notice_failed', at: at(), id: due.difusor.id, cut, error: message });
        report.notices.failed.push({ id: due.difusor.id, error: message });
        warnings.push(`the notice could not be placed on ${due.difusor.id} (retried next run): ${message}`);
      }
    }
  });

  await step('sending notifications', async () => {
    if (deps.signal?.aborted) return;
    const channels = deps.channels ?? channelsOf(registry, deps.env);
    try {
      const summary = await sendDue(events, channels, record, deps.clock);
      report.notifications.sent = summary.sent;
      report.notifications.failed = summary.failed;
      for (const f of summary.failed) warnings.push(`notification ${f.key} not sent by ${f.channel} (retried next run): ${f.error}`);
    } finally {
      for (const channel of channels) channel.close?.();
    }
  });
  report.notifications.pending = unsentEntries(outboxEntries(events)).length;
  return report;
}

/** The newest cut the journal has built, for block/unblock runs that deliver none. */
function newestCutOf(events: readonly LedgerEvent[]): { id: string; time: string } | null {
  let newest: { id: string; time: string } | null = null;
  for (const e of events) if (e.type === 'cut' && (newest === null || e.cut > newest.id)) newest = { id: e.cut, time: e.cutTime };
  return newest;
}
