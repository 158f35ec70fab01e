// `retract CUT_ID --reason TEXT`: withdraw a cut published by mistake.
import { loadRegistryFor, resolveStateDir } from '../../commands/context.js';
import { retract } from '../../commands/retract.js';
import type { Action } from '../io.js';
import { renderRetraction } from '../render.js';

export const run: Action = async ({ args, opts }, env) => {
  const registry = await loadRegistryFor(env.globals, env.ctx);
  const stateDir = resolveStateDir(env.globals, registry, env.ctx.cwd);
  env.out(renderRetraction(await retract(registry, stateDir, args[0], opts.reason as string, env.ctx.clock)));
  return 0;
};
