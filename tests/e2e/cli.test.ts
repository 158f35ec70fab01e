// End-to-end: the built binary, as cron and operators run it: output, JSON shapes, exit codes 0-4.
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runPrepPush } from '../helpers/cli.js';
import { startBlackhole, closedPort, type Blackhole } from '../helpers/net.js';
import { registryYamlFor, startSshd, type SshdFixture } from '../helpers/sshd.js';
import { makeWorkspace, REPO_ROOT, type Workspace } from '../helpers/workspace.js';

let sshd: SshdFixture;
let ws: Workspace;
let blackhole: Blackhole;

beforeAll(async () => {
  sshd = await startSshd({ accounts: [{ id: 'el-sol' }, { id: 'la-voz' }, { id: 'radio-uni' }] });
  ws = await makeWorkspace();
  blackhole = await startBlackhole();
});
afterAll(async () => {
  await blackhole?.close();
  await sshd?.stop();
  await ws?.remove();
});

const prepPush = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runPrepPush(['--config', ws.registryFile, '--state-dir', ws.stateDir, ...args], { cwd: ws.dir, env });

describe('help and validate', () => {
  test('--help lists every command of the contract and exits 0', async () => {
    const run = await runPrepPush(['--help']);
    expect(run.code).toBe(0);
    for (const command of ['validate', 'build', 'cut', 'push', 'status', 'block', 'unblock', 'keyscan', 'demo']) {
      expect(run.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });

  test('--version prints the package version', async () => {
    const version = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version;
    const run = await runPrepPush(['--version']);
    expect([run.code, run.stdout.trim()]).toEqual([0, version]);
  });

  test('the example difusores.yaml validates from the repository folder', async () => {
    const run = await runPrepPush(['validate']);
    expect(run.stderr).toBe('');
    // Not a terminal: plain ASCII (cron mail shows typographic dashes as M-bM-^@M-^T).
    expect(run.stdout).toMatch(/^difusores\.yaml: valid - IEM, 3 difusores \(2 enabled\)/);
    expect(run.code).toBe(0);
  });

  test('a broken registry: located errors on stderr, exit 2; --json gives the same problems', async () => {
    writeFileSync(path.join(ws.dir, 'broken.yaml'), 'institute: IEM\npush:\n  concurrency: 0\ndifusores: []\nextra: 1\n');
    const run = await runPrepPush(['--config', 'broken.yaml', 'validate'], { cwd: ws.dir });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^broken\.yaml:3:16: push\.concurrency: /m);
    expect(run.stderr).toMatch(/^broken\.yaml:4:12: difusores: /m);
    expect(run.stderr).toMatch(/^broken\.yaml:5:1: extra: /m);
    const json = await runPrepPush(['--config', 'broken.yaml', 'validate', '--json'], { cwd: ws.dir });
    expect(json.code).toBe(2);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ file: 'broken.yaml', valid: false, exit_code: 2 });
    expect(doc.problems.map((p: { path: string }) => p.path)).toEqual(expect.arrayContaining(['push.concurrency', 'difusores', 'extra']));
  });

  test('a missing registry is exit 2 with a hint', async () => {
    const run = await runPrepPush(['--config', 'nope.yaml', 'status'], { cwd: ws.dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/nope\.yaml/);
  });
});

