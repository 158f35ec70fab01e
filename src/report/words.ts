// The report's own Spanish vocabulary: the grid's cells, cut labels, decimal commas (failure codes
// and times are in src/words/, shared with the e-mails).
import type { CellOutcome } from './model.js';

/** Letter, label and colour role of each grid cell: a cell reads by its letter without colour too. */
export const CELL_LEGEND: Record<CellOutcome, { letter: string; label: string }> = {
  delivered: { letter: 'E', label: 'entregado' },
  late: { letter: 'T', label: 'entregado tarde (reenvío manual)' },
  failed: { letter: 'F', label: 'fallido (corte perdido)' },
  blocked: { letter: 'B', label: 'bloqueado (no se le envió)' },
  disabled: { letter: 'D', label: 'deshabilitado' },
  withdrawn: { letter: 'R', label: 'corte retirado' },
  not_targeted: { letter: '·', label: 'no se le envió este corte' },
};

/** `20240602_2020` → `02/06 20:20` (a cut's local day and time, as grid columns show it). */
export function cutLabel(id: string): string {
  return `${id.slice(6, 8)}/${id.slice(4, 6)} ${id.slice(9, 11)}:${id.slice(11, 13)}`;
}

/** Spanish decimal comma: 99.5 → `99,5`. */
export function decimal(value: number | null, digits = 1): string {
  return value === null ? '—' : value.toFixed(digits).replace('.', ',');
}
