// One difusor's audit: fetch its MANIFEST.json, compare it with the institute's copy, fetch and hash
// json/main.json, the files the cut changed and a sample of the rest, all within one hard deadline.
import type { LimitFunction } from 'p-limit';
import pLimit from 'p-limit';
import type { Clock } from '../core/clock.js';
import { roundSeconds } from '../core/duration.js';
import { FetchFailure, fileUrl, SiteClient } from './http.js';
import { fetchPipelined } from './pipelined.js';
import {
  checkCacheControl,
  checkServedFile,
  chooseFilesToCheck,
  compareManifest,
  MAIN_JSON,
  MANIFEST_PATH,
  outcomeOf,
  parseServedManifest,
  problemsOf,
  type BodyDigest,
  type FileAnswer,
  type Finding,
  type Manifest,
} from './model.js';
import { type AuditOutcome } from '../ledger/types.js';

/** A MANIFEST.json of 20,000 files is about 2.5 MB; anything past this is not one of ours. */
export const MANIFEST_MAX_BYTES = 64 * 1024 * 1024;
/**
 * Requests written ahead on one connection by the bulk (pipelined) path (topped up by half at a
 * time). 32 rather than 16: nginx reads twice as many requests per wake-up, and spent ~5-10 % less
 * CPU per audit of 20,000 files; with 8 connections that is 256 in flight, enough for a WAN.
 */
export const PIPELINE_DEPTH = 32;

export interface SiteAuditTarget {
  id: string;
  /** Ends with `/`. */
  url: string;
  /** The newest cut the ledger shows delivered to this difusor; null: none yet. */
  expectedCut: string | null;
  institute: string;
  /**
   * The institute's copies to compare with, still being read from the package store (which takes
   * a while for a large cut) as the site's MANIFEST.json is fetched.
   */
  copies: Promise<InstituteCopies>;
}

/** The institute's MANIFEST.json of the expected cut and of the cut before it, when in the store. */
export interface InstituteCopies {
  expected: Manifest | null;
  previous: Manifest | null;
}

export interface SiteAuditSettings {
  sample: number | 'all';
  timeoutS: number;
  /** Requests in flight to this site. */
  concurrency: number;
  extraCa?: Buffer;
}

export interface SiteAuditDeps {
  clock: Clock;
  /** Uniform in [0, 1): which unchanged files are sampled. */
  random: () => number;
  /** Shared by every site audited in the run: bounds the requests in flight overall. */
  overall: LimitFunction;
}

export interface SiteAuditResult {
  id: string;
  outcome: AuditOutcome;
  served_cut: string | null;
  expected_cut: string | null;
  problems: string[];
  /** Files of the served cut found altered or missing (their paths), for site mode never to reuse them. */
  altered: string[];
  /** Files fetched and hashed (MANIFEST.json not counted). */
  checked_files: number;
  seconds: number;
}

export async function auditSite(target: SiteAuditTarget, settings: SiteAuditSettings, deps: SiteAuditDeps): Promise<SiteAuditResult> {
  const started = deps.clock.monotonic();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), settings.timeoutS * 1000);
  const client = new SiteClient({
    siteUrl: target.url,
    extraCa: settings.extraCa,
    maxSockets: settings.concurrency,
    signal: deadline.signal,
    timeoutS: settings.timeoutS,
  });
  const perSite = pLimit(settings.concurrency);
  const get: SiteClient['get'] = (url, options) => perSite(() => deps.overall(() => client.get(url, options)));
  const findings: Finding[] = [];
  const notes: string[] = [];
  let servedCut: string | null = null;
  let checked = 0;
  // Awaited below whatever the site answers: a store that cannot be read fails the run as before.
  target.copies.catch(() => {});
  try {
    const examined = await examineSite(target, settings, { ...deps, deadline: deadline.signal }, get, findings, notes);
    servedCut = examined.servedCut;
    checked = examined.checked;
    await target.copies;
  } finally {
    clearTimeout(timer);
    client.close();
  }
  return {
    id: target.id,
    outcome: outcomeOf(findings),
    served_cut: servedCut,
    expected_cut: target.expectedCut,
    problems: [...problemsOf(findings), ...notes],
    altered: findings.flatMap((f) => (f.alteredPath === undefined ? [] : [f.alteredPath])),
    checked_files: checked,
    seconds: roundSeconds(deps.clock.monotonic() - started),
  };
}

type Get = SiteClient['get'];

