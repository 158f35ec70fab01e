// The e-mail channel: one message per notification through the institute's SMTP server, with
// nodemailer (tls none | starttls | tls; the password from the variable the registry names).
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { EmailSettings, Registry } from '../registry/types.js';
import { withinTimeout, type NotifyChannel, type SendOutcome } from './channel.js';
import { emailFor } from '../words/email.js';
import type { Notification } from '../ledger/notification.js';

/** Who receives a notification's e-mail: the institute's desk, and the difusor's contacts when asked. */
export function emailRecipients(registry: Registry, settings: EmailSettings, n: Notification): string[] {
  const contacts = settings.difusorContacts
    ? (registry.difusores.find((d) => d.id === n.difusor.id)?.contacts ?? []).flatMap((c) => (c.email ? [c.email] : []))
    : [];
  return [...new Set([...settings.to, ...contacts])];
}

/** Errors of one message (a refused recipient) rather than of the server: the next message may still go. */
const PER_MESSAGE_ERRORS = new Set(['EENVELOPE', 'EMESSAGE']);

export function emailChannel(registry: Registry, settings: EmailSettings, timeoutS: number, env: NodeJS.ProcessEnv): NotifyChannel {
  const timeoutMs = timeoutS * 1000;
  const { smtp } = settings;
  const password = smtp.passwordEnv ? env[smtp.passwordEnv] : undefined;
  // Required here, not imported at the top: nodemailer is ~40 modules, and only a registry with an
  // email channel needs them (every push loads this file for its follow-up). CommonJS, so require().
  const nodemailer = createRequire(import.meta.url)('nodemailer') as typeof import('nodemailer');
  const transporter = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.tls === 'tls',
    requireTLS: smtp.tls === 'starttls',
    ignoreTLS: smtp.tls === 'none',
    auth: smtp.username ? { user: smtp.username, pass: password ?? '' } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  return {
    name: 'email',
    async send(n: Notification, key: string): Promise<SendOutcome> {
      const to = emailRecipients(registry, settings, n);
      const { subject, text } = emailFor(registry, n);
      // The same notification always has the same Message-ID, so a mail system can drop a duplicate.
      const messageId = `<${createHash('sha256').update(key).digest('hex').slice(0, 32)}.${n.difusor.id}@prep-push>`;
      try {
        const info = await withinTimeout(
          timeoutMs,
          `SMTP ${smtp.host}:${smtp.port}`,
          transporter.sendMail({ from: settings.from, to, subject, text, messageId }),
        );
        const rejected = (info.rejected as Array<string | { address: string }>).map((r) => (typeof r === 'string' ? r : r.address));
        return { ok: true, detail: rejected.length ? `refused by the SMTP server: ${rejected.join(', ')}` : null };
      } catch (error) {
        const e = error as Error & { code?: string; response?: string };
        const why = e.response ?? e.message;
        return {
          ok: false,
          error: `SMTP ${smtp.host}:${smtp.port}: ${e.code ? `${e.code}: ` : ''}${why}`,
          channelDown: !PER_MESSAGE_ERRORS.has(e.code ?? ''),
        };
      }
    },
    close() {
      transporter.close();
    },
  };
}
