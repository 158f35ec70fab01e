// End-to-end, the built binary as an operator (and cron) runs it: a closed pipe never stops a cut,
// the clock guards against a typo in --cut, retract moves LATEST back, a push that targets nobody
// says so, and the state dir lives next to the registry wherever the run starts.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BIN, runPrepPush } from '../helpers/cli.js';
import { closedPort } from '../helpers/net.js';
import { registryYamlFor, startSshd, type SshdFixture } from '../helpers/sshd.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

let sshd: SshdFixture;
let ws: Workspace;

beforeAll(async () => {
  sshd = await startSshd({ accounts: [{ id: 'el-sol' }, { id: 'la-voz' }] });
  ws = await makeWorkspace();
  // No state_dir and no --state-dir: the default, next to the registry file.
  await ws.writeRegistry(registryYamlFor(sshd, ['el-sol', 'la-voz'], { push: { retries: 0, connect_timeout_s: 5 } }));
});
afterAll(async () => {
  await sshd?.stop();
  await ws?.remove();
});

const TZ = 'America/Mexico_City';
const stateDir = () => path.join(ws.dir, '.prep-push');
/** A `--cut` time `minutes` from now (UTC ISO; the cut id is that minute in the registry's zone). */
const at = (minutes: number) => new Date(Date.now() + minutes * 60000).toISOString();
const idAt = (iso: string) => {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
      .formatToParts(new Date(iso))
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}${p.month}${p.day}_${p.hour}${p.minute}`;
};
/** Runs from another folder (as cron does), with the registry given by absolute path. */
const elsewhere = path.join('/tmp');
const prepPush = (args: string[], cwd = elsewhere) => runPrepPush(['--config', ws.registryFile, ...args], { cwd, timeoutMs: 120_000 });
const latestAt = (id: string) => readFileSync(path.join(sshd.accounts[id].dir, 'LATEST'), 'utf8').trim();
const journal = () => readFileSync(path.join(stateDir(), 'journal.jsonl'), 'utf8');
const packageOf = (cutId: string) => `PREP2024_MICH_${cutId}.tar.gz`;

/**
 * `{ prep-push ARGS; } | head -1` through sh: a real pipe whose reader leaves after one line. POSIX
 * sh has no PIPESTATUS, so the left side writes prep-push's exit code to a file.
 */
function throughHead(args: string[], opts: { merge: boolean; config?: string }): Promise<{ code: number; line: string; stderr: string }> {
  const quoted = ['--config', opts.config ?? ws.registryFile, ...args].map((a) => `'${a}'`).join(' ');
  const codeFile = path.join(ws.dir, `exit-code-${Math.random().toString(16).slice(2)}`);
  const cmd = `{ "${process.execPath}" "${BIN}" ${quoted} ${opts.merge ? '2>&1' : ''}; echo $? > "${codeFile}"; } | head -1`;
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', cmd], { cwd: elsewhere, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
    let line = '';
    let stderr = '';
    child.stdout.on('data', (d) => (line += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', () => {
      // sh waits for both sides, so prep-push has ended and written its code.
      resolve({ code: Number(readFileSync(codeFile, 'utf8').trim()), line, stderr });
    });
  });
}

describe('closed pipes', () => {
  test('`prep-push --help | head -1`: one line, exit 0, no EPIPE', async () => {
    const run = await throughHead(['--help'], { merge: true });
    expect(run.line).toBe('Usage: prep-push [options] [command]\n');
    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(/EPIPE|Error|at /);
  });

  test('`prep-push cut ... 2>&1 | head -1`: the cut completes, is recorded and delivered, exit 0, no stack trace', async () => {
    const time = at(-60);
    const cutId = idAt(time);
    const run = await throughHead(['cut', '--source', ws.sourceDir, '--cut', time], { merge: true });
    expect(run.line).toMatch(/^package /);
    expect(run.stderr).not.toMatch(/EPIPE|Error|    at /);
    expect(run.code).toBe(0);
    for (const id of ['el-sol', 'la-voz']) {
      expect(latestAt(id)).toBe(packageOf(cutId));
      expect(journal()).toContain(`"cut":"${cutId}","id":"${id}","outcome":"delivered"`);
    }
    // Nothing in the folder it ran from: the ledger is next to the registry.
    expect(existsSync(path.join(elsewhere, '.prep-push'))).toBe(false);
  });

  test('stdout closed, stderr still open: a cut with a difusor down ends with exit 1 and records both outcomes', async () => {
    // A difusor down: more lines (its failure, the summary) are printed after the reader left.
    const brokenFile = path.join(ws.dir, 'la-voz-down.yaml');
    writeFileSync(brokenFile, readFileSync(ws.registryFile, 'utf8').replace(`port: ${sshd.accounts['la-voz'].port}`, `port: ${await closedPort()}`));
    const time = at(-50);
    const run = await throughHead(['cut', '--source', ws.sourceDir, '--cut', time], { merge: false, config: brokenFile });
    expect(run.line).toMatch(/^package /);
    expect(run.stderr).not.toMatch(/EPIPE|    at /);
    expect(run.code).toBe(1);
    const outcomes = journal().split('\n').filter((l) => l.includes(`"cut":"${idAt(time)}"`) && l.includes('"outcome"'));
    expect(outcomes.map((l) => JSON.parse(l).outcome).sort()).toEqual(['delivered', 'failed']);
    expect(latestAt('el-sol')).toBe(packageOf(idAt(time)));
  });
});

describe('the clock guards --cut', () => {
  test('a --cut far ahead of the clock is refused naming --allow-future; nothing built, nothing sent', async () => {
    const typo = at(365 * 24 * 60);
    const before = latestAt('el-sol');
    const run = await prepPush(['cut', '--source', ws.sourceDir, '--cut', typo]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/cut \d{8}_\d{4} .* is 36[56] days ahead of this machine's clock/);
    expect(run.stderr).toMatch(/--allow-future/);
    expect(readdirSync(path.join(stateDir(), 'packages')).some((f) => f.includes(idAt(typo)))).toBe(false);
    expect(latestAt('el-sol')).toBe(before);
  });

  test('a date that does not exist is named as such', async () => {
    const run = await prepPush(['cut', '--source', ws.sourceDir, '--cut', '2026-02-30T20:20:00-06:00']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--cut: "2026-02-30T20:20:00-06:00" is not a real date: February 2026 has no day 30/);
  });

  test('--allow-future publishes it; an older cut is then refused naming --allow-older', async () => {
    const future = at(2 * 24 * 60);
    const ok = await prepPush(['cut', '--source', ws.sourceDir, '--cut', future, '--allow-future']);
    expect(ok.code).toBe(0);
    expect(latestAt('la-voz')).toBe(packageOf(idAt(future)));
    const older = await prepPush(['cut', '--source', ws.sourceDir, '--cut', at(-40)]);
    expect(older.code).toBe(2);
    expect(older.stderr).toMatch(new RegExp(`older than the newest cut in the ledger, ${idAt(future)}`));
    expect(older.stderr).toMatch(/--allow-older/);
  });

  test('--allow-older delivers the older cut, and LATEST keeps naming the newest', async () => {
    const newest = latestAt('el-sol');
    const time = at(-40);
    const run = await prepPush(['cut', '--source', ws.sourceDir, '--cut', time, '--allow-older', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).results.map((r: { outcome: string }) => r.outcome)).toEqual(['delivered', 'delivered']);
    expect(existsSync(path.join(sshd.accounts['el-sol'].dir, packageOf(idAt(time))))).toBe(true);
    expect(latestAt('el-sol')).toBe(newest);
  });
});

describe('retract', () => {
  test('withdraws the mistaken cut: status never names it, and the next push moves LATEST back', async () => {
    const mistaken = latestAt('el-sol').match(/\d{8}_\d{4}/)![0];
    const run = await prepPush(['retract', mistaken, '--reason', 'wrong year in --cut']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`withdrew cut ${mistaken}: wrong year in --cut`));

    const status = await prepPush(['status', '--json']);
    expect(status.code).toBe(0);
    expect(status.stderr).toContain(`state dir: ${stateDir()}`);
    const doc = JSON.parse(status.stdout);
    expect(doc.withdrawn_cuts).toEqual([expect.objectContaining({ cut: mistaken, reason: 'wrong year in --cut' })]);
    expect(doc.latest_cut).not.toBe(mistaken);
    for (const d of doc.difusores) expect(d.last_delivered_cut).not.toBe(mistaken);
    const human = await prepPush(['status']);
    expect(human.stdout).toContain(`state dir: ${stateDir()}`);
    expect(human.stdout).toMatch(new RegExp(`withdrawn cut: ${mistaken} at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d-0[56]:00 \\(wrong year in --cut\\)`));

    // Even `--failed`: every difusor has that cut, but LATEST still names the withdrawn one.
    const push = await prepPush(['push', '--failed']);
    expect(push.code).toBe(0);
    expect(push.stdout).toMatch(/^pushing to 2 difusores: el-sol, la-voz$/m);
    for (const id of ['el-sol', 'la-voz']) expect(latestAt(id)).toBe(packageOf(doc.latest_cut));

    const again = await prepPush(['push', '--cut', mistaken]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/that cut was withdrawn/);
  });
});

describe('a push that targets nobody', () => {
  test('--only a blocked difusor: one line naming why (local time), exit 1; --failed with nothing missing: exit 0', async () => {
    expect((await prepPush(['block', 'la-voz', '--reason', 'mantenimiento'])).code).toBe(0);
    const only = await prepPush(['push', '--only', 'la-voz']);
    expect(only.code).toBe(1);
    expect(only.stdout).toBe('');
    expect(only.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^prep-push: nothing to push: la-voz is blocked since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-0[56]:00 \(mantenimiento\); run `prep-push unblock la-voz` to resume$/),
    ]);
    // Named together with an active one: that one is pushed, the blocked one is named, exit 1.
    const mixed = await prepPush(['push', '--only', 'el-sol,la-voz']);
    expect(mixed.code).toBe(1);
    expect(mixed.stdout).toMatch(/^delivered 1\/1/m);
    expect(mixed.stdout).toMatch(/^not pushed: la-voz: blocked since .* \(mantenimiento\)/m);
    const failed = await prepPush(['push', '--failed']);
    expect(failed.code).toBe(0);
    expect(failed.stdout.trim()).toMatch(/^nothing to push: every active difusor selected already has cut \d{8}_\d{4}$/);
    expect((await prepPush(['unblock', 'la-voz'])).stdout).toMatch(/^unblocked la-voz; miss count 0 -> 0/);
  });
});

describe('state dir', () => {
  test('a read-only command in a folder without a ledger creates nothing there', async () => {
    const empty = path.join(ws.dir, 'otra-carpeta');
    mkdirSync(empty);
    const other = path.join(empty, 'difusores.yaml');
    copyFileSync(ws.registryFile, other);
    const status = await runPrepPush(['status'], { cwd: empty });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`state dir: ${path.join(empty, '.prep-push')}`);
    const push = await runPrepPush(['push', '--failed'], { cwd: empty });
    expect(push.code).toBe(2);
    expect(push.stderr).toMatch(/no package has been built yet/);
    expect(readdirSync(empty)).toEqual(['difusores.yaml']);
  });
});

describe('help and usage', () => {
  const commands = ['validate', 'build', 'cut', 'push', 'status', 'block', 'unblock', 'retract', 'keyscan', 'demo'];

  test('every --help ends with examples, in plain ASCII when not on a terminal; no quoted defaults', async () => {
    for (const command of commands) {
      const run = await runPrepPush([command, '--help']);
      expect([command, run.code]).toEqual([command, 0]);
      expect([command, run.stdout]).toEqual([command, expect.stringMatching(new RegExp(`\\nExamples:\\n  prep-push .*${command}`))]);
      expect([command, /^[\x20-\x7e\n]*$/.test(run.stdout)]).toEqual([command, true]);
      expect(run.stdout).not.toMatch(/\(default: "/);
    }
  });

  test('required flags are shown as required', async () => {
    expect((await runPrepPush(['cut', '--help'])).stdout).toMatch(/^Usage: prep-push cut --source <dir> \[options\]$/m);
    expect((await runPrepPush(['cut', '--help'])).stdout).toMatch(/--source <dir> +the publication folder \(required\)/);
    const block = (await runPrepPush(['block', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(block).toMatch(/--reason <text> why, for the institute only: the ledger, the report and the e-mail to the desk; never on the notice \(required\)/);
    expect(block).toMatch(/--public-reason <text> what the notice on its portal tells the public, in Spanish \(default: that it is no longer a valid difusor/);
  });

  test('no arguments: the help on stderr, exit 2, and no "(outputHelp)" line', async () => {
    const run = await runPrepPush([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^Usage: prep-push/);
    expect(run.stderr).not.toContain('outputHelp');
  });

  test('a typo in a flag is named, with the flag meant', async () => {
    const run = await runPrepPush(['cut', '--sourc', 'site']);
    expect([run.code, run.stderr]).toEqual([2, 'prep-push: unknown option --sourc; did you mean --source?\nhint: run `prep-push cut --help` for usage and examples\n']);
  });
});
