// Orchestrates a cut (build → plan → deliver → record → block) and a manual push (find the stored
// package → plan → deliver → record → block). Everything with a side effect is passed in or lives
// behind the ledger/package/delivery modules; the decisions are the pure functions they call.
//
// Start-up is part of every push's wall time (figure 5 of the benchmark counts the whole process):
// what only a cut (building, signing), a site-mode difusor (the extracted site) or the end of the
// run (notifications, public list, notices) needs is imported where it is used, not before the
// first connection. The follow-up's modules load while the deliveries run.
import type { DeliveryAuditor } from '../audit/after-delivery.js';
import { auditCountsAsMiss } from '../audit/model.js';
import { roundSeconds } from '../core/duration.js';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import type { Cut } from '../core/cut.js';
import { cutFromId, formatLocalTime } from '../core/cut.js';
import { PrepPushError } from '../core/errors.js';
import { traceMark } from '../core/trace.js';
import { deliverToAll } from '../delivery/deliver.js';
import type { SftpTransport } from '../sftp/session.js';
import { readPackageSha256, resultStrategies, usesSite, type ResultsInput } from '../delivery/modes/index.js';
import type { SitePlan } from '../delivery/modes/strategy.js';
import { withdrawnListText, type SignedWithdrawnList } from '../delivery/modes/withdrawn.js';
import type { DeliveryResult } from '../delivery/types.js';
import { openJournal, readJournal } from '../ledger/journal.js';
import type { Journal, JournalContents } from '../ledger/journal.js';
import { acquireLock } from '../ledger/lock.js';
import { cutLatestMustName, deriveLedgerState, isWithdrawn } from '../ledger/rules.js';
import { LedgerRecorder } from '../ledger/recorder.js';
import type { LedgerEvent, LedgerState } from '../ledger/types.js';
import { packageExtrasFor } from '../delivery/modes/package-choice.js';
import { findStoredPackage, listStoredPackages } from '../package/store.js';
import type { BuiltPackage } from '../package/types.js';
import type { Registry } from '../registry/types.js';
import { assertKnownIds, difusoresHoldingCut, planTargets } from './plan.js';
import type { DeliveryPlanTargets, PlannedSkip } from './plan.js';
import { exitCodeOfRun } from './report.js';
import type { ReportResult, RunReport } from './report.js';
import { packageStoreDir, stateDirExists } from '../core/state-dir.js';
import { writeRunReport } from './report.js';
import { checkCutTime } from './time-guard.js';
import { checkPublicationWindow } from './publication-window.js';
import type { NoticePublisher } from '../notice/release.js';
import type { NotifyChannel } from '../notify/channel.js';
import type { FollowUpReport } from './follow-up.js';

export interface RunDeps {
  clock: Clock;
  env: NodeJS.ProcessEnv;
  transport: SftpTransport;
  /** Aborted on SIGINT/SIGTERM: no new difusor is started, in-flight ones end within their deadline. */
  signal?: AbortSignal;
  onProgress?: (event: RunProgress) => void;
  /** Places the notice on blocked difusores (wired by the publishing layer); absent: notices wait. */
  noticePublisher?: NoticePublisher;
  /** Replaces the registry's notification channels (tests). */
  notifyChannels?: NotifyChannel[];
  /** `--audit`: audit each difusor's public site right after its delivery. */
  audit?: DeliveryAuditor;
}

export type RunProgress =
  | { type: 'package'; pkg: BuiltPackage }
  | { type: 'plan'; targets: string[]; skipped: PlannedSkip[] }
  | { type: 'result'; result: ReportResult }
  | { type: 'blocked'; id: string; reason: string }
  | { type: 'warning'; message: string }
  | { type: 'audit'; id: string; audit: NonNullable<ReportResult['audit']> };

export interface CutRequest {
  registry: Registry;
  stateDir: string;
  sourceDir: string;
  cut: Cut;
  only?: string[];
  /** Accept a cut more than `max_future_minutes` ahead of the clock. */
  allowFuture?: boolean;
  /** Accept a cut older than the newest one in the ledger (LATEST keeps naming the newest). */
  allowOlder?: boolean;
  /** `--drill`: a drill (simulacro), allowed before `publication.from`, recorded and marked as one. */
  drill?: boolean;
}

