// The notice as a release folder (index.html, json/main.json, MANIFEST.json; no results) written under the state
// dir, and the interface through which a run places it on a difusor (site mode or a signed package).
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Difusor, Registry } from '../registry/types.js';
import { formatLocalTime } from '../core/cut.js';
import type { NoticeValues } from '../registry/notice-placeholders.js';
import { instituteInFull, instituteTitle, instituteWords } from '../words/institute.js';
import { publicReasonOf } from '../words/notice.js';
import { withoutFinalStop } from '../words/sentence.js';
import { formatTime } from '../words/time.js';
import { defaultNotice, fillNoticeTemplate } from './template.js';
import type { NoticeDue } from './decide.js';
import { noticesDir } from '../core/state-dir.js';
import { NOTICE_MARK } from '../publish/layout.js';

export interface NoticeManifest {
  cut: { id: string; time: string };
  institute: string;
  /** Marks a release that holds the notice and no results; `reason` is the public one. */
  notice: { difusor: string; since: string; reason: string };
  files: Array<{ path: string; size: number; sha256: string }>;
}

export interface NoticeRelease {
  /** Release name, e.g. `20240602_2040-aviso`: sorts right after the cut it replaces. */
  name: string;
  /** The folder to publish: index.html, json/main.json and MANIFEST.json, nothing else. */
  sourceDir: string;
  manifest: NoticeManifest;
}

/**
 * Places a notice release on a difusor (src/notice/place.ts: a site release, or a signed package
 * for prep-apply); resolves once it is in place, throws otherwise.
 */
export interface NoticePublisher {
  publish(difusor: Difusor, release: NoticeRelease): Promise<void>;
}

export function noticeReleaseName(cutId: string): string {
  return `${cutId}${NOTICE_MARK}`;
}

/** Every value a notice shows (the placeholders of a template), for one difusor. */
export function noticeValues(registry: Registry, due: NoticeDue, cut: string | null): NoticeValues {
  const reason = publicReasonOf(due);
  const since = formatTime(due.since, registry);
  const institute = registry.instituteName ?? registry.institute;
  const listUrl = registry.publicList?.url ?? '';
  const where = [registry.instituteUrl, listUrl].filter(Boolean);
  const aviso =
    `${due.difusor.name} ya no es un difusor válido del PREP ${instituteWords(registry.institute).del}: ` +
    `desde el ${since}, ${instituteInFull(registry)} dejó de enviarle los resultados preliminares. Motivo: ${reason}` +
    (where.length ? ` Consulte los resultados en ${where.join(' y en ')}.` : '');
  return {
    institute,
    institute_short: registry.institute,
    difusor: due.difusor.name,
    difusor_id: due.difusor.id,
    url: due.difusor.url ?? '',
    since,
    // Templates write their own full stop after {{reason}}: never "..".
    reason: withoutFinalStop(reason),
    cut: cut ?? '',
    institute_url: registry.instituteUrl ?? '',
    list_url: listUrl,
    aviso,
  };
}

/** The notice's HTML for a difusor: the registry's template, else the Spanish default. */
export function renderNotice(registry: Registry, due: NoticeDue, cut: string | null): string {
  const values = noticeValues(registry, due, cut);
  if (registry.notice?.html !== undefined) return fillNoticeTemplate(registry.notice.html, values);
  return defaultNotice(values, { instituteTitle: instituteTitle(registry), instituteInFull: instituteInFull(registry), reasonSentence: publicReasonOf(due) });
}

/**
 * The notice's `json/main.json`: pages that embed the PREP read this file, so while blocked it says
 * so in data too. `desde` is ISO 8601 with the registry zone's offset.
 */
export function renderNoticeJson(registry: Registry, due: NoticeDue, cut: string | null): string {
  const doc = {
    aviso: noticeValues(registry, due, cut).aviso,
    difusor_valido: false,
    institute: registry.instituteName ?? registry.institute,
    desde: formatLocalTime(due.since, registry.timezone),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** The files of a notice release, in the order MANIFEST.json lists them. */
export const NOTICE_FILES = ['index.html', 'json/main.json'] as const;

/** Writes `<stateDir>/notices/<id>/` afresh (index.html, json/main.json, MANIFEST.json) and describes it. */
export async function writeNoticeRelease(
  registry: Registry,
  stateDir: string,
  due: NoticeDue,
  cut: { id: string; time: string } | null,
): Promise<NoticeRelease> {
  const dir = path.join(noticesDir(stateDir), due.difusor.id);
  const contents: Record<(typeof NOTICE_FILES)[number], Buffer> = {
    'index.html': Buffer.from(renderNotice(registry, due, cut?.id ?? null), 'utf8'),
    'json/main.json': Buffer.from(renderNoticeJson(registry, due, cut?.id ?? null), 'utf8'),
  };
  const manifest: NoticeManifest = {
    cut: cut ?? { id: 'aviso', time: due.since },
    institute: registry.institute,
    // MANIFEST.json is served with the release: it carries the public reason, never the internal one.
    notice: { difusor: due.difusor.id, since: due.since, reason: withoutFinalStop(publicReasonOf(due)) },
    files: NOTICE_FILES.map((file) => ({ path: file, size: contents[file].length, sha256: createHash('sha256').update(contents[file]).digest('hex') })),
  };
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'json'), { recursive: true, mode: 0o755 });
  for (const file of NOTICE_FILES) await writeFile(path.join(dir, file), contents[file], { mode: 0o644 });
  await writeFile(path.join(dir, 'MANIFEST.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
  return { name: cut ? noticeReleaseName(cut.id) : 'aviso', sourceDir: dir, manifest };
}
