// The report's own Spanish vocabulary: the grid's cells, the portal's states, cut labels, decimal
// commas, times (failure codes, zones and plurals are in src/words/, shared with the e-mails).
import type { CellOutcome } from './model.js';
import type { PortalState } from './timeline.js';
import { localTimeInWords } from '../words/time.js';

/** Letter and label of each grid cell: a cell reads by its letter without colour too. */
export const CELL_LEGEND: Record<CellOutcome, { letter: string; label: string }> = {
  delivered: { letter: 'E', label: 'entregado' },
  late: { letter: 'T', label: 'entregado tarde, por un reenvío manual' },
  failed: { letter: 'F', label: 'fallido (corte perdido)' },
  blocked: { letter: 'B', label: 'bloqueado: no se le envió (corte no servido)' },
  disabled: { letter: 'D', label: 'deshabilitado (no cuenta)' },
  not_targeted: { letter: '·', label: 'no se le envió este corte' },
};

/** Each state of a difusor's portal, as its picture's legend and its shares name it. */
export const PORTAL_WORDS: Record<PortalState, string> = {
  current: 'resultados al día',
  failing: 'resultados atrasados (falló la entrega del último corte)',
  notice: 'aviso de suspensión en su portal',
  blocked: 'bloqueado, sin aviso todavía',
  none: 'sin datos (antes de su primer corte, o deshabilitado)',
};

/** `20240602_2020` → `02/06 20:20` (a cut's local day and time, as grid columns show it). */
export function cutLabel(id: string): string {
  return `${id.slice(6, 8)}/${id.slice(4, 6)} ${id.slice(9, 11)}:${id.slice(11, 13)}`;
}

/** Spanish decimal comma: 99.5 → `99,5`. */
export function decimal(value: number | null, digits = 1): string {
  return value === null ? '—' : value.toFixed(digits).replace('.', ',');
}

/**
 * `2024-06-02T21:00:30-06:00` → `2 de junio de 2024, 21:00:30` (`…, 21:00` on a whole minute); the offset is added only where it
 * differs from the report's (`zoneWords` ends with it: "hora del centro de México, UTC−06:00"), so
 * every time reads in the zone the report names once.
 */
export function timeInWords(zonedIso: string, zoneWords: string): string {
  // A cut's time is a whole minute: `20:00`, not `20:00:00`.
  const words = localTimeInWords(zonedIso.replace(/^(.{16}):00(?=[-+Z])/, '$1'));
  const offset = /\((UTC[^)]*)\)$/.exec(words);
  return offset && zoneWords.endsWith(offset[1]) ? words.slice(0, offset.index).trimEnd() : words;
}

/** `2024-06-02T21:00:30-06:00` → `21:00` (the picture's axis). */
export function clockTime(zonedIso: string): string {
  return zonedIso.slice(11, 16);
}