export interface PushRequest {
  registry: Registry;
  stateDir: string;
  /** Default: the newest package in the store. */
  cutId?: string;
  only?: string[];
  /** Only difusores that do not have the cut yet. */
  failed?: boolean;
  /** Site mode: let `current` move back to this older cut (`--allow-rollback`). */
  allowRollback?: boolean;
  /** `--drill`: a drill (simulacro), allowed before `publication.from`. */
  drill?: boolean;
}

export interface DryRunPlan {
  dry_run: true;
  cut: { id: string; time: string };
  /** `--drill`: the cut would be recorded as a drill. */
  drill: boolean;
  /** The source folder as the build would read it (scanned, not read). */
  source: { dir: string; files: number };
  package: { file: string };
  targets: string[];
  skipped: PlannedSkip[];
}

/**
 * `cut --dry-run`: what a cut would do, computed from the registry and the ledger; touches nothing.
 * The source folder is scanned, so a missing folder or a symlink fails here as it would in the cut.
 */
export async function planCut(request: CutRequest, clock: Clock = systemClock): Promise<DryRunPlan> {
  if (request.only) assertKnownIds(request.only, request.registry.difusores, '--only');
  const { events } = await readJournal(request.stateDir);
  const ledger = deriveLedgerState(events);
  checkCutTime(cutTimeCheck(request, clock), ledger);
  checkPublicationWindow(windowCheck(request.registry, 'cut', request.drill, clock));
  const { scanSource } = await import('../package/source-scan.js');
  const { packageFileName } = await import('../package/build-package.js');
  const { fileCount } = scanSource(request.sourceDir);
  const plan = planTargets(request.registry.difusores, ledger, { only: request.only, timeZone: request.registry.timezone });
  return {
    dry_run: true,
    cut: { id: request.cut.id, time: request.cut.time },
    drill: Boolean(request.drill),
    source: { dir: request.sourceDir, files: fileCount },
    package: { file: packageFileName(request.registry.package.name, request.cut.id, request.registry.package.format) },
    targets: plan.targets.map((d) => d.id),
    skipped: plan.skipped,
  };
}

export async function runCut(request: CutRequest, deps: RunDeps): Promise<RunReport> {
  // A typo in --only is a usage error before anything is locked, built or sent.
  if (request.only) assertKnownIds(request.only, request.registry.difusores, '--only');
  // Before the publication window opens, nothing is published unless it is a drill.
  const late = checkPublicationWindow(windowCheck(request.registry, 'cut', request.drill, deps.clock));
  if (late !== null) deps.onProgress?.({ type: 'warning', message: late });
  const lock = await acquireLock(request.stateDir, { command: 'cut', timeZone: request.registry.timezone });
  try {
    // Read once, under the lock: nothing else writes it until the run journals its outcomes.
    const journalRead = await readJournal(request.stateDir);
    // A typo in --cut (the wrong year) is refused before anything is built or sent.
    checkCutTime(cutTimeCheck(request, deps.clock), deriveLedgerState(journalRead.events));
    const { buildPackage } = await import('../package/build-package.js');
    const { packageSigningOptions } = await import('../signing/load-signing-key.js');
    const pkg = await buildPackage({
      sourceDir: request.sourceDir,
      cut: request.drill ? { ...request.cut, drill: true } : request.cut,
      institute: request.registry.institute,
      nameTemplate: request.registry.package.name,
      format: request.registry.package.format,
      storeDir: packageStoreDir(request.stateDir),
      ...(await packageSigningOptions(request.registry, deps.env)),
    });
    return await deliverAndRecord(
      {
        kind: CUT_RUN,
        registry: request.registry,
        stateDir: request.stateDir,
        journalRead,
        pkg,
        drill: Boolean(request.drill),
        selection: { only: request.only, allowOlder: request.allowOlder },
      },
      deps,
    );
  } finally {
    await lock.release();
  }
}

function windowCheck(registry: Registry, command: 'cut' | 'push', drill: boolean | undefined, clock: Clock) {
  return { publication: registry.publication, nowMs: clock.now(), timeZone: registry.timezone, command, drill: Boolean(drill) };
}

