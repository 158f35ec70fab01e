// What `cut` and `push` share in the CLI: progress lines as they happen, the final report, the
// dependencies of a run, and the `--only` list.
import { parseIdList } from '../../commands/context.js';
import { PrepPushError } from '../../core/errors.js';
import type { RunDeps, RunProgress } from '../../cut/run.js';
import type { RunReport } from '../../cut/report.js';
import { ssh2Transport } from '../../sftp/connect.js';
import type { NoticePublisher } from '../../notice/release.js';
import type { ActionEnv } from '../io.js';
import { renderAuditLine } from '../render-audit.js';
import type { Registry } from '../../registry/types.js';
import { makeStyle, renderFollowUp, renderPlan, renderResultLine, renderRunSummary } from '../render.js';
import { renderPackage } from '../render-package.js';

/** The run's side effects, with progress on stdout (stderr when stdout carries the JSON document). */
export function runDeps(env: ActionEnv, json: boolean, registry: Registry): RunDeps {
  const style = makeStyle(env.colour);
  const print = json ? env.err : env.out;
  const onProgress = (event: RunProgress) => {
    if (event.type === 'package') print(renderPackage(event.pkg));
    else if (event.type === 'plan') print(renderPlan(event.targets, event.skipped));
    else if (event.type === 'result') print(renderResultLine(event.result, style));
    else if (event.type === 'blocked') print(style.bad(`BLOCKED    ${event.id}: ${event.reason}`));
    else if (event.type === 'audit') print(renderAuditLine({ id: event.id, ...event.audit }, style));
    else env.err(style.warn(`warning: ${event.message}`));
  };
  return {
    clock: env.ctx.clock,
    env: env.ctx.env,
    transport: ssh2Transport,
    signal: env.io.signal,
    onProgress,
    noticePublisher: lazyNoticePublisher(registry, { transport: ssh2Transport, env: env.ctx.env, clock: env.ctx.clock }),
  };
}

/**
 * Notices are placed only after a block, at the end of a run: their code (site and notice-package
 * placement) is imported then, not before every push's first connection.
 */
function lazyNoticePublisher(registry: Registry, deps: { transport: typeof ssh2Transport; env: NodeJS.ProcessEnv; clock: RunDeps['clock'] }): NoticePublisher {
  return {
    async publish(difusor, release) {
      const { noticePublisherFor } = await import('../../delivery/notice-publisher.js');
      await noticePublisherFor(registry, deps).publish(difusor, release);
    },
  };
}

/** A cut's or push's report: the JSON document or the summary, and its exit code. */
export function finishRun(env: ActionEnv, report: RunReport, json: boolean): number {
  // A push refused because --only named blocked or disabled difusores is an error line for cron.
  if (!json && report.nothing_to_push !== undefined && report.exit_code !== 0) {
    env.err(`prep-push: ${report.nothing_to_push}`);
    return report.exit_code;
  }
  env.out(json ? JSON.stringify(report, null, 2) : [...renderRunSummary(report, makeStyle(env.colour)), ...renderFollowUp(report.follow_up)]);
  return report.exit_code;
}

/** `--only a,b` → ['a', 'b']; `--only ''` is a usage error. */
export function onlyIds(text: unknown): string[] | undefined {
  const ids = parseIdList(text as string | undefined);
  if (ids !== undefined && ids.length === 0) {
    throw new PrepPushError('usage', '--only: no difusor id given', { hint: 'e.g. --only el-sol,la-voz' });
  }
  return ids;
}

/** `--audit`: the auditor the run calls after each delivery (reads audit.ca_file before anything is sent). */
export async function withAudit(deps: RunDeps, wanted: unknown, request: { registry: Registry; stateDir: string }): Promise<RunDeps> {
  if (!wanted) return deps;
  const { makeDeliveryAuditor } = await import('../../audit/after-delivery.js');
  return { ...deps, audit: await makeDeliveryAuditor(request.registry, request.stateDir, { clock: deps.clock }) };
}
