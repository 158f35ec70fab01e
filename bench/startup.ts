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

/** `prep-push FLAG` against `node -e 0`, `reps` interleaved pairs after a warm-up pair. */
export async function measureStartupOf(flag: '--version' | '--help', reps: number): Promise<StartupFigure['help']> {
  const pairs = await interleave(reps, timed([CLI, flag]), timed(['-e', '0']));
  return { ratio: spread(pairs.ratios), prepPushS: spread(pairs.a), baselineS: spread(pairs.b) };
}

export async function measureStartup(reps: number): Promise<StartupFigure> {
  return { version: await measureStartupOf('--version', reps), help: await measureStartupOf('--help', reps) };
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
