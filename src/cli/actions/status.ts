// `status [--json]`: every difusor's state, and which state dir was read.
import { loadRegistryFor, resolveStateDir } from '../../commands/context.js';
import { status } from '../../commands/status.js';
import type { Action } from '../io.js';
import { makeStyle, renderPendingFollowUps, renderStatus } from '../render.js';

export const run: Action = async ({ opts }, env) => {
  const registry = await loadRegistryFor(env.globals, env.ctx);
  const stateDir = resolveStateDir(env.globals, registry, env.ctx.cwd);
  const report = await status(registry, stateDir, env.ctx.clock);
  const style = makeStyle(env.colour);
  for (const w of report.warnings) env.err(style.warn(`warning: ${w}`));
  if (opts.json) {
    env.err(`state dir: ${stateDir}`);
    env.out(
      JSON.stringify(
        {
          state_dir: stateDir,
          latest_cut: report.latest_cut,
          // Its age is in the human table only: the same ledger gives the same document at any hour.
          latest_cut_time: report.latest_cut_time,
          withdrawn_cuts: report.withdrawn_cuts,
          difusores: report.difusores,
          pending_notifications: report.pending_notifications,
          notices_pending: report.notices_pending,
        },
        null,
        2,
      ),
    );
  } else {
    env.out([...renderStatus(report, style, registry.timezone, stateDir), ...renderPendingFollowUps(report)]);
  }
  return 0;
};
