// The report's Spanish vocabulary: error codes in words, cell outcomes, and times as people read them.
import type { CellOutcome } from '../report/model.js';

/** Each failure code of the contract, in words a difusor's staff and an auditor understand. */
export const ERROR_CODE_IN_WORDS: Record<string, string> = {
  HOST_KEY_MISMATCH: 'la llave del servidor no coincide con la registrada; posible cambio de servidor o suplantación',
  AUTH_FAILED: 'el servidor rechazó la autenticación; llave o usuario no autorizados',
  CONNECT_REFUSED: 'el servidor rechazó la conexión; servicio SSH detenido o puerto cerrado',
  CONNECT_TIMEOUT: 'el servidor no respondió a tiempo al conectar; firewall o servidor caído',
  HOST_UNREACHABLE: 'no se encontró el servidor o no hay ruta de red hacia él',
  PERMISSION_DENIED: 'sin permiso de escritura en la carpeta de destino',
  NO_SPACE: 'disco lleno o cuota agotada en el servidor del difusor',
  CONNECTION_LOST: 'la conexión se perdió durante la transferencia',
  TRANSFER_TIMEOUT: 'la transferencia no terminó dentro del tiempo límite; enlace lento o servidor congelado',
  VERIFY_FAILED: 'el archivo recibido no coincide en tamaño con el paquete',
  REMOTE_DIR_MISSING: 'la carpeta de destino no existe en el servidor del difusor',
  ROLLBACK_REFUSED: 'se rechazó publicar un corte anterior al vigente',
  SFTP_ERROR: 'el servidor rechazó una operación SFTP',
};

export function errorCodeInWords(code: string): string {
  return ERROR_CODE_IN_WORDS[code] ?? 'error no clasificado';
}

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

const MONTHS = ['enero', 'febrero', 'marzo', 'abril', 'mayo', 'junio', 'julio', 'agosto', 'septiembre', 'octubre', 'noviembre', 'diciembre'];

/** `2024-06-02T20:20:05-06:00` → `2 de junio de 2024, 20:20:05 (UTC−06:00)`. */
export function localTimeInWords(zonedIso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2}(?::\d{2})?)([+-]\d{2}:\d{2})$/.exec(zonedIso);
  if (!m) return zonedIso;
  const [, y, mo, d, clock, offset] = m;
  return `${Number(d)} de ${MONTHS[Number(mo) - 1]} de ${y}, ${clock} (UTC${offset.replace('-', '−')})`;
}

/** `20240602_2020` → `02/06 20:20` (a cut's local day and time, as grid columns show it). */
export function cutLabel(id: string): string {
  return `${id.slice(6, 8)}/${id.slice(4, 6)} ${id.slice(9, 11)}:${id.slice(11, 13)}`;
}

/** Spanish decimal comma: 99.5 → `99,5`. */
export function decimal(value: number | null, digits = 1): string {
  return value === null ? '—' : value.toFixed(digits).replace('.', ',');
}
