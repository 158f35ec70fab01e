// Issue #22 item 7 through the built binary: a folder of --source swapped for a symlink to a folder
// outside it after the source was listed and before that folder is read. The race is made
// deterministic by stopping the process (SIGSTOP) while it is reading a large file that comes
// before the folder in package order (checked in /proc/PID/fd while it is stopped), swapping, and
// letting it go on (SIGCONT). `build` must refuse (exit 2) and no file of the state dir may hold
// the file from outside.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrepPush } from '../helpers/cli.js';
import { makeKeyPair } from '../helpers/keys.js';

const SECRET = 'SECRETO-fuera-de-la-fuente-7f3a';
// Sparse: costs no disk, and takes the builder long enough to read that stopping it there is easy.
const BIG = 256 * 1024 * 1024;

let work: string;
let registry: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'prep-source-race-'));
  const key = await makeKeyPair(work, 'client');
  registry = join(work, 'difusores.yaml');
  writeFileSync(
    registry,
    'institute: IEM\npackage:\n  name: "PREP_{cut}"\ndifusores:\n' +
      `  - {id: el-sol, name: El Sol, host: 127.0.0.1, host_key: "SHA256:As1b+HQfL/ULKbUV/NP14pm3SvU+t4FUD20XgiDKJoc", username: iem, private_key: "${key.privateKeyPath}", remote_dir: /prep}\n`,
  );
  // What the swapped-in symlink leads to: same names as in the source, outside it.
  mkdirSync(join(work, 'outside', 'z'), { recursive: true });
  writeFileSync(join(work, 'outside', 'z', 'B.json'), SECRET);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function makeSource(dir: string): void {
  mkdirSync(join(dir, 'a'), { recursive: true });
  mkdirSync(join(dir, 'z'));
  execFileSync('truncate', ['-s', String(BIG), join(dir, 'a', 'big.bin')]);
  writeFileSync(join(dir, 'z', 'B.json'), '{"casilla":"B"}');
}

/** The files the process has open, as paths. */
function openFiles(pid: number): string[] {
  const fds = `/proc/${pid}/fd`;
  const paths: string[] = [];
  for (const fd of readdirSync(fds)) {
    try {
      paths.push(readlinkSync(`${fds}/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return paths;
}

/** Every regular file under dir, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((rel) => join(dir, rel))
    .filter((file) => statSync(file).isFile());
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a folder swapped for a symlink between listing and reading: exit 2, and the file outside is in no package', async () => {
  for (let attempt = 1; ; attempt += 1) {
    const caseDir = join(work, `attempt-${attempt}`);
    const source = join(caseDir, 'site');
    const stateDir = join(caseDir, 'state');
    makeSource(source);
    const big = join(source, 'a', 'big.bin');
    const run = startPrepPush(['--config', registry, '--state-dir', stateDir, 'build', '--source', source, '--cut', '2024-06-02T20:20:00-06:00'], {
      env: { NO_COLOR: '1' },
    });
    const pid = run.child.pid as number;
    let exited = false;
    void run.done.then(() => (exited = true));
    // Wait until it reads a/big.bin: the source has been listed down to the top folder, z not yet opened.
    while (!exited && !openFiles(pid).includes(big)) await sleep(2);
    let swapped = false;
    if (!exited) {
      process.kill(pid, 'SIGSTOP');
      // Stopped while big.bin is still open: z (after it in package order) has not been read.
      if (openFiles(pid).includes(big)) {
        renameSync(join(source, 'z'), join(caseDir, 'z-moved'));
        symlinkSync(join(work, 'outside', 'z'), join(source, 'z'));
        swapped = true;
      }
      process.kill(pid, 'SIGCONT');
    }
    const result = await run.done;
    if (!swapped) {
      // The build got past big.bin before it could be stopped there: try again (never seen so far).
      if (attempt < 5) continue;
      throw new Error(`could not stop prep-push while it read a/big.bin in ${attempt} attempts`);
    }
    expect([result.code, result.stderr]).toEqual([2, expect.stringContaining(`source contains a symlink: ${join(source, 'z')}`)]);
    expect(result.stdout).toBe('');
    for (const file of filesUnder(stateDir)) {
      const bytes = file.endsWith('.gz') ? execFileSync('gzip', ['-dc', file], { maxBuffer: 2 * BIG }) : readFileSync(file);
      expect([file, bytes.includes(SECRET)]).toEqual([file, false]);
    }
    expect(readdirSync(stateDir).filter((name) => name === 'packages')).toEqual([]);
    return;
  }
}, 120_000);
