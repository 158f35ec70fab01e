// The bad-input corpus (fixtures/bad-input/cases.yaml) against the built binary: every case exits
// with the contract's code, says what is wrong, where and what to do, and sends not one byte to
// the difusor's server (counted server-side by the in-process SFTP server the registry points at).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startSftpServer, type SftpServerHandle } from '../../src/sftp-server/index.js';
import { runPrepPush } from '../helpers/cli.js';
import { makeKeyPair, type KeyPair } from '../helpers/keys.js';
import { FIXTURE_SITE, REPO_ROOT } from '../helpers/workspace.js';

interface BadInputCase {
  name: string;
  args: string[];
  registry?: string;
  replace?: [string, string];
  append?: string;
  setup?: string;
  exit: number;
  message: string;
}

const corpus = parse(await readFile(join(REPO_ROOT, 'fixtures', 'bad-input', 'cases.yaml'), 'utf8')) as {
  base: string;
  cases: BadInputCase[];
};

let work: string;
let key: KeyPair;
let encryptedKey: KeyPair;
let server: SftpServerHandle;
let goodSource: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'prep-push-bad-input-'));
  key = await makeKeyPair(work, 'client');
  encryptedKey = await makeKeyPair(work, 'client_enc', { passphrase: 'never-given' });
  await mkdir(join(work, 'served'));
  server = await startSftpServer({ root: join(work, 'served'), username: 'iem', authorizedKeys: [key.publicKey] });
  goodSource = join(work, 'publicacion');
  await cp(FIXTURE_SITE, goodSource, { recursive: true });
});

afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

/** The named preparations a case may ask for; each makes one thing wrong in the case's folder. */
async function prepare(setup: string | undefined, ws: string, stateDir: string): Promise<void> {
  switch (setup) {
    case undefined:
      return;
    case 'garbage-key':
      await writeFile(join(ws, 'garbage_key'), 'this is not a private key\n', { mode: 0o600 });
      return;
    case 'empty-source':
      await mkdir(join(ws, 'empty'));
      return;
    case 'file-source':
      await writeFile(join(ws, 'a-file'), 'a file where the publication folder should be\n');
      return;
    case 'fifo-source':
      execFileSync('mkfifo', [join(ws, 'a-fifo')]);
      return;
    case 'fifo-in-source':
      await cp(FIXTURE_SITE, join(ws, 'src-fifo'), { recursive: true });
      execFileSync('mkfifo', [join(ws, 'src-fifo', 'json', 'pipe')]);
      return;
    case 'symlink-in-source':
      await cp(FIXTURE_SITE, join(ws, 'src-link'), { recursive: true });
      await symlink('/etc/passwd', join(ws, 'src-link', 'json', 'escape.json'));
      return;
    case 'two-symlinks-in-source':
      await cp(FIXTURE_SITE, join(ws, 'src-links'), { recursive: true });
      await symlink('/etc/passwd', join(ws, 'src-links', 'json', 'a-escape.json'));
      await symlink('/etc/hostname', join(ws, 'src-links', 'json', 'b-escape.json'));
      return;
    case 'ledger-with-a-cut': {
      await mkdir(stateDir, { recursive: true });
      const cut = { type: 'cut', at: '2024-06-03T02:20:00.000Z', cut: '20240602_2020', cutTime: '2024-06-02T20:20:00-06:00', package: 'PREP2024_MICH_20240602_2020.tar.gz', sha256: 'a'.repeat(64) };
      await writeFile(join(stateDir, 'journal.jsonl'), `${JSON.stringify(cut)}\n`);
      return;
    }
    case 'state-dir-is-file':
      await writeFile(stateDir, 'a file where the state folder should be\n');
      return;
    case 'journal-garbage': {
      await mkdir(stateDir, { recursive: true });
      const line = (cut: string) =>
        JSON.stringify({ type: 'outcome', at: '2024-06-03T02:00:00.000Z', cut, id: 'el-sol', outcome: 'delivered', code: null, message: null, via: 'cut', seconds: 1, attempts: 1 });
      await writeFile(join(stateDir, 'journal.jsonl'), `${line('20240602_2000')}\n{"type":"outc\u0000\u0007garbage\n${line('20240602_2020')}\n`);
      return;
    }
    default:
      throw new Error(`unknown setup ${setup}`);
  }
}

function substitute(text: string, ws: string): string {
  return text
    .replaceAll('{{PORT}}', String(server.port))
    .replaceAll('{{HOST_KEY}}', server.hostKeyFingerprint)
    .replaceAll('{{KEY}}', key.privateKeyPath)
    .replaceAll('{{ENC_KEY}}', encryptedKey.privateKeyPath)
    .replaceAll('{{WS}}', ws)
    .replaceAll('{{SRC}}', goodSource);
}

function registryOf(c: BadInputCase): string {
  let text = c.registry ?? corpus.base;
  if (c.replace) {
    if (!text.includes(c.replace[0])) throw new Error(`${c.name}: the base registry has no "${c.replace[0]}"`);
    text = text.replace(c.replace[0], c.replace[1]);
  }
  if (c.append) text += c.append;
  return text;
}

test('the corpus has at least 25 cases, each with a distinct name', () => {
  expect(corpus.cases.length).toBeGreaterThanOrEqual(25);
  expect(new Set(corpus.cases.map((c) => c.name)).size).toBe(corpus.cases.length);
});

test('the base registry is valid and reaches the server (so each case’s silence is the case’s doing)', async () => {
  const ws = await mkdtemp(join(work, 'base-'));
  await writeFile(join(ws, 'difusores.yaml'), substitute(corpus.base, ws));
  const run = await runPrepPush(['--config', 'difusores.yaml', 'keyscan', 'el-sol'], { cwd: ws });
  expect([run.code, run.stdout]).toEqual([0, expect.stringContaining('matches the pinned host_key')]);
  expect(server.connections).toBe(1);
});

describe.each(corpus.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  test(`exit ${c.exit}, a located message, nothing sent`, async () => {
    const ws = await mkdtemp(join(work, 'case-'));
    const stateDir = join(ws, 'state');
    await writeFile(join(ws, 'difusores.yaml'), substitute(registryOf(c), ws));
    await prepare(c.setup, ws, stateDir);
    const before = { connections: server.connections, bytes: server.bytesWritten };

    const args = c.args.map((a) => substitute(a, ws));
    const run = await runPrepPush(['--config', join(ws, 'difusores.yaml'), '--state-dir', stateDir, ...args], { cwd: ws });

    const shown = `exit ${run.code}\n--- stderr ---\n${run.stderr}--- stdout ---\n${run.stdout}`;
    expect(shown).toMatch(new RegExp(`^exit ${c.exit}\\n`));
    expect(run.stderr).toMatch(new RegExp(c.message, 'm'));
    // What to do: every refusal carries a hint, an expectation, or the usage pointer.
    expect(run.stderr).toMatch(/hint: |expected|--help|run `prep-push|nothing was pushed/);
    expect(run.signal).toBeNull();
    expect({ connections: server.connections, bytes: server.bytesWritten }).toEqual(before);
  });
});
