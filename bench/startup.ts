// Start-up of the CLI (issue 14): `prep-push --version` and `--help` against `node -e 0`, run back
// to back (interleaved) as separate processes, the way cron and monitoring start it.
// Standalone: `npm run build && node dist/bench/startup.js [reps]`; goal: median ratio <= 1.5.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CLI, interleave, spread, type Spread } from './harness.js';

export interface StartupFigure {
  version: { ratio: Spread; prepPushS: Spread; baselineS: Spread };
  help: { ratio: Spread; prepPushS: Spread; baselineS: Spread };
}

/** Wall seconds of one process run to its end (output discarded). */
function timed(args: string[]): () => Promise<number> {
  return async () => {
    const started = process.hrtime.bigint();
    const run = spawnSync(process.execPath, args, { stdio: 'ignore' });
    if (run.status !== 0) throw new Error(`node ${args.join(' ')} exited ${run.status}`);
    return Number(process.hrtime.bigint() - started) / 1e9;
  };
}

export async function measureStartup(reps: number): Promise<StartupFigure> {
  const baseline = timed(['-e', '0']);
  const figure = async (flag: string) => {
    const pairs = await interleave(reps, timed([CLI, flag]), baseline);
    return { ratio: spread(pairs.ratios), prepPushS: spread(pairs.a), baselineS: spread(pairs.b) };
  };
  return { version: await figure('--version'), help: await figure('--help') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const reps = Number(process.argv[2] ?? 20);
  const result = await measureStartup(reps);
  for (const [name, f] of Object.entries(result)) {
    const ms = (s: Spread) => `${(s.median * 1000).toFixed(1)} ms`;
    process.stdout.write(
      `--${name}: ${ms(f.prepPushS)} vs node -e 0 ${ms(f.baselineS)}; ratio median ${f.ratio.median.toFixed(2)} ` +
        `(min ${f.ratio.min.toFixed(2)}, max ${f.ratio.max.toFixed(2)}) over ${reps} interleaved pairs; goal <= 1.5\n`,
    );
  }
}
