// `cut --source DIR [--cut TIME|ID] [--only IDS] [--dry-run] [--allow-future] [--allow-older] [--drill]`.
import path from 'node:path';
import { loadRegistryFor, resolveStateDir } from '../../commands/context.js';
import { parseCutTime } from '../../core/cut.js';
import { planCut, runCut } from '../../cut/run.js';
import type { Action } from '../io.js';
import { renderDryRun } from '../render.js';
import { finishRun, onlyIds, runDeps, withAudit } from './run-output.js';

export const run: Action = async ({ opts }, env) => {
  const json = Boolean(opts.json);
  const registry = await loadRegistryFor(env.globals, env.ctx);
  const request = {
    registry,
    stateDir: resolveStateDir(env.globals, registry, env.ctx.cwd),
    sourceDir: path.resolve(env.ctx.cwd, opts.source as string),
    cut: parseCutTime(opts.cut as string | undefined, registry.timezone, env.ctx.clock.now),
    only: onlyIds(opts.only),
    allowFuture: Boolean(opts.allowFuture),
    allowOlder: Boolean(opts.allowOlder),
    drill: Boolean(opts.drill),
  };
  if (opts.dryRun) {
    const plan = await planCut(request, env.ctx.clock);
    env.out(json ? JSON.stringify({ ...plan, exit_code: 0 }, null, 2) : renderDryRun(plan));
    return 0;
  }
  return finishRun(env, await runCut(request, await withAudit(runDeps(env, json, registry), opts.audit, request)), json);
};
