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

/** Mexico's zones in the words the calls use; any other zone is named by its IANA name beside its offset. */
const ZONE_WORDS: Record<string, string> = {
  'America/Mexico_City': 'hora del centro de México',
  'America/Monterrey': 'hora del centro de México',
  'America/Merida': 'hora del centro de México',
  'America/Bahia_Banderas': 'hora del centro de México',
  'America/Cancun': 'hora del sureste de México',
  'America/Mazatlan': 'hora del Pacífico de México',
  'America/Hermosillo': 'hora del Pacífico de México',
  'America/Tijuana': 'hora del noroeste de México',
};

/** `UTC−06:00` at that instant in that zone (a true minus sign, as print does). */
export function utcOffsetInWords(timeZone: string, atMs: number): string {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(new Date(atMs)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const offset = name === 'GMT' ? '+00:00' : name.slice(3);
  return `UTC${offset.replace('-', '−')}`;
}

/**
 * The zone in words with its offset: "hora del centro de México, UTC−06:00" (never an IANA name
 * alone). `label` (the registry's `timezone_label`) replaces the words.
 */
export function zoneInWords(timeZone: string, atMs: number, label?: string): string {
  return `${label ?? ZONE_WORDS[timeZone] ?? `hora de ${timeZone}`}, ${utcOffsetInWords(timeZone, atMs)}`;
}
