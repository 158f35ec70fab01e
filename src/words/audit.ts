// Each audit outcome in Spanish words (what the public sees) and what the difusor should do.
import type { AuditOutcome } from '../ledger/types.js';

interface OutcomeWords {
  what: string;
  todo: string;
}

const AUDIT_WORDS: Record<Exclude<AuditOutcome, 'ok'>, OutcomeWords> = {
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

/** What to do about a failing audit outcome; null for `ok` or an unknown word. */
export function auditTodo(outcome: string): string | null {
  return outcome in AUDIT_WORDS ? AUDIT_WORDS[outcome as keyof typeof AUDIT_WORDS].todo : null;
}
