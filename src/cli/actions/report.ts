// `report --out FILE [--format html|csv|json|md] [--from CUT] [--to CUT]`: the memoria técnica.
import { resolve } from 'node:path';
import { loadRegistryFor, resolveStateDir } from '../../commands/context.js';
import { report } from '../../commands/report.js';
import { plural, type Action } from '../io.js';
import { makeStyle } from '../render.js';

export const run: Action = async ({ opts }, env) => {
  const registry = await loadRegistryFor(env.globals, env.ctx);
  const stateDir = resolveStateDir(env.globals, registry, env.ctx.cwd);
  const done = await report(
    {
      registry,
      stateDir,
      out: resolve(env.ctx.cwd, opts.out as string),
      format: opts.format as string | undefined,
      from: opts.from as string | undefined,
      to: opts.to as string | undefined,
    },
    env.ctx.clock,
  );
  for (const w of done.warnings) env.err(makeStyle(env.colour).warn(`warning: ${w}`));
  const t = done.report.totals;
  env.out(
    `wrote ${done.file} (${done.format}, ${done.bytes} bytes): ${plural(t.cuts, 'cut')}, ${plural(t.difusores, 'difusor')}, ` +
      `delivered ${t.delivered}/${t.published} (${t.availability_pct === null ? '-' : `${t.availability_pct.toFixed(1)}%`}), ${t.not_served} not served (${t.missed} missed), ${plural(t.blocks, 'block')}` +
      (t.withdrawn_cuts ? `, ${t.withdrawn_cuts} withdrawn` : '') +
      (t.drill_cuts ? `, ${plural(t.drill_cuts, 'drill cut')} apart` : ''),
  );
  return 0;
};
