// `probe [ID,...] [--json]`: checks difusores against the call's requirements.
import { notifyProbeFailures, probe, type ProbeFailure } from '../../commands/probe.js';
import { loadRegistryFor, parseIdList, resolveStateDir } from '../../commands/context.js';
import { PrepPushError } from '../../core/errors.js';
import { ssh2Transport } from '../../sftp/connect.js';
import type { Action } from '../io.js';
import { makeStyle } from '../render.js';
import { renderProbeLine, renderProbeReport } from '../render-probe.js';

export const run: Action = async ({ args, opts }, env) => {
  const json = Boolean(opts.json);
  const style = makeStyle(env.colour);
  const registry = await loadRegistryFor(env.globals, env.ctx);
  // `[ids...]` arrives as one array argument (empty when none was given).
  const given = args.flat();
  const ids = given.length ? parseIdList(given.join(',')) : undefined;
  if (ids !== undefined && ids.length === 0) {
    throw new PrepPushError('usage', 'probe: no difusor id given', { hint: 'e.g. prep-push probe el-sol,la-voz' });
  }
  const print = json ? env.err : env.out;
  const failures: ProbeFailure[] = [];
  const done = await probe(registry, ids, {
    transport: ssh2Transport,
    env: env.ctx.env,
    clock: env.ctx.clock,
    signal: env.io.signal,
    onResult: (result) => print(renderProbeLine(result, style)),
    onProbeFailed: (difusor, problems) => {
      failures.push({ difusor, problems });
    },
  });
  // The notifications never change the probe's result or exit code.
  const notified = await notifyProbeFailures(registry, resolveStateDir(env.globals, registry, env.ctx.cwd), failures, {
    clock: env.ctx.clock,
    env: env.ctx.env,
    signal: env.io.signal,
  });
  for (const w of [...done.warnings, ...notified.warnings]) env.err(style.warn(`warning: ${w}`));
  if (done.not_started.length) env.err(style.warn(`interrupted: not probed: ${done.not_started.join(', ')}`));
  env.out(
    json
      ? JSON.stringify({ results: done.results, not_started: done.not_started, exit_code: done.exit_code }, null, 2)
      : renderProbeReport(done.results, style),
  );
  return done.exit_code;
};
