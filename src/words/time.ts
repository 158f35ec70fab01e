// Times as people read them, in Spanish: one home for every date shown in an e-mail, a page or the report.
// The zone is named in words with its offset on that date ("hora del centro de México, UTC−06:00"),
// never only as an IANA name; the registry's `timezone_label` replaces the words.
import { formatLocalTime } from '../core/cut.js';
import type { Registry } from '../registry/types.js';

/** What names a zone for people: the registry's `timezone` and, when set, its `timezone_label`. */
export type ZoneOf = Pick<Registry, 'timezone' | 'timezoneLabel'>;

const CENTRO = 'hora del centro de México';

/** Mexico's zones in the words of its official time law; other zones fall back to their city's name. */
const ZONE_WORDS: Record<string, string> = {
  'America/Mexico_City': CENTRO,
  'America/Monterrey': CENTRO,
  'America/Merida': CENTRO,
  'America/Matamoros': CENTRO,
  'America/Bahia_Banderas': CENTRO,
  'America/Chihuahua': CENTRO,
  'America/Cancun': 'hora del sureste de México',
  'America/Mazatlan': 'hora del Pacífico de México',
  'America/Hermosillo': 'hora del Pacífico de México',
  'America/Tijuana': 'hora del noroeste de México',
  UTC: 'tiempo universal coordinado',
  'Etc/UTC': 'tiempo universal coordinado',
};

/** The zone's words without the offset: the label, the known name, else "hora de <city>". */
export function zoneName(zone: ZoneOf): string {
  if (zone.timezoneLabel) return zone.timezoneLabel;
  const known = ZONE_WORDS[zone.timezone];
  if (known) return known;
  const city = zone.timezone.split('/').pop() ?? zone.timezone;
  return `hora de ${city.replace(/_/g, ' ')}`;
}

/** `UTC−06:00` (with a true minus sign) for the zone's offset at that instant. */
export function utcOffset(instant: string | number, timeZone: string): string {
  const local = formatLocalTime(instant, timeZone);
  const offset = /([+-]\d{2}:\d{2})$/.exec(local)?.[1] ?? '+00:00';
  return `UTC${offset.replace('-', '\u2212')}`;
}

/** `hora del centro de México, UTC−06:00`: the zone in words with its offset on that date. */
export function zoneInWords(instant: string | number, zone: ZoneOf): string {
  return `${zoneName(zone)}, ${utcOffset(instant, zone.timezone)}`;
}

/** "2 de junio de 2024 a las 20:20 (hora del centro de México, UTC−06:00)". */
export function formatTime(iso: string, zone: ZoneOf): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const text = new Intl.DateTimeFormat('es-MX', { dateStyle: 'long', timeStyle: 'short', timeZone: zone.timezone, hourCycle: 'h23' }).format(date);
  return `${text} (${zoneInWords(iso, zone)})`;
}

const MONTHS = ['enero', 'febrero', 'marzo', 'abril', 'mayo', 'junio', 'julio', 'agosto', 'septiembre', 'octubre', 'noviembre', 'diciembre'];

/**
 * A cut id (`YYYYMMDD_HHmm`, already local time) as a person says it: "las 20:20 del 2 de junio",
 * or with the year; the id itself when it is not one.
 */
export function cutInWords(cutId: string, options: { year?: boolean } = {}): string {
  const m = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})$/.exec(cutId);
  if (!m) return cutId;
  const [, y, mo, d, h, mi] = m;
  return `las ${h}:${mi} del ${Number(d)} de ${MONTHS[Number(mo) - 1]}${options.year ? ` de ${y}` : ''}`;
}

/** `2024-06-02T20:20:05-06:00` → `2 de junio de 2024, 20:20:05 (UTC−06:00)`. */
export function localTimeInWords(zonedIso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2}(?::\d{2})?)([+-]\d{2}:\d{2})$/.exec(zonedIso);
  if (!m) return zonedIso;
  const [, y, mo, d, clock, offset] = m;
  return `${Number(d)} de ${MONTHS[Number(mo) - 1]} de ${y}, ${clock} (UTC${offset.replace('-', '−')})`;
}
