// `demo [--keep] [--no-wait]`: on a terminal its web servers stay up until Ctrl-C; elsewhere it ends by itself.
import type { Action } from '../io.js';
import { makeStyle } from '../render.js';

export const run: Action = async ({ opts }, env) => {
  const { runDemo } = await import('../demo/demo.js');
  const result = await runDemo({
    keep: Boolean(opts.keep),
    wait: env.io.isTTY && opts.wait !== false,
    signal: env.io.signal,
    clock: env.ctx.clock,
    env: env.ctx.env,
    print: env.out,
    style: makeStyle(env.colour),
  });
  return result.exitCode;
};
