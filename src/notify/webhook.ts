// The webhook channel: each notification as one JSON POST, with Node's fetch, cut at the timeout.
import type { NotifyChannel, SendOutcome } from './channel.js';
import type { Notification } from '../ledger/notification.js';

export function webhookChannel(url: string, timeoutS: number): NotifyChannel {
  return {
    name: 'webhook',
    async send(n: Notification, key: string): Promise<SendOutcome> {
      try {
        const response = await fetch(url, {
          method: 'POST',
          // Idempotency-Key: the same notification always carries the same key, for receivers that dedupe.
          headers: { 'content-type': 'application/json; charset=utf-8', 'idempotency-key': key, 'user-agent': 'prep-push' },
          body: JSON.stringify(n),
          signal: AbortSignal.timeout(timeoutS * 1000),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return { ok: true, detail: null };
        return { ok: false, error: `webhook ${url} answered HTTP ${response.status}`, channelDown: response.status >= 500 };
      } catch (error) {
        const e = error as Error & { cause?: { code?: string; message?: string } };
        const why = e.name === 'TimeoutError' ? `no answer within ${timeoutS} s` : (e.cause?.code ?? e.cause?.message ?? e.message);
        return { ok: false, error: `webhook ${url}: ${why}`, channelDown: true };
      }
    },
  };
}
