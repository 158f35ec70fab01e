// `block ID --reason TEXT [--public-reason TEXT]`.
import { block } from '../../commands/block.js';
import { loadRegistryFor, resolveStateDir } from '../../commands/context.js';
import { ssh2Transport } from '../../sftp/connect.js';
import { noticePublisherFor } from '../../delivery/notice-publisher.js';
import type { Action } from '../io.js';
import { makeStyle, renderBlockChange } from '../render.js';

export const run: Action = async ({ args, opts }, env) => {
  const registry = await loadRegistryFor(env.globals, env.ctx);
  const stateDir = resolveStateDir(env.globals, registry, env.ctx.cwd);
  const change = await block(registry, stateDir, args[0], opts.reason as string, env.ctx.clock, {
    env: env.ctx.env,
    noticePublisher: noticePublisherFor(registry, { transport: ssh2Transport, env: env.ctx.env, clock: env.ctx.clock }),
    ...(opts.publicReason !== undefined ? { publicReason: opts.publicReason as string } : {}),
  });
  env.out(renderBlockChange(change));
  for (const w of change.follow_up?.warnings ?? []) env.err(makeStyle(env.colour).warn(`warning: ${w}`));
  return 0;
};
