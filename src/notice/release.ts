// The notice as a release folder (index.html + MANIFEST.json, no results) written under the state
// dir, and the interface through which a run places it on a difusor (site mode or a signed package).
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Difusor, Registry } from '../registry/types.js';
import { formatTime } from '../words/time.js';
import { DEFAULT_NOTICE_TEMPLATE, fillNoticeTemplate } from './template.js';
import type { NoticeDue } from './decide.js';
import { noticesDir } from '../core/state-dir.js';
import { NOTICE_MARK } from '../publish/layout.js';

export interface NoticeManifest {
  cut: { id: string; time: string };
  institute: string;
  /** Marks a release that holds the notice and no results. */
  notice: { difusor: string; since: string; reason: string };
  files: Array<{ path: string; size: number; sha256: string }>;
}

export interface NoticeRelease {
  /** Release name, e.g. `20240602_2040-aviso`: sorts right after the cut it replaces. */
  name: string;
  /** The folder to publish: index.html and MANIFEST.json, nothing else. */
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

/** The notice's HTML for a difusor: the registry's template, else the Spanish default. */
export function renderNotice(registry: Registry, due: NoticeDue, cut: string | null): string {
  return fillNoticeTemplate(registry.notice?.html ?? DEFAULT_NOTICE_TEMPLATE, {
    institute: registry.instituteName ?? registry.institute,
    institute_short: registry.institute,
    difusor: due.difusor.name,
    difusor_id: due.difusor.id,
    url: due.difusor.url ?? '',
    since: formatTime(due.since, registry.timezone),
    reason: noticeReason(due.reason),
    cut: cut ?? '',
  });
}

/** Automatic block reasons are English in the ledger; the public reads Spanish. */
export function noticeReason(reason: string): string {
  const auto = /^auto: missed (\d+) consecutive cuts$/.exec(reason);
  return auto ? `no recibió ${auto[1]} cortes consecutivos de resultados` : reason;
}

/** Writes `<stateDir>/notices/<id>/` afresh (index.html, MANIFEST.json) and describes it. */
export async function writeNoticeRelease(
  registry: Registry,
  stateDir: string,
  due: NoticeDue,
  cut: { id: string; time: string } | null,
): Promise<NoticeRelease> {
  const dir = path.join(noticesDir(stateDir), due.difusor.id);
  const html = Buffer.from(renderNotice(registry, due, cut?.id ?? null), 'utf8');
  const manifest: NoticeManifest = {
    cut: cut ?? { id: 'aviso', time: due.since },
    institute: registry.institute,
    notice: { difusor: due.difusor.id, since: due.since, reason: due.reason },
    files: [{ path: 'index.html', size: html.length, sha256: createHash('sha256').update(html).digest('hex') }],
  };
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'index.html'), html, { mode: 0o644 });
  await writeFile(path.join(dir, 'MANIFEST.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
  return { name: cut ? noticeReleaseName(cut.id) : 'aviso', sourceDir: dir, manifest };
}
