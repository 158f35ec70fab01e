// `push [--cut ID|TIME] [--only IDS] [--failed]`: the manual re-push of a stored cut.
import { loadRegistryFor, resolveStateDir } from '../../commands/context.js';
import { parseCutTime } from '../../core/cut.js';
import { runPush } from '../../cut/run.js';
import { traceMark } from '../../core/trace.js';
import type { Action } from '../io.js';
import { finishRun, onlyIds, runDeps, withAudit } from './run-output.js';

export const run: Action = async ({ opts }, env) => {
  const json = Boolean(opts.json);
  const registry = await loadRegistryFor(env.globals, env.ctx);
  traceMark('registry loaded and validated');
  const cut = opts.cut === undefined ? undefined : parseCutTime(opts.cut as string, registry.timezone, env.ctx.clock.now);
  const request = {
    registry,
    stateDir: resolveStateDir(env.globals, registry, env.ctx.cwd),
    cutId: cut?.id,
    only: onlyIds(opts.only),
    failed: Boolean(opts.failed),
    allowRollback: Boolean(opts.allowRollback),
    drill: Boolean(opts.drill),
  };
  return finishRun(env, await runPush(request, await withAudit(runDeps(env, json, registry), opts.audit, request)), json);
};
