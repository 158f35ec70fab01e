// The shape of a notification as the journal's outbox stores it (src/notify sends it): the ledger
// owns what it stores, so nothing below notify has to import notify.

/**
 * Every kind of event a channel may carry. Adding one is this one line: other callers (audit, probe)
 * build their Notification with `makeNotification` and queue it with the outbox like any other.
 */
export const NOTIFICATION_KINDS = ['missed', 'blocked', 'recovered', 'unblocked', 'notice_published', 'audit_failed', 'probe_failed'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export const NOTIFY_CHANNELS = ['email', 'webhook', 'command'] as const;
export type NotifyChannelName = (typeof NOTIFY_CHANNELS)[number];

/** The contract's JSON object: what a webhook receives and a command reads on stdin. */
export interface Notification {
  event: NotificationKind;
  /** `institute_name`, else `institute`. */
  institute: string;
  difusor: { id: string; name: string; url: string | null };
  cut: string | null;
  /** ISO 8601 UTC: when the transition was recorded. */
  time: string;
  /** One Spanish sentence a person can act on. */
  message: string;
  /** For `missed`: the failure code (CONNECT_TIMEOUT...); for `audit_failed`: the audit outcome (stale...). */
  code?: string;
  /** For `missed`: this miss reached the limit and the same run blocked the difusor (no "will be blocked" warning). */
  caused_block?: boolean;
  /** For `blocked`: the cuts it missed before the block, each with its failure code (or audit outcome). */
  missed_cuts?: MissedCut[];
  /** For `blocked`: who blocked it. */
  blocked_by?: 'auto' | 'manual';
  /** For `blocked`: the ledger's reason (`auto: missed N consecutive cuts`, or the operator's note: internal, never public). */
  reason?: string;
  /** For `blocked`: what the notice on its portal tells the public (absent: the default for its cause). */
  public_reason?: string;
}

/** A cut a difusor missed: the delivery's failure code, or the outcome of an audit that counted as a miss. */
export interface MissedCut {
  cut: string;
  code: string;
  audit?: boolean;
}
