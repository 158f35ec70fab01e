// notify/: what the institute tells people when a difusor's state changes — events derived purely
// from the ledger's transitions (this file), an outbox in the journal, and one file per channel.
import { isNewAuditFailure } from '../audit/model.js';
import { describeAuditOutcome } from '../words/audit.js';
import { describeFailure } from '../words/failures.js';
import { instituteWords } from '../words/institute.js';
import { withFinalStop } from '../words/sentence.js';
import { cutInWords } from '../words/time.js';
import { applyEvent, difusorState } from '../ledger/rules.js';
import type { MissedCut, Notification, NotificationKind } from '../ledger/notification.js';
import type { LedgerEvent, LedgerState } from '../ledger/types.js';
import type { Difusor, Registry } from '../registry/types.js';

/** The outbox's identity of a notification: each (event, difusor, cut) goes out once per channel. */
export function notificationKey(n: Pick<Notification, 'event' | 'difusor' | 'cut'>): string {
  return `${n.event}:${n.difusor.id}:${n.cut ?? '-'}`;
}

export function instituteName(registry: Registry): string {
  return registry.instituteName ?? registry.institute;
}

export function makeNotification(
  registry: Registry,
  difusor: Pick<Difusor, 'id' | 'name' | 'url'>,
  fields: { event: NotificationKind; cut: string | null; time: string; message: string },
): Notification {
  return {
    event: fields.event,
    institute: instituteName(registry),
    difusor: { id: difusor.id, name: difusor.name, url: difusor.url ?? null },
    cut: fields.cut,
    time: fields.time,
    message: fields.message,
  };
}

/** Per difusor and cut, why the last failed delivery (or miss-counting audit) of it failed. */
type MissIndex = Map<string, MissedCut>;

function noteMiss(index: MissIndex, event: LedgerEvent): void {
  if (event.type === 'outcome' && event.outcome === 'failed') {
    index.set(`${event.id}\0${event.cut}`, { cut: event.cut, code: event.code ?? 'UNKNOWN' });
  } else if (event.type === 'audit' && event.countsAsMiss && event.expectedCut !== null) {
    index.set(`${event.id}\0${event.expectedCut}`, { cut: event.expectedCut, code: event.outcome, audit: true });
  }
}

/**
 * The notifications one journaled event causes, given the ledger just before it. Pure: the same
 * journal always yields the same notifications, so a replayed or repeated run finds the same keys.
 * `misses` says why each missed cut was missed (for the blocked e-mail's list).
 */