describe('build, cut, push, status, block, unblock, keyscan', () => {
  beforeAll(async () => {
    const dead = await closedPort();
    await ws.writeRegistry(
      registryYamlFor(sshd, ['el-sol', 'la-voz', 'radio-uni'], {
        push: { retries: 0, connect_timeout_s: 3 },
        difusores: { 'radio-uni': { port: dead } },
      }),
    );
  });

  test('build prints the package and its SHA-256; sha256sum -c agrees', async () => {
    const run = await prepPush(['build', '--source', 'publicacion', '--cut', '2024-06-02T20:00:00-06:00']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const file = /^package +(\S+)$/m.exec(run.stdout)![1];
    const sha = /^sha256 +([0-9a-f]{64})$/m.exec(run.stdout)![1];
    expect(path.basename(file)).toBe('PREP2024_MICH_20240602_2000.tar.gz');
    expect(readFileSync(`${file}.sha256`, 'utf8')).toBe(`${sha}  PREP2024_MICH_20240602_2000.tar.gz\n`);
    execFileSync('sha256sum', ['-c', `${path.basename(file)}.sha256`], { cwd: path.dirname(file) });
  });

  test('a bad --cut is exit 2 and names the flag', async () => {
    const run = await prepPush(['build', '--source', 'publicacion', '--cut', '20:20']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--cut: "20:20" is neither an ISO 8601 time with an offset nor a cut id/);
  });

  test('cut --json with one difusor down: the contract’s document, exit 1', async () => {
    const run = await prepPush(['cut', '--source', 'publicacion', '--cut', '2024-06-02T20:20:00-06:00', '--json']);
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout);
    expect(doc).toMatchObject({
      cut: { id: '20240602_2020', time: '2024-06-02T20:20:00-06:00' },
      package: { file: 'PREP2024_MICH_20240602_2020.tar.gz', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: expect.any(Number) },
      newly_blocked: [],
      exit_code: 1,
    });
    expect(doc.results.map((r: { id: string; outcome: string; error: { code: string } | null }) => [r.id, r.outcome, r.error?.code ?? null])).toEqual([
      ['el-sol', 'delivered', null],
      ['la-voz', 'delivered', null],
      ['radio-uni', 'failed', 'CONNECT_REFUSED'],
    ]);
    for (const r of doc.results) expect(Object.keys(r)).toEqual(expect.arrayContaining(['id', 'outcome', 'error', 'seconds', 'attempts']));
    expect(doc.results[2].error.message).toMatch(/radio-uni \(127\.0\.0\.1:\d+\)/);
    // Progress lines went to stderr, so stdout held only the document.
    expect(run.stderr).toMatch(/FAILED +radio-uni/);
  });

  test('status --json: the contract’s shape', async () => {
    const run = await prepPush(['status', '--json']);
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc.difusores).toEqual([
      { id: 'el-sol', name: 'Difusor el-sol', state: 'active', consecutive_misses: 0, last_delivered_cut: '20240602_2020', blocked_reason: null, blocked_since: null, last_error: null, last_audit: null, current_release: null, notice: null },
      { id: 'la-voz', name: 'Difusor la-voz', state: 'active', consecutive_misses: 0, last_delivered_cut: '20240602_2020', blocked_reason: null, blocked_since: null, last_error: null, last_audit: null, current_release: null, notice: null },
      expect.objectContaining({ id: 'radio-uni', state: 'active', consecutive_misses: 1, last_delivered_cut: null, blocked_reason: null }),
    ]);
    expect(doc.difusores[2].last_error).toMatchObject({ cut: '20240602_2020', code: 'CONNECT_REFUSED' });
  });

  test('cut --dry-run shows the plan and changes nothing anywhere; a bad source still fails it', async () => {
    const snapshot = () =>
      execFileSync('find', [ws.stateDir, sshd.accounts['el-sol'].dir, '-printf', '%p %s\\n'], { encoding: 'utf8' }).split('\n').sort().join('\n');
    const before = snapshot();
    const run = await prepPush(['cut', '--source', 'publicacion', '--cut', '2024-06-02T20:30:00-06:00', '--dry-run']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^dry run: nothing is built, sent or recorded$/m);
    expect(run.stdout).toMatch(/^package  PREP2024_MICH_20240602_2030\.tar\.gz$/m);
    expect(run.stdout).toMatch(/^source   .*publicacion \(14 files\)$/m);
    expect(run.stdout).toMatch(/^targets  el-sol, la-voz, radio-uni$/m);
    const json = await prepPush(['cut', '--source', 'publicacion', '--cut', '2024-06-02T20:30:00-06:00', '--dry-run', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ dry_run: true, targets: ['el-sol', 'la-voz', 'radio-uni'], exit_code: 0 });
    expect(snapshot()).toBe(before);
    const missing = await prepPush(['cut', '--source', 'no-such-folder', '--dry-run']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/source folder .*no-such-folder does not exist/);
  });

  test('block, then a cut skips it and exits 0; unblock clears it', async () => {
    const blocked = await prepPush(['block', 'radio-uni', '--reason', 'server down for maintenance']);
    expect([blocked.code, blocked.stdout.split('\n').slice(0, 2)]).toEqual([
      0,
      ['blocked radio-uni: skipped by every cut and push until `prep-push unblock radio-uni`', "  reason (internal: ledger, report, the institute's e-mail): server down for maintenance"],
    ]);
    const cut = await prepPush(['cut', '--source', 'publicacion', '--cut', '2024-06-02T20:40:00-06:00']);
    expect(cut.code).toBe(0);
    expect(cut.stdout).toMatch(/skipping radio-uni: blocked since .*server down for maintenance/);
    expect(cut.stdout).toMatch(/delivered 2\/2, skipped 1 \(radio-uni: blocked\)/);
    const unblocked = await prepPush(['unblock', 'radio-uni']);
    expect(unblocked.code).toBe(0);
    expect(unblocked.stdout).toMatch(/^unblocked radio-uni; miss count 1 -> 0/);
  });

  test('unknown ids are usage errors (exit 2)', async () => {
    const cases = [['block', 'nope', '--reason', 'x'], ['unblock', 'nope'], ['push', '--only', 'el-sol,nope']];
    for (const args of cases) {
      const run = await prepPush(args);
      expect([args.join(' '), run.code]).toEqual([args.join(' '), 2]);
      expect(run.stderr).toMatch(/unknown difusor id.* nope/);
    }
  });

  test('push --failed re-pushes only the ones that lack the cut', async () => {
    const run = await prepPush(['push', '--cut', '20240602_2020', '--failed', '--json']);
    const doc = JSON.parse(run.stdout);
    expect(doc.results.map((r: { id: string }) => r.id)).toEqual(['radio-uni']);
    expect(run.code).toBe(1);
  });

  test('a held lock is exit 3 naming the holder, and nothing is done', async () => {
    const lockFile = path.join(ws.stateDir, 'lock');
    // This test process is alive, so its lock is not stale.
    writeFileSync(lockFile, JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), command: 'cut', startedAt: new Date().toISOString() }));
    try {
      const before = readFileSync(path.join(ws.stateDir, 'journal.jsonl'), 'utf8');
      const run = await prepPush(['cut', '--source', 'publicacion', '--cut', '2024-06-02T21:00:00-06:00']);
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(`pid ${process.pid}`);
      expect(readFileSync(path.join(ws.stateDir, 'journal.jsonl'), 'utf8')).toBe(before);
    } finally {
      execFileSync('rm', ['-f', lockFile]);
    }
  });

  test('an unwritable package store is exit 4 naming the path', async () => {
    const ro = path.join(ws.dir, 'ro-state');
    execFileSync('mkdir', ['-p', ro]);
    writeFileSync(path.join(ro, 'packages'), 'a file where the store folder should be');
    const run = await runPrepPush(['--config', ws.registryFile, '--state-dir', ro, 'build', '--source', 'publicacion'], { cwd: ws.dir });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain(path.join(ro, 'packages'));
    chmodSync(ro, 0o755);
  });

  test('keyscan HOST:PORT prints the fingerprint ssh-keygen would', async () => {
    const run = await prepPush(['keyscan', `127.0.0.1:${sshd.accounts['el-sol'].port}`]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`host_key: "${sshd.hostKeyFingerprint}"`);
    // The key type, which the difusor's admin reads out with the fingerprint.
    expect(run.stdout).toContain(`host_key: "${sshd.hostKeyFingerprint}"  # ssh-ed25519`);
    const byId = await prepPush(['keyscan', 'el-sol']);
    expect(byId.stdout).toContain('matches the pinned host_key');
  });

  test('keyscan of a server that cannot be asked: the delivery code on stderr, exit 1', async () => {
    const refused = await prepPush(['keyscan', `127.0.0.1:${await closedPort()}`]);
    expect(refused.code).toBe(1);
    // The address once, in words, and what to do.
    expect(refused.stderr).toMatch(/^prep-push: keyscan: CONNECT_REFUSED: 127\.0\.0\.1:\d+: connection refused \(ECONNREFUSED\)\nhint: nothing listens on that port/m);
    const silent = await prepPush(['keyscan', `127.0.0.1:${blackhole.port}`, '--timeout', '1']);
    expect(silent.code).toBe(1);
    expect(silent.stderr).toMatch(/CONNECT_TIMEOUT: 127\.0\.0\.1:\d+: connected but the server sent no host key within 1 s/);
  });

  test('two cuts started together: one proceeds, the other exits 3 and changes nothing', async () => {
    // A blackholed difusor keeps the first run busy for its connect deadline, so the runs overlap.
    await ws.writeRegistry(
      registryYamlFor(sshd, ['el-sol', 'la-voz'], {
        push: { retries: 0, connect_timeout_s: 3 },
        difusores: { 'la-voz': { port: blackhole.port } },
      }),
    );
    const args = ['cut', '--source', 'publicacion', '--cut', '2024-06-02T21:20:00-06:00'];
    const [one, two] = await Promise.all([prepPush(args), prepPush(args)]);
    expect([one.code, two.code].sort()).toEqual([1, 3]);
    const loser = one.code === 3 ? one : two;
    expect(loser.stderr).toMatch(/locked by pid \d+/);
    const journal = readFileSync(path.join(ws.stateDir, 'journal.jsonl'), 'utf8');
    expect(journal.split('\n').filter((l) => l.includes('"type":"cut"') && l.includes('20240602_2120'))).toHaveLength(1);
  });
});

