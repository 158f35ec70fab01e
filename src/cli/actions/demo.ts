// `demo [--keep]`.
import type { Action } from '../io.js';
import { makeStyle } from '../render.js';

export const run: Action = async ({ opts }, env) => {
  const { runDemo } = await import('../demo/demo.js');
  const result = await runDemo({ keep: Boolean(opts.keep), clock: env.ctx.clock, env: env.ctx.env, print: env.out, style: makeStyle(env.colour) });
  return result.exitCode;
};
