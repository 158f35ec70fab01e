// Times as people read them, in Spanish: one home for every date shown in an e-mail, a page or the report.

/** "2 de junio de 2024 a las 20:20 (America/Mexico_City)". */
export function formatTime(iso: string, timeZone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const text = new Intl.DateTimeFormat('es-MX', { dateStyle: 'long', timeStyle: 'short', timeZone, hourCycle: 'h23' }).format(date);
  return `${text} (${timeZone})`;
}

const MONTHS = ['enero', 'febrero', 'marzo', 'abril', 'mayo', 'junio', 'julio', 'agosto', 'septiembre', 'octubre', 'noviembre', 'diciembre'];

/** `2024-06-02T20:20:05-06:00` → `2 de junio de 2024, 20:20:05 (UTC−06:00)`. */
export function localTimeInWords(zonedIso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2}(?::\d{2})?)([+-]\d{2}:\d{2})$/.exec(zonedIso);
  if (!m) return zonedIso;
  const [, y, mo, d, clock, offset] = m;
  return `${Number(d)} de ${MONTHS[Number(mo) - 1]} de ${y}, ${clock} (UTC${offset.replace('-', '−')})`;
}
