// The outbox's effects: queue notifications in the journal, then send what is due on each channel,
// recording an attempt before and the result after each send (see outbox.ts for what that buys).
import type { Clock } from '../core/clock.js';
import type { LedgerEvent } from '../ledger/types.js';
import type { Registry } from '../registry/types.js';
import type { NotifyChannel } from './channel.js';
import { commandChannel } from './command.js';
import { emailChannel, emailRecipients } from './email.js';
import type { Notification, NotifyChannelName } from '../ledger/notification.js';
import { dueEntries, outboxEntries, toQueue } from './outbox.js';
import { webhookChannel } from './webhook.js';

/** Appends to the journal and to the caller's copy of its events, in that order. */
export type RecordEvent = (event: LedgerEvent) => Promise<void>;

/** The channels the registry configures, ready to send. */
export function channelsOf(registry: Registry, env: NodeJS.ProcessEnv): NotifyChannel[] {
  const notify = registry.notify;
  if (!notify) return [];
  const channels: NotifyChannel[] = [];
  if (notify.email) channels.push(emailChannel(registry, notify.email, notify.timeoutS, env));
  if (notify.webhook) channels.push(webhookChannel(notify.webhook.url, notify.timeoutS));
  if (notify.command) channels.push(commandChannel(notify.command, notify.timeoutS, env));
  return channels;
}

/** The channels a notification goes out on: all configured ones (e-mail only when someone receives it). */
export function channelNamesFor(registry: Registry, n: Notification): NotifyChannelName[] {
  const notify = registry.notify;
  if (!notify) return [];
  const names: NotifyChannelName[] = [];
  if (notify.email && emailRecipients(registry, notify.email, n).length > 0) names.push('email');
  if (notify.webhook) names.push('webhook');
  if (notify.command) names.push('command');
  return names;
}

/** Queues what the outbox does not hold yet; returns how many (notification, channel) pairs. */
export async function queueNotifications(
  registry: Registry,
  events: readonly LedgerEvent[],
  notifications: readonly Notification[],
  record: RecordEvent,
  clock: Clock,
): Promise<number> {
  const queued = toQueue(notifications, (n) => channelNamesFor(registry, n), outboxEntries(events));
  for (const { key, channel, notification } of queued) {
    await record({ type: 'notify_queued', at: new Date(clock.now()).toISOString(), key, channel, notification });
  }
  return queued.length;
}

export interface SendSummary {
  sent: number;
  failed: Array<{ key: string; channel: NotifyChannelName; error: string }>;
  /** Left for the next run: their channel failed earlier in this run, or it is not configured now. */
  deferred: number;
}

/**
 * Sends every due entry once. A channel that fails as a whole (server down, timeout) is not tried
 * again in this run, so a dead SMTP server costs one timeout, not one per message.
 */
export async function sendDue(events: readonly LedgerEvent[], channels: readonly NotifyChannel[], record: RecordEvent, clock: Clock): Promise<SendSummary> {
  const byName = new Map(channels.map((c) => [c.name, c]));
  const down = new Set<NotifyChannelName>();
  const summary: SendSummary = { sent: 0, failed: [], deferred: 0 };
  const at = () => new Date(clock.now()).toISOString();
  for (const entry of dueEntries(outboxEntries(events))) {
    const channel = byName.get(entry.channel);
    if (channel === undefined || down.has(entry.channel)) {
      summary.deferred += 1;
      continue;
    }
    await record({ type: 'notify_attempt', at: at(), key: entry.key, channel: entry.channel });
    const outcome = await channel.send(entry.notification, entry.key);
    if (outcome.ok) {
      await record({ type: 'notify_sent', at: at(), key: entry.key, channel: entry.channel, detail: outcome.detail });
      summary.sent += 1;
    } else {
      await record({ type: 'notify_failed', at: at(), key: entry.key, channel: entry.channel, error: outcome.error });
      summary.failed.push({ key: entry.key, channel: entry.channel, error: outcome.error });
      if (outcome.channelDown) down.add(entry.channel);
    }
  }
  return summary;
}