function cutTimeCheck(request: CutRequest, clock: Clock) {
  return {
    cut: request.cut,
    nowMs: clock.now(),
    timeZone: request.registry.timezone,
    maxFutureMinutes: request.registry.maxFutureMinutes,
    allowFuture: Boolean(request.allowFuture),
    allowOlder: Boolean(request.allowOlder),
  };
}

export async function runPush(request: PushRequest, deps: RunDeps): Promise<RunReport> {
  if (request.only) assertKnownIds(request.only, request.registry.difusores, '--only');
  checkPublicationWindow(windowCheck(request.registry, 'push', request.drill, deps.clock));
  // Nothing was ever built here: say so without creating an empty state dir.
  if (!(await stateDirExists(request.stateDir))) {
    throw new PrepPushError('usage', `no package has been built yet: the state dir ${request.stateDir} does not exist`, {
      hint: 'run `prep-push cut --source DIR` first (or pass --state-dir / --config for the ledger you mean)',
    });
  }
  const lock = await acquireLock(request.stateDir, { command: 'push', timeZone: request.registry.timezone });
  traceMark('lock taken');
  try {
    // Read once, under the lock (a long election night's journal is thousands of lines).
    const journalRead = await readJournal(request.stateDir);
    const pkg = await findPackageToPush(request, deriveLedgerState(journalRead.events));
    traceMark('stored package found and checked');
    return await deliverAndRecord(
      {
        kind: PUSH_RUN,
        registry: request.registry,
        stateDir: request.stateDir,
        journalRead,
        pkg,
        drill: Boolean(request.drill),
        selection: { only: request.only, missingCut: request.failed ? pkg.cutId : undefined, allowRollback: request.allowRollback },
      },
      deps,
    );
  } finally {
    await lock.release();
  }
}

async function findPackageToPush(request: PushRequest, ledger: LedgerState): Promise<BuiltPackage> {
  const storeDir = packageStoreDir(request.stateDir);
  if (request.cutId === undefined) {
    // The newest stored cut that was not withdrawn: after `retract`, pushing it moves LATEST back.
    const stored = (await listStoredPackages(storeDir)).filter((p) => !isWithdrawn(ledger, p.cutId));
    const latest = stored[stored.length - 1];
    if (!latest) {
      throw new PrepPushError('usage', `no package has been built yet in ${storeDir}`, {
        hint: 'run `prep-push cut --source DIR` (or `prep-push build --source DIR`) first',
      });
    }
    return latest;
  }
  cutFromId(request.cutId, request.registry.timezone); // validates the id's shape
  if (isWithdrawn(ledger, request.cutId)) {
    const w = ledger.withdrawn[request.cutId];
    throw new PrepPushError(
      'usage',
      `--cut ${request.cutId}: that cut was withdrawn at ${formatLocalTime(w.at, request.registry.timezone)} (${w.reason})`,
      { hint: 'push without --cut to deliver the newest cut not withdrawn' },
    );
  }
  const pkg = await findStoredPackage(storeDir, request.cutId);
  if (!pkg) {
    const known = (await listStoredPackages(storeDir)).map((p) => p.cutId);
    throw new PrepPushError('usage', `--cut ${request.cutId}: no package for that cut in ${storeDir}`, {
      hint: known.length
        ? `stored cuts: ${known.slice(-5).join(', ')}; build it with \`prep-push build --source DIR --cut TIME\``
        : 'build it first with `prep-push build --source DIR --cut TIME`',
    });
  }
  return pkg;
}

/** How a cut and a push differ in the flow they share: chosen once, by runCut and runPush. */
interface RunKind {
  command: 'cut' | 'push';
  /** A cut journals its `cut` event; a push re-delivers a cut already journaled. */
  recordsCut: boolean;
  /** A push that targets nobody stops and says why; a cut records its skips all the same. */
  stopsWhenNobodyIsTargeted: boolean;
}

const CUT_RUN: RunKind = { command: 'cut', recordsCut: true, stopsWhenNobodyIsTargeted: false };
const PUSH_RUN: RunKind = { command: 'push', recordsCut: false, stopsWhenNobodyIsTargeted: true };

