// A hostile difusor (or whoever holds its upload account) serving what prep-push reads as endless,
// huge or non-regular files: LATEST, APPLIED and a release's MANIFEST.json linked to /dev/zero, a
// FIFO, a sparse 100 MB manifest. Through the built binary against real sshd: each such difusor
// fails with VERIFY_FAILED naming the file, within seconds; the honest one is delivered; the run's
// peak RSS stays under the contract's 512 MB.
import { execFile } from 'node:child_process';
import { readdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { BIN } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/workspace.js';
import { sshdWithWorkspace } from '../helpers/jest-fixtures.js';
import { registryYamlFor } from '../helpers/sshd.js';

const run = promisify(execFile);
const LONG = 120_000;
const RSS_LIMIT_MB = 512;

const ids = ['honest', 'zero-latest', 'fifo-latest', 'zero-applied', 'zero-manifest', 'huge-manifest'];
const site = new Set(['zero-manifest', 'huge-manifest']);
const fixture = sshdWithWorkspace({ accounts: ids.map((id) => ({ id })) }, LONG);

interface Result {
  id: string;
  outcome: string;
  error: { code: string; message: string } | null;
  seconds: number;
}

/** Runs the binary under GNU time, so the peak RSS is the child's own. */
async function cut(cutTime: string): Promise<{ code: number; results: Result[]; maxRssMb: number; stderr: string }> {
  const { ws } = fixture;
  const args = [BIN, '--config', ws.registryFile, 'cut', '--source', ws.sourceDir, '--cut', cutTime, '--allow-older', '--json'];
  const child = await run('/usr/bin/time', ['-f', 'maxrss_kb=%M', process.execPath, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { code: number; stdout: string; stderr: string }) => error);
  const rss = /maxrss_kb=(\d+)/.exec(child.stderr);
  const doc = JSON.parse(child.stdout) as { results: Result[]; exit_code: number };
  return { code: doc.exit_code, results: doc.results, maxRssMb: rss ? Number(rss[1]) / 1024 : Number.NaN, stderr: child.stderr };
}

beforeAll(async () => {
  const { sshd, ws } = fixture;
  const difusores: Record<string, Record<string, string>> = {};
  for (const id of site) difusores[id] = { delivery: 'site' };
  const yaml = registryYamlFor(sshd, ids, { difusores, stateDir: ws.stateDir }).replace('  format: tar.gz\n', '  format: tar.gz\n  delta: true\n');
  await ws.writeRegistry(yaml);
  // A first, clean cut: every difusor has a release or a package to read back next time.
  const first = await cut('2024-06-02T20:00:00-06:00');
  expect(first.results.map((r) => [r.id, r.outcome])).toEqual(ids.map((id) => [id, 'delivered']));
}, LONG);

test(
  'LATEST, APPLIED and MANIFEST.json as /dev/zero, a FIFO or 100 MB: VERIFY_FAILED naming the file, the others delivered, RSS bounded',
  async () => {
    const { sshd, ws } = fixture;
    const dir = (id: string) => sshd.accounts[id].dir;
    await rm(path.join(dir('zero-latest'), 'LATEST'));
    await symlink('/dev/zero', path.join(dir('zero-latest'), 'LATEST'));
    await rm(path.join(dir('fifo-latest'), 'LATEST'));
    await run('mkfifo', [path.join(dir('fifo-latest'), 'LATEST')]);
    // APPLIED is what prep-apply writes; with package.delta prep-push reads it to choose a delta.
    await symlink('/dev/zero', path.join(dir('zero-applied'), 'APPLIED'));
    const [release] = (await readdir(path.join(dir('zero-manifest'), 'releases'))).filter((n) => !n.startsWith('.'));
    await rm(path.join(dir('zero-manifest'), 'releases', release, 'MANIFEST.json'));
    await symlink('/dev/zero', path.join(dir('zero-manifest'), 'releases', release, 'MANIFEST.json'));
    const [huge] = (await readdir(path.join(dir('huge-manifest'), 'releases'))).filter((n) => !n.startsWith('.'));
    await truncate(path.join(dir('huge-manifest'), 'releases', huge, 'MANIFEST.json'), 100 * 1024 * 1024);

    await writeFile(path.join(ws.sourceDir, 'json', 'main.json'), '{"corte":"20:20"}\n');
    const second = await cut('2024-06-02T20:20:00-06:00');
    const byId = new Map(second.results.map((r) => [r.id, r]));
    expect(byId.get('honest')?.outcome).toBe('delivered');
    const named: Record<string, string> = {
      'zero-latest': 'LATEST',
      'fifo-latest': 'LATEST',
      'zero-applied': 'APPLIED',
      'zero-manifest': 'MANIFEST.json',
      'huge-manifest': 'MANIFEST.json',
    };
    for (const [id, file] of Object.entries(named)) {
      const result = byId.get(id);
      expect([id, result?.outcome, result?.error?.code]).toEqual([id, 'failed', 'VERIFY_FAILED']);
      expect([id, result?.error?.message]).toEqual([id, expect.stringContaining(file)]);
      // Refused at once, not when the 30 s transfer deadline ran out.
      expect([id, (result?.seconds ?? 99) < 20]).toEqual([id, true]);
    }
    expect(second.code).toBe(1);
    expect(second.maxRssMb).toBeLessThan(RSS_LIMIT_MB);
  },
  LONG,
);
