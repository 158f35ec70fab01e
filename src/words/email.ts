// The e-mail (Subject and body) of a notification, in Spanish. Pure: strings in, strings out.
import type { Notification, NotificationKind } from '../ledger/notification.js';
import type { Contact, Registry } from '../registry/types.js';
import { auditTodo } from './audit.js';
import { whatToDo } from './failures.js';
import { formatTime } from './time.js';

/** A kind missing here (a new one) reads as a generic notice until someone words it. */
const SUBJECT_OF: Partial<Record<NotificationKind, string>> = {
  missed: 'no recibió el corte',
  blocked: 'bloqueado',
  recovered: 'recuperado',
  unblocked: 'desbloqueado',
  notice_published: 'aviso de suspensión publicado',
  audit_failed: 'la revisión de su sitio público encontró problemas',
  probe_failed: 'su servidor no cumple los requisitos de la convocatoria',
};

const TODO_OF: Partial<Record<NotificationKind, string>> = {
  missed: '',
  blocked:
    'Corrijan la falla y comuníquense con el Instituto para solicitar el desbloqueo; mientras tanto su portal debe mostrar el aviso de suspensión, no resultados.',
  recovered: 'No se requiere ninguna acción.',
  unblocked: 'Verifiquen que su portal vuelva a mostrar los resultados del siguiente corte.',
  notice_published: 'No modifiquen el aviso; se retirará al publicar de nuevo resultados tras el desbloqueo.',
  audit_failed: 'Revisen que su sitio sirva el último corte sin alteraciones y con los encabezados acordados, y avisen al Instituto al corregirlo.',
  probe_failed:
    'Corrijan lo señalado antes de los simulacros (se requieren al menos 20 GB libres, 40 MB/s de subida por SFTP y permiso de escritura para la cuenta del Instituto) y pidan al Instituto repetir la prueba.',
};

export interface EmailText {
  subject: string;
  text: string;
}

function contactLine(c: Contact): string {
  return `  - ${[c.name, c.phone, c.email].filter(Boolean).join(', ')}`;
}

/**
 * The e-mail of a notification: Subject names the difusor and the cut; the body names the institute,
 * the difusor, the cut, what happened (codes in words), what to do and whom to call.
 */
export function emailFor(registry: Registry, n: Notification): EmailText {
  const difusor = registry.difusores.find((d) => d.id === n.difusor.id);
  const cut = n.cut === null ? '' : ` — corte ${n.cut}`;
  const subject = `[PREP ${registry.institute}] ${n.difusor.name}: ${SUBJECT_OF[n.event] ?? `aviso (${n.event})`}${cut}`;
  const todo = todoOf(registry, n);
  const contacts = difusor?.contacts ?? [];
  const desk = registry.notify?.email?.to ?? [];
  const lines = [
    `${n.institute}`,
    `Programa de Resultados Electorales Preliminares (PREP)`,
    '',
    `Difusor: ${n.difusor.name} (${n.difusor.id})${n.difusor.url ? ` — ${n.difusor.url}` : ''}`,
    `Corte: ${n.cut ?? 'sin corte'}`,
    `Hora: ${formatTime(n.time, registry.timezone)}`,
    '',
    `Qué pasó: ${n.message}`,
    '',
    `Qué hacer: ${todo}`,
    '',
    'A quién llamar:',
    ...(contacts.length ? ['  Contactos del difusor:', ...contacts.map(contactLine)] : ['  (el registro no tiene contactos de este difusor)']),
    ...(desk.length ? [`  Mesa del PREP del Instituto: ${desk.join(', ')}`] : []),
    '',
    `Mensaje automático de prep-push para ${n.institute}; no responda a esta dirección si no la atiende una persona.`,
  ];
  return { subject, text: `${lines.join('\n')}\n` };
}

/** What to do: per failure code for `missed`, per outcome for `audit_failed`, else per kind. */
function todoOf(registry: Registry, n: Notification): string {
  if (n.event === 'missed') {
    return `${capitalize(whatToDo(n.code ?? 'UNKNOWN'))}. Si la falla sigue ${registry.blockAfterMisses} cortes seguidos, el difusor será bloqueado.`;
  }
  const auditAdvice = n.event === 'audit_failed' && n.code !== undefined ? auditTodo(n.code) : null;
  if (auditAdvice !== null) {
    return `${capitalize(auditAdvice)}. ${TODO_OF.audit_failed}`;
  }
  return TODO_OF[n.event] ?? 'Comuníquense con el Instituto si necesitan más información.';
}


function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