interface RunInput {
  kind: RunKind;
  registry: Registry;
  stateDir: string;
  /** The journal as read under the lock. */
  journalRead: JournalContents;
  pkg: BuiltPackage;
  /** `--drill`: a cut run journals its cut as a drill; the report says so. */
  drill: boolean;
  selection: { only?: string[]; missingCut?: string; allowRollback?: boolean; allowOlder?: boolean };
}

interface RunPlan extends DeliveryPlanTargets {
  /** `--only` named these blocked or disabled difusores: not pushed, and the run says so (exit 1). */
  refused: PlannedSkip[];
}

/**
 * The part a cut and a push share, as named phases: plan the targets from the ledger → prepare what
 * is delivered → record the skips → deliver, journaling every outcome (and any block it causes) as
 * it arrives, so a crash loses nothing already reported → follow up → report.
 */
async function deliverAndRecord(run: RunInput, deps: RunDeps): Promise<RunReport> {
  const startedAt = deps.clock.now();
  const startedMono = deps.clock.monotonic();
  for (const message of run.journalRead.warnings) deps.onProgress?.({ type: 'warning', message });
  const journal = await openJournal(run.stateDir);
  const recorder = new LedgerRecorder(
    journal,
    deriveLedgerState(run.journalRead.events),
    run.registry.blockAfterMisses,
    () => isoAt(deps.clock),
    (id, reason) => deps.onProgress?.({ type: 'blocked', id, reason }),
  );
  try {
    const plan = await planRun(run, recorder);
    if (plan.targets.length === 0 && run.kind.stopsWhenNobodyIsTargeted) {
      return { ...nothingToPush(run.pkg, plan.refused, plan.skipped, startedAt), drill: run.drill };
    }
    deps.onProgress?.({ type: 'package', pkg: run.pkg });
    deps.onProgress?.({ type: 'plan', targets: plan.targets.map((d) => d.id), skipped: plan.skipped });
    const toDeliver = await prepareDelivery(run, plan, recorder, deps);
    const results = await recordSkips(run, plan, recorder, deps);
    await deliverAndJournal(run, plan, toDeliver, recorder, results, deps);
    const followUp = await followUpOutcomes(run, journal, recorder, deps);
    return await reportRun(run, plan, { results, recorder, followUp, startedAt, startedMono }, deps);
  } finally {
    await journal.close();
  }
}

/** Plan: who gets the cut, after blocking whoever a killed run left over the limit. */
async function planRun(run: RunInput, recorder: LedgerRecorder): Promise<RunPlan> {
  const { registry, selection } = run;
  // A run killed between an outcome and its block left a difusor over the limit but not blocked:
  // block it before planning, so it is not targeted.
  await recorder.blockWhoeverReachedTheLimit(registry.difusores.map((d) => d.id));
  const holding = selection.missingCut ? difusoresHoldingCut(run.journalRead.events, selection.missingCut) : new Set<string>();
  const plan = planTargets(registry.difusores, recorder.state, { ...selection, timeZone: registry.timezone }, holding);
  traceMark('journal read, targets planned');
  const refused = selection.only ? plan.skipped.filter((k) => k.reason === 'blocked' || k.reason === 'disabled') : [];
  return { ...plan, refused };
}

/**
 * Prepare, before anything is recorded: the package's `.sha256`, signature and deltas, and the site
 * (a package that cannot be extracted stops the run with nothing pushed).
 */
async function prepareDelivery(run: RunInput, plan: RunPlan, recorder: LedgerRecorder, deps: RunDeps): Promise<ResultsInput> {
  const { registry, stateDir, pkg, selection } = run;
  const site = plan.targets.some((d) => usesSite(d.delivery))
    ? await sitePlanFor(
        stateDir,
        pkg,
        run.journalRead.events,
        registry,
        // After `retract`, the newest cut not withdrawn is what `current` must name, even though it
        // is older than the withdrawn one a difusor shows: the one move back without --allow-rollback.
        (selection.allowRollback ?? false) || pkg.cutId === cutLatestMustName(recorder.state),
        selection.allowOlder ?? false,
      )
    : undefined;
  const withdrawn = await signedWithdrawnList(registry, recorder.state, deps.env);
  return {
    pkg,
    sha256Text: await readPackageSha256(pkg),
    latestMustName: cutLatestMustName(recorder.state),
    site,
    extras: await packageExtrasFor(pkg, packageStoreDir(stateDir), registry.package.delta === true, recorder.state),
    ...(withdrawn === null ? {} : { withdrawn }),
  };
}

