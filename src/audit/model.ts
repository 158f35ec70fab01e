// src/audit/: checks from the outside that each difusor's public site serves its latest cut, unaltered, with the right headers. This file: the pure model.
// Every check turns what the site answered into findings; the outcome is the most serious finding
// (unreachable > stale > tampered > misconfigured > ok) and the problems list every finding.
import { createHash } from 'node:crypto';
import { isCutId } from '../core/cut.js';
import type { AuditOutcome } from '../ledger/types.js';
import type { ManifestFile } from '../package/manifest.js';

export type FindingKind = Exclude<AuditOutcome, 'ok'>;

export interface Finding {
  kind: FindingKind;
  /** Names the path or header and what was expected. */
  text: string;
  /** A file of the cut the site serves altered (or not at all): never reused at that difusor (site mode). */
  alteredPath?: string;
}

/** MANIFEST.json as prep-push writes it (more fields may follow). */
export interface Manifest {
  cut: { id: string; time: string };
  institute: string;
  files: ManifestFile[];
}

/**
 * What a problem may say about a response body: its size and SHA-256, never its bytes (a hostile
 * or hijacked server would otherwise get text of its choosing into the ledger and the e-mails).
 */
export interface BodyDigest {
  size: number;
  sha256: string;
}

/** Hex digits of a SHA-256 shown in problems. */
export const SHA_PREFIX_LENGTH = 16;

/** `MANIFEST.json (2345 bytes, SHA-256 0123456789abcdef…)`: how a problem names a body it will not quote. */
export function describeBody(name: string, body: BodyDigest): string {
  return `${name} (${body.size} bytes, SHA-256 ${body.sha256.slice(0, SHA_PREFIX_LENGTH)}…)`;
}

export function digestOf(body: Buffer): BodyDigest {
  return { size: body.length, sha256: createHash('sha256').update(body).digest('hex') };
}

/** Header values are the server's text too: quoted short, printable ASCII only. */
export function quoteHeader(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(printable.length > 80 ? `${printable.slice(0, 80)}…` : printable);
}

/** Most serious first. */
export const OUTCOME_PRECEDENCE: readonly FindingKind[] = ['unreachable', 'stale', 'tampered', 'misconfigured'];

export const MAIN_JSON = 'json/main.json';
export const MANIFEST_PATH = 'MANIFEST.json';
/** The calls (IEM 2021/2024, OPLEV 2021) require these on json/main.json. */
export const REQUIRED_CACHE_DIRECTIVES = ['no-cache', 'no-store', 'must-revalidate'] as const;
/** Problems listed per difusor at most; the rest are counted in one line. */
export const MAX_LISTED_PROBLEMS = 20;

export function outcomeOf(findings: readonly Finding[]): AuditOutcome {
  for (const kind of OUTCOME_PRECEDENCE) if (findings.some((f) => f.kind === kind)) return kind;
  return 'ok';
}

/** Every finding, most serious first (stable within a kind), capped at MAX_LISTED_PROBLEMS lines. */
export function problemsOf(findings: readonly Finding[]): string[] {
  const ordered = OUTCOME_PRECEDENCE.flatMap((kind) => findings.filter((f) => f.kind === kind).map((f) => f.text));
  if (ordered.length <= MAX_LISTED_PROBLEMS) return ordered;
  const shown = ordered.slice(0, MAX_LISTED_PROBLEMS - 1);
  return [...shown, `… and ${ordered.length - shown.length} more problems of the same kinds`];
}

// ---------------------------------------------------------------------------------------------
// MANIFEST.json

export type ManifestParse = { ok: true; manifest: Manifest; digest: BodyDigest } | { ok: false; finding: Finding };

function looksLikeHtml(text: string): boolean {
  return /^\s*<(!doctype|html|head|body|\?xml)/i.test(text);
}

function isManifest(value: unknown): value is Manifest {
  const m = value as Manifest;
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof m.cut === 'object' &&
    m.cut !== null &&
    typeof m.cut.id === 'string' &&
    // Problems and served_cut name it: only a well-formed cut id may come from the body.
    isCutId(m.cut.id) &&
    typeof m.cut.time === 'string' &&
    typeof m.institute === 'string' &&
    Array.isArray(m.files) &&
    m.files.every((f) => typeof f?.path === 'string' && typeof f.size === 'number' && typeof f.sha256 === 'string')
  );
}

/**
 * The served MANIFEST.json, read defensively: an HTML error page sent with status 200, or JSON of
 * another shape, means the site does not serve a prep-push release (stale: the public does not see
 * the cut). What it held is named by size and SHA-256, never quoted.
 */
