// `block ID --reason TEXT`.
import { block } from '../../commands/block.js';
import { loadRegistryFor, resolveStateDir } from '../../commands/context.js';
import type { Action } from '../io.js';
import { renderBlockChange } from '../render.js';

export const run: Action = async ({ args, opts }, env) => {
  const registry = await loadRegistryFor(env.globals, env.ctx);
  const stateDir = resolveStateDir(env.globals, registry, env.ctx.cwd);
  env.out(renderBlockChange(await block(registry, stateDir, args[0], opts.reason as string, env.ctx.clock)));
  return 0;
};