/**
 * After a `retract`, the signed list of every withdrawn cut that package deliveries carry to the
 * kit's prep-apply; null when nothing was withdrawn or there is no signing_key (prep-apply trusts
 * only signed lists). The signing code loads only then: a push without it stays lean.
 */
async function signedWithdrawnList(registry: Registry, ledger: LedgerState, env: NodeJS.ProcessEnv): Promise<SignedWithdrawnList | null> {
  const cuts = Object.keys(ledger.withdrawn);
  if (cuts.length === 0 || !registry.signing) return null;
  const { loadSigningKey } = await import('../signing/load-signing-key.js');
  const { signBytes } = await import('../signing/sshsig.js');
  const text = withdrawnListText(cuts);
  return { text, sigText: signBytes(await loadSigningKey(registry.signing, env), Buffer.from(text, 'utf8')) };
}

/** Record the cut (a cut run) and every blocked or disabled difusor as `skipped`. */
async function recordSkips(run: RunInput, plan: RunPlan, recorder: LedgerRecorder, deps: RunDeps): Promise<ReportResult[]> {
  const { pkg } = run;
  if (run.kind.recordsCut) {
    await recorder.record({
      type: 'cut',
      at: isoAt(deps.clock),
      cut: pkg.cutId,
      cutTime: pkg.cutTime,
      package: pkg.fileName,
      sha256: pkg.sha256,
      ...(run.drill ? { drill: true } : {}),
    });
  }
  const results: ReportResult[] = [];
  for (const skip of plan.skipped) {
    if (skip.reason !== 'blocked' && skip.reason !== 'disabled') continue;
    const result: ReportResult = { id: skip.id, outcome: 'skipped', error: null, seconds: 0, attempts: 0, bytes: 0, skip_reason: skip.reason, publish: null };
    await recorder.recordOutcome(run.kind.command, pkg.cutId, result, skip.reason);
    results.push(result);
  }
  return results;
}

/** Deliver to every target; each outcome is journaled (and may block, and be audited) as it arrives. */
async function deliverAndJournal(
  run: RunInput,
  plan: RunPlan,
  toDeliver: ResultsInput,
  recorder: LedgerRecorder,
  results: ReportResult[],
  deps: RunDeps,
): Promise<void> {
  const { command } = run.kind;
  await deliverToAll(
    { targets: plan.targets, settings: run.registry.push, strategiesFor: (difusor) => resultStrategies(difusor, toDeliver) },
    { transport: deps.transport, env: deps.env, clock: deps.clock },
    {
      signal: deps.signal,
      onResult: async (delivery: DeliveryResult) => {
        void loadFollowUp();
        const result = toReportResult(delivery);
        const auditPending = deps.audit?.countsAsMiss === true && result.outcome === 'delivered' && deps.audit.audits(result.id);
        await recorder.recordOutcome(command, run.pkg.cutId, result, delivery.error?.code ?? null, auditPending);
        results.push(result);
        deps.onProgress?.({ type: 'result', result });
        if (result.outcome === 'failed') await recorder.blockWhoeverReachedTheLimit([result.id]);
        if (deps.audit && result.outcome === 'delivered' && deps.audit.audits(result.id)) {
          await auditAfterDelivery(deps.audit, recorder, command, result, deps);
        }
      },
    },
  );
  // What each server was found to do, for the next run's site publishes: written once, all done.
  await toDeliver.site?.capabilities?.save();
  traceMark('every delivery ended and journaled');
}

// Loaded once the first delivery ended, while the others still send (the main thread mostly waits
// on the network then; during the handshakes it is not free), so the end of the run does not wait
// for it; awaited by followUpOutcomes, so a failure to load is not lost.
let followUpModule: Promise<typeof import('./follow-up.js')> | undefined;
function loadFollowUp(): Promise<typeof import('./follow-up.js')> {
  if (followUpModule === undefined) {
    followUpModule = import('./follow-up.js');
    followUpModule.catch(() => {});
  }
  return followUpModule;
}