export function notificationsOfTransition(registry: Registry, before: LedgerState, event: LedgerEvent, misses: MissIndex = new Map()): Notification[] {
  const difusor = 'id' in event ? registry.difusores.find((d) => d.id === event.id) : undefined;
  if (difusor === undefined) return [];
  const was = difusorState(before, difusor.id);
  const now = difusorState(applyEvent(before, event), difusor.id);
  const make = (kind: NotificationKind, cut: string | null, message: string) =>
    [makeNotification(registry, difusor, { event: kind, cut, time: event.at, message })];
  const the = `El difusor ${difusor.name}`;
  const inst = instituteWords(registry.institute);

  switch (event.type) {
    case 'outcome': {
      if (event.outcome === 'failed' && now.missedCuts.length > was.missedCuts.length) {
        const code = event.code ?? 'UNKNOWN';
        return make(
          'missed',
          event.cut,
          `${the} no recibió el corte de ${cutInWords(event.cut)} (${event.cut}): ${describeFailure(code, registry.institute)}. ` +
            `Cortes seguidos sin recibir: ${now.consecutiveMisses} de ${registry.blockAfterMisses} antes del bloqueo.`,
        ).map((n) => ({ ...n, code }));
      }
      if (event.outcome === 'delivered' && was.consecutiveMisses > 0 && now.consecutiveMisses === 0) {
        return make('recovered', event.cut, `${the} volvió a recibir los cortes: el corte de ${cutInWords(event.cut)} (${event.cut}) se entregó completo.`);
      }
      return [];
    }
    case 'block': {
      if (was.blocked !== null) return [];
      const until = `No recibirá resultados hasta que ${inst.el} lo desbloquee.`;
      const message =
        event.by === 'auto'
          ? `${the} quedó bloqueado: no recibió ${was.consecutiveMisses} cortes seguidos. ${until}`
          : `${the} quedó bloqueado por decisión ${inst.del}. Motivo registrado: ${withFinalStop(event.reason)} ${until}`;
      const missed = was.missedCuts.map((cut) => misses.get(`${difusor.id}\0${cut}`) ?? { cut, code: 'UNKNOWN' });
      return make('blocked', before.latestCut, message).map((n) => ({
        ...n,
        blocked_by: event.by,
        reason: event.reason,
        ...(event.publicReason ? { public_reason: event.publicReason } : {}),
        ...(missed.length > 0 ? { missed_cuts: missed } : {}),
      }));
    }
    case 'unblock':
      if (was.blocked === null) return [];
      return make('unblocked', before.latestCut, `${the} fue desbloqueado: volverá a recibir los resultados a partir del siguiente corte.`);
    case 'audit': {
      // Once per change to a failing outcome: the previous audit is the ledger's, before this one.
      if (!isNewAuditFailure(was.lastAudit?.outcome ?? null, event.outcome)) return [];
      const served = event.servedCut === null ? 'ningún corte reconocible' : `el corte ${event.servedCut}`;
      const expected = event.expectedCut === null ? '' : `, y debía mostrar el corte ${event.expectedCut}`;
      const problems = event.problems.length === 0 ? '' : ` Detalle técnico: ${event.problems.slice(0, 5).join('; ')}${event.problems.length > 5 ? `; y ${event.problems.length - 5} más` : ''}.`;
      return make(
        'audit_failed',
        event.expectedCut,
        `La revisión del sitio público del difusor ${difusor.name}${difusor.url ? ` (${difusor.url})` : ''} encontró que ${describeAuditOutcome(event.outcome, registry.institute)}. El sitio muestra ${served}${expected}.${problems}`,
      ).map((n) => ({ ...n, code: event.outcome }));
    }
    case 'notice_placed':
      return make('notice_published', event.cut, `Se publicó en el portal del difusor ${difusor.name} el aviso de que ya no es un difusor válido del PREP.`);
    default:
      return [];
  }
}

/**
 * The notifications of a run's events, in order, from the ledger as it was before the first of them.
 * `journal` (every event recorded, this run's included) says why each missed cut was missed. A miss
 * that the same run turned into a block is marked `caused_block`, so its e-mail does not warn of the
 * block that the blocked e-mail, sent with it, announces.
 */
export function notificationsOfEvents(registry: Registry, before: LedgerState, events: readonly LedgerEvent[], journal: readonly LedgerEvent[] = []): Notification[] {
  const misses: MissIndex = new Map();
  for (const event of journal) noteMiss(misses, event);
  const found: Notification[] = [];
  let state = before;
  for (const event of events) {
    noteMiss(misses, event);
    const made = notificationsOfTransition(registry, state, event, misses);
    if (event.type === 'block' && event.by === 'auto' && made.length > 0) {
      const miss = [...found].reverse().find((n) => n.event === 'missed' && n.difusor.id === event.id);
      if (miss !== undefined) {
        miss.caused_block = true;
        miss.message = miss.message.replace(/ antes del bloqueo\.$/, '; con este llegó al límite y quedó bloqueado.');
      }
    }
    found.push(...made);
    state = applyEvent(state, event);
  }
  return found;
}

/**
 * The `probe_failed` notification of a difusor that does not meet the call's requirements. Its cut
 * is the newest the ledger has seen (null before the first), so a repeated probe with the same
 * result is not notified twice in the outbox, and a failure after the next cut is told again.
 */
export function probeFailedNotification(
  registry: Registry,
  difusor: Pick<Difusor, 'id' | 'name' | 'url'>,
  problems: readonly string[],
  latestCut: string | null,
  time: string,
): Notification {
  const found = problems.length === 0 ? 'no cumple los requisitos' : problems.join('; ');
  return makeNotification(registry, difusor, {
    event: 'probe_failed',
    cut: latestCut,
    time,
    message: `La prueba que hizo ${instituteWords(registry.institute).el} del servidor SFTP del difusor ${difusor.name} encontró problemas. Detalle técnico: ${found}.`,
  });
}
