// notify/: what the institute tells people when a difusor's state changes — events derived purely
// from the ledger's transitions (this file), an outbox in the journal, and one file per channel.
import { isNewAuditFailure } from '../audit/model.js';
import { describeAuditOutcome } from '../words/audit.js';
import { describeFailure } from '../words/failures.js';
import { applyEvent, difusorState } from '../ledger/rules.js';
import type { Notification, NotificationKind } from '../ledger/notification.js';
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

/**
 * The notifications one journaled event causes, given the ledger just before it. Pure: the same
 * journal always yields the same notifications, so a replayed or repeated run finds the same keys.
 */
export function notificationsOfTransition(registry: Registry, before: LedgerState, event: LedgerEvent): Notification[] {
  const difusor = 'id' in event ? registry.difusores.find((d) => d.id === event.id) : undefined;
  if (difusor === undefined) return [];
  const was = difusorState(before, difusor.id);
  const now = difusorState(applyEvent(before, event), difusor.id);
  const make = (kind: NotificationKind, cut: string | null, message: string) =>
    [makeNotification(registry, difusor, { event: kind, cut, time: event.at, message })];
  const name = difusor.name;

  switch (event.type) {
    case 'outcome': {
      if (event.outcome === 'failed' && now.missedCuts.length > was.missedCuts.length) {
        const code = event.code ?? 'UNKNOWN';
        const what = describeFailure(code);
        return make(
          'missed',
          event.cut,
          `${name} no recibió el corte ${event.cut}: ${what}. Cortes perdidos seguidos: ${now.consecutiveMisses} de ${registry.blockAfterMisses} antes del bloqueo.`,
        ).map((n) => ({ ...n, code }));
      }
      if (event.outcome === 'delivered' && was.consecutiveMisses > 0 && now.consecutiveMisses === 0) {
        return make('recovered', event.cut, `${name} volvió a recibir los cortes: el corte ${event.cut} se entregó completo.`);
      }
      return [];
    }
    case 'block':
      if (was.blocked !== null) return [];
      return make(
        'blocked',
        before.latestCut,
        event.by === 'auto'
          ? `${name} quedó bloqueado: perdió ${was.consecutiveMisses} cortes seguidos; no recibirá resultados hasta que el Instituto lo desbloquee.`
          : `${name} fue bloqueado por el Instituto (${event.reason}); no recibirá resultados hasta que se le desbloquee.`,
      );
    case 'unblock':
      if (was.blocked === null) return [];
      return make('unblocked', before.latestCut, `${name} fue desbloqueado: volverá a recibir los resultados a partir del siguiente corte.`);
    case 'audit': {
      // Once per change to a failing outcome: the previous audit is the ledger's, before this one.
      if (!isNewAuditFailure(was.lastAudit?.outcome ?? null, event.outcome)) return [];
      const served = event.servedCut === null ? 'ningún corte reconocible' : `el corte ${event.servedCut}`;
      const expected = event.expectedCut === null ? '' : ` (debía mostrar el corte ${event.expectedCut})`;
      const problems = event.problems.length === 0 ? '' : ` Detalle técnico: ${event.problems.slice(0, 5).join('; ')}${event.problems.length > 5 ? `; y ${event.problems.length - 5} más` : ''}.`;
      return make(
        'audit_failed',
        event.expectedCut,
        `La revisión del sitio público de ${name}${difusor.url ? ` (${difusor.url})` : ''} encontró que ${describeAuditOutcome(event.outcome)}; el sitio muestra ${served}${expected}.${problems}`,
      ).map((n) => ({ ...n, code: event.outcome }));
    }
    case 'notice_placed':
      return make('notice_published', event.cut, `Se publicó en el portal de ${name} el aviso de suspensión de la publicación del PREP.`);
    default:
      return [];
  }
}

/** The notifications of a run's events, in order, from the ledger as it was before the first of them. */
export function notificationsOfEvents(registry: Registry, before: LedgerState, events: readonly LedgerEvent[]): Notification[] {
  const found: Notification[] = [];
  let state = before;
  for (const event of events) {
    found.push(...notificationsOfTransition(registry, state, event));
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
    message: `La prueba del servidor SFTP de ${difusor.name} que hizo el Instituto encontró problemas. Detalle técnico: ${found}.`,
  });
}