/** Follow up, once every outcome is journaled: notifications, the public list and notices, none of which changes an outcome or the exit code. */
async function followUpOutcomes(run: RunInput, journal: Journal, recorder: LedgerRecorder, deps: RunDeps): Promise<FollowUpReport> {
  const { events } = run.journalRead;
  const { followUpRun } = await loadFollowUp();
  const followUp = await followUpRun(
    {
      registry: run.registry,
      stateDir: run.stateDir,
      journal,
      events: [...events, ...recorder.appended],
      before: deriveLedgerState(events),
      runEvents: recorder.appended,
      cut: { id: run.pkg.cutId, time: run.pkg.cutTime },
    },
    { clock: deps.clock, env: deps.env, noticePublisher: deps.noticePublisher, channels: deps.notifyChannels, signal: deps.signal },
  );
  traceMark('follow-up done (notifications, public list, notices)');
  for (const message of followUp.warnings) deps.onProgress?.({ type: 'warning', message });
  return followUp;
}

/** Report: the run's results in registry order, its exit code, and the report file in the state dir. */
async function reportRun(
  run: RunInput,
  plan: RunPlan,
  done: { results: ReportResult[]; recorder: LedgerRecorder; followUp: FollowUpReport; startedAt: number; startedMono: number },
  deps: RunDeps,
): Promise<RunReport> {
  const { pkg, registry } = run;
  const { results, recorder } = done;
  const notStarted = plan.targets.map((d) => d.id).filter((id) => !results.some((r) => r.id === id));
  const order = new Map(registry.difusores.map((d, i) => [d.id, i]));
  results.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  const interrupted = deps.signal?.aborted ?? false;
  const partial = { results, interrupted, not_started: notStarted, newly_blocked: recorder.newlyBlocked };
  const report: RunReport = {
    command: run.kind.command,
    cut: { id: pkg.cutId, time: pkg.cutTime },
    drill: run.drill,
    package: { file: pkg.fileName, sha256: pkg.sha256, bytes: pkg.bytes },
    results,
    newly_blocked: recorder.newlyBlocked,
    not_started: notStarted,
    interrupted,
    dry_run: false,
    started_at: new Date(done.startedAt).toISOString(),
    seconds: roundSeconds(deps.clock.monotonic() - done.startedMono),
    exit_code: plan.refused.length > 0 ? 1 : exitCodeOfRun(partial),
    follow_up: done.followUp,
  };
  if (plan.refused.length > 0) report.not_pushed = plan.refused.map((k) => `${k.id}: ${k.detail}`);
  try {
    await writeRunReport(run.stateDir, report);
    traceMark('run report written');
  } catch (error) {
    // The outcomes are already journaled; a missing report file must not hide them.
    deps.onProgress?.({ type: 'warning', message: (error as Error).message });
  }
  return report;
}

/**
 * A push that targets nobody records nothing and says why in one line: exit 1 when `--only` named
 * blocked or disabled difusores, 0 when every selected one already has the cut (`--failed`).
 */
function nothingToPush(
  pkg: BuiltPackage,
  refused: PlannedSkip[],
  skipped: PlannedSkip[],
  startedAt: number,
): RunReport {
  const why =
    refused.length > 0
      ? `nothing to push: ${refused.map((k) => `${k.id} is ${k.reason === 'blocked' ? k.detail : 'disabled (enabled: false in the registry)'}`).join('; ')}`
      : skipped.some((k) => k.reason === 'already-delivered')
        ? `nothing to push: every active difusor selected already has cut ${pkg.cutId}`
        : 'nothing to push: no active difusor selected';
  return {
    command: 'push',
    cut: { id: pkg.cutId, time: pkg.cutTime },
    package: { file: pkg.fileName, sha256: pkg.sha256, bytes: pkg.bytes },
    results: [],
    newly_blocked: [],
    not_started: [],
    interrupted: false,
    dry_run: false,
    started_at: new Date(startedAt).toISOString(),
    seconds: 0,
    exit_code: refused.length > 0 ? 1 : 0,
    nothing_to_push: why,
    ...(refused.length > 0 ? { not_pushed: refused.map((k) => `${k.id}: ${k.detail}`) } : {}),
  };
}
// --- cut --audit / push --audit (issue 13) -----------------------------------------------------
/**
 * Audits the difusor's public site right after its delivery and journals the audit. The result
 * stays `delivered` and carries `audit`; under audit.counts_as_miss a stale, unreachable or
 * tampered site is a miss of the cut (and may block). A failing audit never aborts the run.
 */
