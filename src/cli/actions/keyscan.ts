// `keyscan ID` or `keyscan HOST[:PORT]`.
import { keyscan } from '../../commands/keyscan.js';
import type { Action } from '../io.js';

export const run: Action = async ({ args, opts }, env) => {
  const timeoutS = opts.timeout === undefined ? 15 : Number(opts.timeout);
  const result = await keyscan(args[0], timeoutS, env.globals, env.ctx);
  if (result.lines.length) env.out(result.lines);
  if (result.errorLines) env.err(result.errorLines);
  return result.exitCode;
};