export function parseServedManifest(url: string, body: Buffer, contentType: string | undefined): ManifestParse {
  const digest = digestOf(body);
  const text = body.toString('utf8');
  const type = contentType ? `Content-Type ${quoteHeader(contentType)}` : 'no Content-Type';
  const what = `${digest.size} bytes, SHA-256 ${digest.sha256.slice(0, SHA_PREFIX_LENGTH)}…`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const kind = looksLikeHtml(text) ? 'an HTML page' : 'not JSON';
    return {
      ok: false,
      finding: {
        kind: 'stale',
        text: `${url}: answered 200 with ${kind} (${type}, ${what}), not the release's MANIFEST.json; the web server's document root must be REMOTE_DIR/current`,
      },
    };
  }
  if (!isManifest(value)) {
    return {
      ok: false,
      finding: {
        kind: 'stale',
        text: `${url}: JSON that is not a prep-push MANIFEST.json (${what}; expected {"cut": {"id": YYYYMMDD_HHmm, "time"}, "institute", "files": [...]}); the web server's document root must be REMOTE_DIR/current`,
      },
    };
  }
  return { ok: true, manifest: value, digest };
}

export interface ManifestComparison {
  /** The cut the site serves; null when what it serves is not one of this institute's cuts. */
  servedCut: string | null;
  findings: Finding[];
  /** Whether the files can be checked against the institute's copy of the expected cut. */
  checkFiles: boolean;
}

/**
 * The served manifest against what the ledger expects. `expected` is the institute's copy of the
 * expected cut's MANIFEST.json (null when that package is no longer in the store). `digest` names
 * the served one in problems: besides its cut id (checked to be one), nothing of it is quoted.
 */
export function compareManifest(
  served: Manifest,
  digest: BodyDigest,
  expectation: { institute: string; cutId: string; manifest: Manifest | null },
): ManifestComparison {
  if (served.institute !== expectation.institute) {
    return {
      servedCut: null,
      checkFiles: false,
      findings: [
        {
          kind: 'stale',
          text: `${describeBody(MANIFEST_PATH, digest)} names another institute than "${expectation.institute}" (cut ${served.cut.id}): the site serves another publication; expected cut ${expectation.cutId}`,
        },
      ],
    };
  }
  const servedCut = served.cut.id;
  if (servedCut !== expectation.cutId) {
    const age = servedCut < expectation.cutId ? 'an older cut' : 'a cut newer than the ledger shows delivered';
    return {
      servedCut,
      checkFiles: false,
      findings: [
        {
          kind: 'stale',
          text: `serves cut ${servedCut} (${age}); expected ${expectation.cutId}, the newest cut delivered to it: check that current points to the newest release and that no cache or CDN holds an old copy`,
        },
      ],
    };
  }
  if (expectation.manifest === null) return { servedCut, checkFiles: false, findings: [] };
  return { servedCut, checkFiles: true, findings: manifestDifferences(served, digest, expectation.manifest) };
}

/** Paths, sizes and hashes named here are the institute's; of the served manifest only counts. */
function manifestDifferences(served: Manifest, digest: BodyDigest, expected: Manifest): Finding[] {
  const findings: Finding[] = [];
  const prefix = `${describeBody(MANIFEST_PATH, digest)} of cut ${expected.cut.id} differs from the institute's copy`;
  if (served.cut.time !== expected.cut.time) {
    findings.push({ kind: 'tampered', text: `${prefix}: another cut time than ${expected.cut.time}` });
  }
  const servedByPath = new Map(served.files.map((f) => [f.path, f]));
  const expectedPaths = new Set(expected.files.map((f) => f.path));
  for (const file of expected.files) {
    const other = servedByPath.get(file.path);
    if (!other) findings.push({ kind: 'tampered', text: `${prefix}: ${file.path} is missing from it` });
    else if (other.sha256 !== file.sha256 || other.size !== file.size) {
      findings.push({ kind: 'tampered', text: `${prefix}: ${file.path} is listed with another size or SHA-256` });
    }
  }
  const extra = served.files.filter((f) => !expectedPaths.has(f.path)).length;
  if (extra > 0) findings.push({ kind: 'tampered', text: `${prefix}: it lists ${extra} file${extra === 1 ? '' : 's'} the cut does not have` });
  return findings;
}

// ---------------------------------------------------------------------------------------------
// Files and headers

/** What fetching one file gave, as the edge reports it. */
export type FileAnswer =
  | { kind: 'body'; sha256: string; size: number }
  /** The body passed the cap (the expected size): no need to read the rest to know it differs. */
  | { kind: 'too-large'; size: number }
  | { kind: 'status'; status: number }
  | { kind: 'failed'; reason: string };

