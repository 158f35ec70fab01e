// One interface every channel (email.ts, webhook.ts, command.ts) implements, so the dispatcher does
// not learn how each one talks: send one notification, within a time bound, and say how it went.
import type { Notification, NotifyChannelName } from '../ledger/notification.js';

export type SendOutcome =
  | { ok: true; detail: string | null }
  /** `channelDown`: the channel itself is unusable (server down, timeout): stop it for this run. */
  | { ok: false; error: string; channelDown: boolean };

export interface NotifyChannel {
  name: NotifyChannelName;
  /** Never throws; resolves within the channel's timeout. `key` identifies the notification (dedupe ids). */
  send(notification: Notification, key: string): Promise<SendOutcome>;
  /** Releases what the channel holds (SMTP connections); called once at the end. */
  close?(): void;
}

/** Rejects after `ms` with a timeout error, so a library that ignores its own timeouts cannot hang a run. */
export async function withinTimeout<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what}: no answer within ${ms / 1000} s`), { code: 'TIMEOUT' })), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
