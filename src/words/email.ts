// The e-mail (Subject and body) of a notification, in Spanish, in usted throughout: the Subject names
// the difusor ("El difusor …"), the cut's local time and its id; the body what happened, what to do and
// whom to call (the difusor's contacts and the institute's PREP desk). Pure: strings in, strings out.
import { cutFromId } from '../core/cut.js';
import type { MissedCut, Notification, NotificationKind } from '../ledger/notification.js';
import type { Contact, Registry } from '../registry/types.js';
import { auditTodo, describeAuditOutcome } from './audit.js';
import { describeFailure, whatToDo } from './failures.js';
import { capitalize, instituteTitle, instituteWords, type InstituteWords } from './institute.js';
import { publicReasonOf } from './notice.js';
import { withoutFinalStop } from './sentence.js';
import { cutInWords, formatTime, zoneInWords } from './time.js';

export interface EmailText {
  subject: string;
  text: string;
}

/** The Subject after `[PREP IEM] `: a sentence about the difusor that names the cut when it has one. */
function subjectOf(n: Notification): string {
  const the = `El difusor ${n.difusor.name}`;
  const cut = n.cut;
  const at = cut === null ? '' : `${cutInWords(cut)} (${cut})`;
  const around = cut === null ? '' : ` (corte de ${cutInWords(cut)}, ${cut})`;
  switch (n.event) {
    case 'missed':
      return cut === null ? `${the} no recibió un corte` : `${the} no recibió el corte de ${at}`;
    case 'blocked':
      return `${the} quedó bloqueado${cut === null ? '' : ` tras el corte de ${at}`}`;
    case 'recovered':
      return cut === null ? `${the} volvió a recibir los cortes` : `${the} volvió a recibir el corte de ${at}`;
    case 'unblocked':
      return `${the} fue desbloqueado${cut === null ? '' : ` (último corte: ${cutInWords(cut)}, ${cut})`}`;
    case 'notice_published':
      return `Aviso publicado en el portal del difusor ${n.difusor.name}${around}`;
    case 'audit_failed':
      return `La revisión del sitio del difusor ${n.difusor.name} encontró problemas${around}`;
    case 'probe_failed':
      return `El servidor del difusor ${n.difusor.name} no cumple los requisitos de la convocatoria`;
    default:
      return `Aviso sobre el difusor ${n.difusor.name} (${n.event as string})${around}`;
  }
}

function contactText(c: Contact): string {
  return [c.name, c.phone, c.email].filter(Boolean).join(', ');
}

/** `las 20:20 del 2 de junio de 2024 (hora del centro de México, UTC−06:00), id 20240602_2020`. */
function cutLine(registry: Registry, cut: string): string {
  let zone = '';
  try {
    zone = ` (${zoneInWords(cutFromId(cut, registry.timezone).time, registry)})`;
  } catch {
    // Not a cut id (a hand-made notification): the id alone.
  }
  return `${cutInWords(cut, { year: true })}${zone}, id ${cut}`;
}

function missedCutLine(cut: MissedCut, institute: string): string {
  const why = cut.audit ? `la revisión de su sitio encontró que ${describeAuditOutcome(cut.code as never, institute)}` : describeFailure(cut.code, institute);
  return `  - ${cutInWords(cut.cut, { year: true })} (${cut.cut}): ${why}`;
}

/**
 * The e-mail of a notification: Subject names the difusor and the cut; the body names the institute,
 * the difusor, the cut, what happened (codes in words), what to do and whom to call.
 */
