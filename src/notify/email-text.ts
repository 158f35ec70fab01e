// The Spanish words people read: each failure code in words with what to do about it, and the
// e-mail (Subject and body) of a notification. Pure: strings in, strings out.
import type { AuditOutcome } from '../audit/model.js';
import type { Notification, NotificationKind } from './events.js';
import type { Contact, Registry } from '../registry/types.js';

interface CodeWords {
  /** What happened, as a clause: "el servidor no respondió a tiempo". */
  what: string;
  /** What the difusor (or the institute's desk) should do. */
  todo: string;
}

const CODE_WORDS: Record<string, CodeWords> = {
  HOST_KEY_MISMATCH: {
    what: 'la llave del servidor no coincide con la registrada',
    todo: 'confirmen por teléfono con el Instituto si cambiaron o reinstalaron el servidor SFTP; si no, revisen que nadie intercepte la conexión',
  },
  AUTH_FAILED: {
    what: 'el servidor rechazó el acceso de la cuenta del Instituto',
    todo: 'revisen que la cuenta exista, esté habilitada y tenga instalada la llave pública del Instituto',
  },
  CONNECT_REFUSED: {
    what: 'el servidor rechazó la conexión (nada escucha en el puerto)',
    todo: 'revisen que el servicio SFTP esté encendido y escuche en el puerto acordado',
  },
  CONNECT_TIMEOUT: {
    what: 'el servidor no respondió a tiempo',
    todo: 'revisen que el servidor esté encendido, y que el cortafuegos permita la conexión desde la dirección del Instituto',
  },
  HOST_UNREACHABLE: {
    what: 'no se pudo llegar al servidor (nombre o red inalcanzable)',
    todo: 'revisen el nombre DNS, la dirección IP y la conexión a Internet del servidor',
  },
  PERMISSION_DENIED: {
    what: 'la cuenta del Instituto no tiene permiso de escribir en la carpeta de destino',
    todo: 'den permiso de escritura a la cuenta en la carpeta acordada',
  },
  NO_SPACE: {
    what: 'el disco del servidor está lleno',
    todo: 'liberen espacio en el disco (se requieren al menos 20 GB libres)',
  },
  CONNECTION_LOST: {
    what: 'la conexión se cortó durante el envío',
    todo: 'revisen la estabilidad de la red y del servicio SFTP',
  },
  TRANSFER_TIMEOUT: {
    what: 'el envío no terminó dentro del tiempo límite (conexión demasiado lenta)',
    todo: 'revisen el ancho de banda de subida del servidor (se requieren al menos 40 MB/s)',
  },
  VERIFY_FAILED: {
    what: 'el archivo recibido en el servidor no coincide con el enviado',
    todo: 'revisen el disco y el servicio SFTP del servidor',
  },
  REMOTE_DIR_MISSING: {
    what: 'la carpeta de destino no existe en el servidor',
    todo: 'creen la carpeta acordada con permiso de escritura para la cuenta del Instituto',
  },
  ROLLBACK_REFUSED: {
    what: 'el servidor ya tiene un corte más reciente que el enviado',
    todo: 'no se requiere acción del difusor; el Instituto revisará el envío',
  },
  SFTP_ERROR: {
    what: 'el servidor SFTP respondió con un error inesperado',
    todo: 'revisen los registros del servicio SFTP',
  },
};

const UNKNOWN_WORDS: CodeWords = {
  what: 'ocurrió un error no clasificado',
  todo: 'revisen el servidor y comuníquense con el Instituto',
};

/** The code in words, with the code itself for whoever searches logs: "el servidor no respondió a tiempo (CONNECT_TIMEOUT)". */
export function describeFailure(code: string): string {
  return `${(CODE_WORDS[code] ?? UNKNOWN_WORDS).what} (${code})`;
}

export function whatToDo(code: string): string {
  return (CODE_WORDS[code] ?? UNKNOWN_WORDS).todo;
}

/** Each failing audit outcome in words (what the public sees) and what the difusor should do. */
const AUDIT_WORDS: Record<Exclude<AuditOutcome, 'ok'>, CodeWords> = {
  stale: {
    what: 'su sitio público no muestra el último corte que se le entregó',
    todo: 'revisen que el sitio se sirva desde la carpeta donde el Instituto entrega los cortes y que ningún caché o CDN retenga una versión anterior',
  },
  tampered: {
    what: 'archivos de su sitio público no coinciden con los que entregó el Instituto (la información fue alterada)',
    todo: 'restauren los archivos tal como los entregó el Instituto (sin modificación alguna) y avisen al Instituto qué los cambió',
  },
  misconfigured: {
    what: 'su servidor web no envía los encabezados acordados (Cache-Control: no-cache, no-store, must-revalidate en json/main.json)',
    todo: 'configuren el servidor web para enviar esos encabezados en json/main.json',
  },
  unreachable: {
    what: 'no se pudo consultar su sitio público (sin respuesta, error del servidor o certificado TLS inválido)',
    todo: 'revisen que el sitio esté en línea en la dirección registrada y que su certificado TLS sea válido',
  },
};

/** The audit outcome in words, with the outcome itself: "su sitio público no muestra el último corte … (stale)". */
export function describeAuditOutcome(outcome: AuditOutcome): string {
  return outcome === 'ok' ? 'su sitio público sirve el último corte sin alteraciones (ok)' : `${AUDIT_WORDS[outcome].what} (${outcome})`;
}

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
  if (n.event === 'audit_failed' && n.code !== undefined && n.code in AUDIT_WORDS) {
    return `${capitalize(AUDIT_WORDS[n.code as keyof typeof AUDIT_WORDS].todo)}. ${TODO_OF.audit_failed}`;
  }
  return TODO_OF[n.event] ?? 'Comuníquense con el Instituto si necesitan más información.';
}

/** "2 de junio de 2024 a las 20:20 (America/Mexico_City)". */
export function formatTime(iso: string, timeZone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const text = new Intl.DateTimeFormat('es-MX', { dateStyle: 'long', timeStyle: 'short', timeZone, hourCycle: 'h23' }).format(date);
  return `${text} (${timeZone})`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