async function auditAfterDelivery(
  auditor: DeliveryAuditor,
  recorder: LedgerRecorder,
  command: 'cut' | 'push',
  result: ReportResult,
  deps: RunDeps,
): Promise<void> {
  const expectedCut = recorder.state.difusores[result.id]?.lastDeliveredCut;
  if (!expectedCut) return;
  let site;
  try {
    site = await auditor.audit(result.id, expectedCut);
  } catch (error) {
    deps.onProgress?.({ type: 'warning', message: `${result.id}: the audit after delivery could not run: ${(error as Error).message}` });
    return;
  }
  const miss = auditCountsAsMiss(site.outcome, auditor.countsAsMiss);
  await recorder.record({
    type: 'audit',
    at: isoAt(deps.clock),
    id: result.id,
    outcome: site.outcome,
    servedCut: site.served_cut,
    expectedCut: site.expected_cut,
    problems: site.problems,
    ...(site.altered.length > 0 ? { altered: site.altered } : {}),
    via: command,
    countsAsMiss: miss,
    settlesDelivery: auditor.countsAsMiss,
  });
  result.audit = { outcome: site.outcome, problems: site.problems, served_cut: site.served_cut, expected_cut: site.expected_cut, counts_as_miss: miss };
  deps.onProgress?.({ type: 'audit', id: result.id, audit: result.audit });
  if (miss) await recorder.blockWhoeverReachedTheLimit([result.id]);
}
// --- end of cut --audit ------------------------------------------------------------------------

function toReportResult(delivery: DeliveryResult): ReportResult {
  return {
    id: delivery.id,
    outcome: delivery.outcome,
    error: delivery.error,
    seconds: delivery.seconds,
    attempts: delivery.attempts,
    bytes: delivery.bytes,
    ...(delivery.fallbacks && delivery.fallbacks.length > 0 ? { fallbacks: delivery.fallbacks } : {}),
    publish: delivery.publish ?? null,
  };
}

/**
 * The site this run publishes (extracted from the stored package once) and which releases found
 * on a difusor we trust as hard-link sources: those whose MANIFEST.json the ledger recorded as
 * published to that difusor, or that match a cut still extracted in the state dir.
 */
async function sitePlanFor(
  stateDir: string,
  pkg: BuiltPackage,
  events: readonly LedgerEvent[],
  registry: Registry,
  allowRollback: boolean,
  allowOlder: boolean,
): Promise<SitePlan> {
  const { extractedManifestHashes, siteReleaseOf } = await import('../publish/site-tree.js');
  const { loadCapabilityStore } = await import('../publish/capability-memory.js');
  const release = await siteReleaseOf(stateDir, pkg);
  const published = new Set<string>();
  for (const event of events) {
    if (event.type === 'outcome' && event.publish) published.add(`${event.id}\0${event.publish.manifest_sha256}`);
  }
  const extracted = await extractedManifestHashes(stateDir);
  // Files an audit found altered at a difusor, in the release it served: never linked or kept there.
  const altered = new Set<string>();
  for (const event of events) {
    if (event.type === 'audit' && event.servedCut !== null) for (const file of event.altered ?? []) altered.add(`${event.id}\0${event.servedCut}\0${file}`);
  }
  return {
    release,
    keepReleases: registry.publish?.keepReleases ?? 0,
    allowRollback,
    allowOlder,
    isTrusted: (id, name, sha256) => published.has(`${id}\0${sha256}`) || extracted.get(sha256) === name,
    isReusable: (id, release, file) => !altered.has(`${id}\0${release}\0${file}`),
    capabilities: await loadCapabilityStore(stateDir),
  };
}

function isoAt(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