async function examineSite(
  target: SiteAuditTarget,
  settings: SiteAuditSettings,
  deps: SiteAuditDeps & { deadline: AbortSignal },
  get: Get,
  findings: Finding[],
  notes: string[],
): Promise<{ servedCut: string | null; checked: number }> {
  const manifestUrl = fileUrl(target.url, MANIFEST_PATH);
  let served: Manifest;
  let servedDigest: BodyDigest;
  try {
    const answer = await get(manifestUrl, { maxBytes: MANIFEST_MAX_BYTES, keepBody: true });
    if (answer.status !== 200) {
      findings.push(
        answer.status >= 500
          ? { kind: 'unreachable', text: `${manifestUrl}: HTTP ${answer.status} (server error)` }
          : {
              kind: 'stale',
              text: `${manifestUrl}: HTTP ${answer.status}; the site serves no prep-push release there (its document root must be REMOTE_DIR/current)`,
            },
      );
      return { servedCut: null, checked: 0 };
    }
    if (answer.overCap) {
      findings.push({ kind: 'stale', text: `${manifestUrl}: more than ${MANIFEST_MAX_BYTES / 1024 / 1024} MiB, not a prep-push MANIFEST.json; refused` });
      return { servedCut: null, checked: 0 };
    }
    const parsed = parseServedManifest(manifestUrl, answer.body ?? Buffer.alloc(0), answer.headers['content-type']);
    if (!parsed.ok) {
      findings.push(parsed.finding);
      return { servedCut: null, checked: 0 };
    }
    served = parsed.manifest;
    servedDigest = parsed.digest;
  } catch (error) {
    findings.push({ kind: 'unreachable', text: describeFailure(error) });
    return { servedCut: null, checked: 0 };
  }

  const { expected, previous } = await target.copies;
  if (target.expectedCut === null) {
    findings.push({
      kind: 'stale',
      text: `the ledger shows no cut delivered to ${target.id} yet, so there is nothing to compare; it serves cut ${served.cut.id}`,
    });
    return { servedCut: served.institute === target.institute ? served.cut.id : null, checked: 0 };
  }
  const comparison = compareManifest(served, servedDigest, { institute: target.institute, cutId: target.expectedCut, manifest: expected });
  findings.push(...comparison.findings);
  if (expected === null) {
    // The institute's side, not the difusor's: said, but it does not change the outcome.
    notes.push(`the institute's package of cut ${target.expectedCut} is no longer in the package store; only the cut id and the headers were checked`);
  }

  const toCheck = comparison.checkFiles && expected ? chooseFilesToCheck(expected, previous, settings.sample, deps.random) : [];
  const checksMain = toCheck.some((c) => c.file.path === MAIN_JSON);
  let checked = 0;
  let timedOut = false;
  const checkOne = async (path: string, expected: { size: number; sha256: string } | null): Promise<void> => {
    let answer: FileAnswer;
    try {
      // One byte past the expected size is enough to know a file differs.
      const got = await get(fileUrl(target.url, path), { maxBytes: expected ? expected.size + 1 : 1 });
      if (path === MAIN_JSON && got.status === 200) {
        const header = got.headers['cache-control'];
        const finding = checkCacheControl(Array.isArray(header) ? header.join(', ') : header);
        if (finding) findings.push(finding);
      }
      if (expected === null) return;
      answer =
        got.status !== 200
          ? { kind: 'status', status: got.status }
          : got.overCap
            ? { kind: 'too-large', size: got.size }
            : { kind: 'body', sha256: got.sha256, size: got.size };
    } catch (error) {
      if (error instanceof FetchFailure && error.reason === 'timeout') {
        timedOut = true;
        return;
      }
      if (expected === null) return;
      answer = { kind: 'failed', reason: describeFailure(error) };
    }
    checked += 1;
    const finding = checkServedFile(path, { path, ...expected }, answer);
    if (finding) findings.push(finding);
  };
  // json/main.json is fetched for its Cache-Control even when its content cannot be compared.
  const checks = [checkOne(MAIN_JSON, checksMain ? (toCheck.find((c) => c.file.path === MAIN_JSON)?.file ?? null) : null)];
  // The rest in bulk, pipelined; what the bulk path cannot judge goes through checkOne.
  const bulk = toCheck.filter((c) => c.file.path !== MAIN_JSON);
  const answers = await fetchPipelined(
    target.url,
    bulk.map((c) => ({ target: encodePath(c.file.path), maxBytes: c.file.size })),
    { connections: settings.concurrency, depth: PIPELINE_DEPTH, extraCa: settings.extraCa, signal: deps.deadline },
  );
  bulk.forEach((c, i) => {
    const answer = answers[i];
    if (answer.kind === 'fallback') {
      checks.push(checkOne(c.file.path, c.file));
      return;
    }
    checked += 1;
    const served: FileAnswer =
      answer.kind === 'too-large'
        ? answer
        : answer.status !== 200
          ? { kind: 'status', status: answer.status }
          : { kind: 'body', sha256: answer.sha256, size: answer.size };
    const finding = checkServedFile(c.file.path, c.file, served);
    if (finding) findings.push(finding);
  });
  await Promise.all(checks);
  if (timedOut) {
    findings.push({
      kind: 'unreachable',
      text: `the audit deadline (audit.timeout_s: ${settings.timeoutS} s) passed after ${checked} of ${toCheck.length} files were checked`,
    });
  }
  return { servedCut: comparison.servedCut, checked };
}

/** Most PREP paths need no escaping (only characters encodeURIComponent keeps, and `/`): taken as they are. */
const PLAIN_PATH = /^[A-Za-z0-9\-_.!~*'()/]*$/;
function encodePath(path: string): string {
  return PLAIN_PATH.test(path) ? path : path.split('/').map(encodeURIComponent).join('/');
}

function describeFailure(error: unknown): string {
  return error instanceof FetchFailure ? error.message : `unexpected error: ${(error as Error)?.message ?? String(error)}`;
}