export function emailFor(registry: Registry, n: Notification): EmailText {
  const difusor = registry.difusores.find((d) => d.id === n.difusor.id);
  const inst = instituteWords(registry.institute);
  const subject = `[PREP ${registry.institute}] ${subjectOf(n)}`;
  const contacts = difusor?.contacts ?? [];
  const desk = registry.contact ? contactText(registry.contact) : (registry.notify?.email?.to ?? []).join(', ');
  const details: string[] = [];
  if (n.missed_cuts?.length) {
    details.push('', 'Cortes que no recibió:', ...n.missed_cuts.map((c) => missedCutLine(c, registry.institute)));
  }
  if (n.event === 'blocked') {
    const missed = n.missed_cuts?.length ? `auto: missed ${n.missed_cuts.length} consecutive cuts` : '';
    const cause = { by: n.blocked_by ?? 'auto', reason: n.reason ?? missed, publicReason: n.public_reason };
    details.push('', `Motivo que el aviso en su portal muestra al público: «${withoutFinalStop(publicReasonOf(cause))}».`);
  }
  const lines = [
    instituteTitle(registry),
    'Programa de Resultados Electorales Preliminares (PREP)',
    '',
    `Difusor: ${n.difusor.name} (${n.difusor.id})${n.difusor.url ? `, ${n.difusor.url}` : ''}`,
    `Corte: ${n.cut === null ? 'sin corte todavía' : cutLine(registry, n.cut)}`,
    `Registrado el ${formatTime(n.time, registry)}`,
    '',
    `Qué pasó: ${n.message}`,
    ...details,
    '',
    `Qué hacer: ${todoOf(registry, n, inst)}`,
    '',
    'A quién llamar:',
    ...(contacts.length ? ['  Contactos del difusor:', ...contacts.map((c) => `  - ${contactText(c)}`)] : ['  (el registro no tiene contactos de este difusor)']),
    ...(desk ? [`  Mesa del PREP ${inst.del}: ${desk}`] : []),
    '',
    `Este mensaje lo envió automáticamente prep-push, el sistema con el que ${inst.el} entrega los cortes del PREP. ` +
      `No responda a este correo; para cualquier aclaración, comuníquese con la mesa del PREP ${inst.del}.`,
  ];
  return { subject, text: `${lines.join('\n')}\n` };
}

/** What to do: per failure code for `missed`, per outcome for `audit_failed`, else per kind. */
function todoOf(registry: Registry, n: Notification, inst: InstituteWords): string {
  const requirements = registry.requirements;
  const todo: Partial<Record<NotificationKind, string>> = {
    blocked:
      n.blocked_by === 'manual'
        ? `Comuníquese con ${inst.el} para conocer el motivo y los pasos para el desbloqueo. Mientras tanto, su portal debe mostrar el aviso de que ya no es un difusor válido, no resultados.`
        : `Corrija la falla y comuníquese con ${inst.el} para solicitar el desbloqueo. Mientras tanto, su portal debe mostrar el aviso de que ya no es un difusor válido, no resultados.`,
    recovered: 'No se requiere ninguna acción.',
    unblocked: 'Verifique que su portal vuelva a mostrar los resultados con el siguiente corte.',
    notice_published: `No modifique el aviso; se retirará cuando ${inst.el} lo desbloquee y le entregue de nuevo resultados.`,
    audit_failed: `Revise que su sitio sirva el último corte sin alteraciones y con los encabezados acordados, y avise ${inst.al} cuando lo haya corregido.`,
    probe_failed:
      `Corrija lo señalado antes de los simulacros (la convocatoria pide al menos ${requirements?.minFreeGb ?? 20} GB libres, ` +
      `${requirements?.minUploadMbS ?? 40} MB/s de subida por SFTP y permiso de escritura para la cuenta ${inst.del}) y pida ${inst.al} repetir la prueba.`,
  };
  if (n.event === 'missed') {
    const advice = `${capitalize(whatToDo(n.code ?? 'UNKNOWN', registry.institute))}.`;
    // The miss that blocked it in the same run: the blocked e-mail, sent with this one, says so.
    if (n.caused_block) return advice;
    return `${advice} Si la falla sigue hasta sumar ${registry.blockAfterMisses} cortes seguidos sin recibir, el difusor quedará bloqueado.`;
  }
  const auditAdvice = n.event === 'audit_failed' && n.code !== undefined ? auditTodo(n.code, registry.institute) : null;
  if (auditAdvice !== null) return `${capitalize(auditAdvice)}. Avise ${inst.al} cuando lo haya corregido.`;
  return todo[n.event] ?? `Comuníquese con ${inst.el} si necesita más información.`;
}
