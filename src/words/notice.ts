// What the notice on a blocked difusor's portal tells the public as the reason. The reason typed at
// `block --reason` is the institute's note and never reaches the public; `--public-reason` does, and
// without it the public reads the Spanish default for the block's cause.
import { withFinalStop } from './sentence.js';

export interface BlockCause {
  by: 'auto' | 'manual';
  /** The ledger's reason: `auto: missed N consecutive cuts`, or the operator's note. */
  reason: string;
  publicReason?: string | null;
}

/** The public reason, as one sentence ending with a full stop. */
export function publicReasonOf(cause: BlockCause): string {
  if (cause.publicReason?.trim()) return withFinalStop(cause.publicReason);
  const missed = /^auto: missed (\d+) consecutive cuts$/.exec(cause.reason);
  if (cause.by === 'auto' || missed) {
    const n = missed ? `${missed[1]} cortes consecutivos` : 'varios cortes consecutivos';
    return `Este sitio no recibió ${n} de resultados, por lo que, conforme a la convocatoria, ya no es un difusor válido.`;
  }
  return 'Este sitio incumplió disposiciones de la convocatoria para los difusores del PREP, por lo que ya no es un difusor válido.';
}