export function checkServedFile(path: string, expected: ManifestFile, answer: FileAnswer): Finding | null {
  switch (answer.kind) {
    case 'body':
      if (answer.sha256 === expected.sha256 && answer.size === expected.size) return null;
      return {
        kind: 'tampered',
        text: `${path}: served ${answer.size} bytes with SHA-256 ${answer.sha256.slice(0, 16)}…, expected ${expected.size} bytes with ${expected.sha256.slice(0, 16)}… (altered)`,
        alteredPath: path,
      };
    case 'too-large':
      return { kind: 'tampered', text: `${path}: served more than the ${expected.size} bytes the cut has (altered)`, alteredPath: path };
    case 'status':
      if (answer.status >= 500) return { kind: 'unreachable', text: `${path}: HTTP ${answer.status} (server error)` };
      return { kind: 'tampered', text: `${path}: HTTP ${answer.status}; the cut has this file (${expected.size} bytes), the site does not serve it`, alteredPath: path };
    case 'failed':
      return { kind: 'unreachable', text: `${path}: ${answer.reason}` };
  }
}

/** The Cache-Control of json/main.json must forbid caching, or the public may see an old cut. */
export function checkCacheControl(header: string | undefined): Finding | null {
  const directives = (header ?? '')
    .toLowerCase()
    .split(',')
    .map((d) => d.trim().split('=')[0]);
  const missing = REQUIRED_CACHE_DIRECTIVES.filter((d) => !directives.includes(d));
  if (missing.length === 0) return null;
  const got = header === undefined ? 'no Cache-Control header' : `Cache-Control ${quoteHeader(header)}`;
  return {
    kind: 'misconfigured',
    text: `${MAIN_JSON}: ${got}, lacking ${missing.join(', ')}; the calls require "Cache-Control: no-cache, no-store, must-revalidate" on it`,
  };
}

// ---------------------------------------------------------------------------------------------
// Which files to check

export type CheckReason = 'main' | 'changed' | 'sample';

export interface FileToCheck {
  file: ManifestFile;
  reason: CheckReason;
}

/**
 * json/main.json, every file that changed in this cut (new, or another SHA-256 than in the previous
 * cut; with no previous cut, every file), and `sample` of the rest chosen with `random` (or all).
 */
export function chooseFilesToCheck(
  expected: Manifest,
  previous: Manifest | null,
  sample: number | 'all',
  random: () => number,
): FileToCheck[] {
  const before = previous ? new Map(previous.files.map((f) => [f.path, f.sha256])) : null;
  const chosen: FileToCheck[] = [];
  const rest: ManifestFile[] = [];
  for (const file of expected.files) {
    if (file.path === MAIN_JSON) chosen.push({ file, reason: 'main' });
    else if (before === null || before.get(file.path) !== file.sha256) chosen.push({ file, reason: 'changed' });
    else rest.push(file);
  }
  const count = sample === 'all' ? rest.length : Math.min(sample, rest.length);
  // Partial Fisher–Yates: the first `count` places end up a uniform sample.
  for (let i = 0; i < count; i += 1) {
    const j = i + Math.floor(random() * (rest.length - i));
    [rest[i], rest[j]] = [rest[j], rest[i]];
    chosen.push({ file: rest[i], reason: 'sample' });
  }
  return chosen;
}

// ---------------------------------------------------------------------------------------------
// What the outcome means for the rest of prep-push

/** Under `audit.counts_as_miss`, a site that does not serve the cut is a miss; a header problem never is. */
export function auditCountsAsMiss(outcome: AuditOutcome, countsAsMiss: boolean): boolean {
  return countsAsMiss && (outcome === 'stale' || outcome === 'unreachable' || outcome === 'tampered');
}

/** Whether a difusor's audit outcome differs from its previous one (none yet counts as ok). */
export function auditOutcomeChanged(previous: AuditOutcome | null, next: AuditOutcome): boolean {
  return (previous ?? 'ok') !== next;
}

/** For the notifier: an `audit_failed` event goes out once per change to a failing outcome. */
export function isNewAuditFailure(previous: AuditOutcome | null, next: AuditOutcome): boolean {
  return next !== 'ok' && auditOutcomeChanged(previous, next);
}

/** 0 when every audited difusor is ok (or none was audited), else 1. */
export function exitCodeOfAudit(results: ReadonlyArray<{ outcome: AuditOutcome }>): 0 | 1 {
  return results.every((r) => r.outcome === 'ok') ? 0 : 1;
}
