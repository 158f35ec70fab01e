// The outbox, as a pure fold over the journal: for each (notification key, channel), whether it is
// queued, in doubt (an attempt a killed run never finished), sent, or failed and due again.
import type { LedgerEvent } from '../ledger/types.js';
import { notificationKey } from './events.js';
import { type Notification, type NotifyChannelName } from '../ledger/notification.js';

export type OutboxStatus = 'queued' | 'in_doubt' | 'sent' | 'failed';

export interface OutboxEntry {
  key: string;
  channel: NotifyChannelName;
  notification: Notification;
  status: OutboxStatus;
  attempts: number;
  lastError: string | null;
  queuedAt: string;
}

const entryId = (key: string, channel: string) => `${channel}\u0000${key}`;

/** Every outbox entry the journal knows, in the order they were queued. */
export function outboxEntries(events: readonly LedgerEvent[]): OutboxEntry[] {
  const entries = new Map<string, OutboxEntry>();
  for (const event of events) {
    if (event.type === 'notify_queued') {
      const id = entryId(event.key, event.channel);
      if (!entries.has(id)) {
        entries.set(id, {
          key: event.key,
          channel: event.channel,
          notification: event.notification,
          status: 'queued',
          attempts: 0,
          lastError: null,
          queuedAt: event.at,
        });
      }
      continue;
    }
    if (event.type !== 'notify_attempt' && event.type !== 'notify_sent' && event.type !== 'notify_failed') continue;
    const entry = entries.get(entryId(event.key, event.channel));
    if (entry === undefined || entry.status === 'sent') continue;
    if (event.type === 'notify_attempt') {
      entry.status = 'in_doubt';
      entry.attempts += 1;
    } else if (event.type === 'notify_sent') {
      entry.status = 'sent';
      entry.lastError = null;
    } else {
      entry.status = 'failed';
      entry.lastError = event.error;
    }
  }
  return [...entries.values()];
}

/**
 * What to send now: queued entries and failed ones (the failure was seen, so the message did not go
 * out). An attempt without a result is NOT sent again: the process died while sending, the message
 * may have left, and each notification goes out at most once per channel.
 */
export function dueEntries(entries: readonly OutboxEntry[]): OutboxEntry[] {
  return entries.filter((e) => e.status === 'queued' || e.status === 'failed');
}

/** Entries not sent (queued, failed, in doubt): what `status` shows as pending. */
export function unsentEntries(entries: readonly OutboxEntry[]): OutboxEntry[] {
  return entries.filter((e) => e.status !== 'sent');
}

/**
 * Which (notification, channel) pairs to queue: every notification on every channel that wants it,
 * minus what the outbox already holds (a repeated run derives the same keys and queues nothing new).
 */
export function toQueue(
  notifications: readonly Notification[],
  channelsFor: (n: Notification) => readonly NotifyChannelName[],
  existing: readonly OutboxEntry[],
): Array<{ key: string; channel: NotifyChannelName; notification: Notification }> {
  const known = new Set(existing.map((e) => entryId(e.key, e.channel)));
  const queued: Array<{ key: string; channel: NotifyChannelName; notification: Notification }> = [];
  for (const notification of notifications) {
    const key = notificationKey(notification);
    for (const channel of channelsFor(notification)) {
      const id = entryId(key, channel);
      if (known.has(id)) continue;
      known.add(id);
      queued.push({ key, channel, notification });
    }
  }
  return queued;
}