describe('demo', () => {
  test('without a terminal it runs to its end by itself, shows a blocked difusor, a notice, the list and the report', async () => {
    const run = await runPrepPush(['demo'], { cwd: ws.dir, timeoutMs: 120_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/BLOCKED +tv-norte: auto: missed 3 consecutive cuts/);
    expect(run.stdout).toMatch(/tv-norte +blocked +3/);
    expect(run.stdout).toMatch(/unblocked tv-norte/);
    // la-voz publishes the site: its web server served each cut's main.json in turn, then the notice.
    expect(run.stdout).toMatch(/json\/main\.json \(http:\/\/127\.0\.0\.1:\d+\/json\/main\.json\) now says: corte 20240602_2100/);
    expect(run.stdout).toMatch(/^ {2}notice: placed on la-voz's portal/m);
    expect(run.stdout).toMatch(/la-voz's json\/main\.json now says: the notice, "difusor_valido": false/);
    // Long lines are wrapped; their phrases are read with the wraps undone.
    const flat = run.stdout.replace(/\n +/g, ' ');
    expect(flat).toMatch(/shows the notice too: HTTP 404, "Aviso del IEM: La Voz de Michoacán ya no es un difusor válido del PREP"/);
    expect(run.stdout).toMatch(/current -> releases\/20240602_2100-aviso/);
    // The e-mails, the list and the report, and where to open them.
    expect(flat).toContain('e-mail: [PREP IEM] El difusor TV Norte quedó bloqueado tras el corte de las 20:40 del 2 de junio');
    expect(run.stdout).toMatch(/the official list of difusores: +http:\/\/127\.0\.0\.1:\d+\/publico\/difusores\.html/);
    expect(run.stdout).toMatch(/the incident report \(memoria\): +http:\/\/127\.0\.0\.1:\d+\/memoria\.html/);
    // It says its web servers are closed, and why.
    expect(flat).toMatch(/The demo's web servers are closed now: it ran without a terminal/);
    // Every time it prints is the night's (2024), never today's wall clock beside the 2024 cuts.
    const years = [...run.stdout.matchAll(/\b(\d{4})-\d\d-\d\dT\d\d:\d\d/g)].map((m) => m[1]);
    expect(years.length).toBeGreaterThan(5);
    expect(new Set(years)).toEqual(new Set(['2024']));
    // Within 100 columns, but for a path or address that has no space to break at.
    const wide = run.stdout.split('\n').filter((line) => line.length > 100 && /\s\S+\s/.test(line.trim()));
    expect(wide).toEqual([]);
  }, 120_000);
});
