// `audit [ID,...] [--sample N|all] [--json]`: checks what each difusor's public site serves.
import { parseSample } from '../../audit/settings.js';
import { audit } from '../../commands/audit.js';
import { loadRegistryFor, parseIdList, resolveStateDir } from '../../commands/context.js';
import type { Action } from '../io.js';
import { makeStyle } from '../render.js';
import { renderAuditLine, renderAuditSummary } from '../render-audit.js';

export const run: Action = async ({ args, opts }, env) => {
  const json = Boolean(opts.json);
  const style = makeStyle(env.colour);
  const sample = opts.sample === undefined ? undefined : parseSample(opts.sample as string);
  const registry = await loadRegistryFor(env.globals, env.ctx);
  // `[ids...]` arrives as one array argument (empty when none was given).
  const given = args.flat();
  const report = await audit(
    registry,
    resolveStateDir(env.globals, registry, env.ctx.cwd),
    { ids: given.length ? parseIdList(given.join(',')) : undefined, sample },
    { clock: env.ctx.clock, env: env.ctx.env, signal: env.io.signal, onResult: (r) => (json ? env.err : env.out)(renderAuditLine(r, style)) },
  );
  for (const w of report.warnings) env.err(style.warn(`warning: ${w}`));
  env.out(json ? JSON.stringify({ results: report.results, exit_code: report.exit_code }, null, 2) : renderAuditSummary(report, style));
  return report.exit_code;
};
