// Each audit outcome in Spanish words (what the public sees) and what the difusor should do, in
// usted, naming the institute with its article ("el IEM").
import type { AuditOutcome } from '../ledger/types.js';
import { instituteWords, type InstituteWords } from './institute.js';

interface OutcomeWords {
  what: (i: InstituteWords) => string;
  todo: (i: InstituteWords) => string;
}

const AUDIT_WORDS: Record<Exclude<AuditOutcome, 'ok'>, OutcomeWords> = {
  stale: {
    what: () => 'su sitio público no muestra el último corte que se le entregó',
    todo: (i) => `revise que el sitio se sirva desde la carpeta donde ${i.el} entrega los cortes y que ningún caché o CDN retenga una versión anterior`,
  },
  tampered: {
    what: (i) => `archivos de su sitio público no coinciden con los que entregó ${i.el}: la información fue alterada`,
    todo: (i) => `restaure los archivos tal como los entregó ${i.el}, sin modificación alguna, y avise ${i.al} qué los cambió`,
  },
  misconfigured: {
    what: () => 'su servidor web no envía en json/main.json el encabezado acordado, Cache-Control: no-cache, no-store, must-revalidate',
    todo: () => 'configure el servidor web para enviar ese encabezado en json/main.json',
  },
  unreachable: {
    what: () => 'no se pudo consultar su sitio público: no respondió, respondió con un error o su certificado TLS no es válido',
    todo: () => 'revise que el sitio esté en línea en la dirección registrada y que su certificado TLS sea válido',
  },
};

/** The audit outcome in words, with the outcome itself: "su sitio público no muestra el último corte … (stale)". */
export function describeAuditOutcome(outcome: AuditOutcome, institute?: string): string {
  if (outcome === 'ok') return 'su sitio público sirve el último corte sin alteraciones (ok)';
  return `${AUDIT_WORDS[outcome].what(instituteWords(institute))} (${outcome})`;
}

/** What to do about a failing audit outcome; null for `ok` or an unknown word. */
export function auditTodo(outcome: string, institute?: string): string | null {
  return outcome in AUDIT_WORDS ? AUDIT_WORDS[outcome as keyof typeof AUDIT_WORDS].todo(instituteWords(institute)) : null;
}
