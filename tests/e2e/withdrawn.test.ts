// `retract` reaches kit difusores (#23 item 1): after a cut is withdrawn, the next `push` of a stored
// cut brings `WITHDRAWN` (every withdrawn cut id, one a line) and `WITHDRAWN.sig`, which stock
// `ssh-keygen -Y verify` accepts with the kit's allowed_signers, before LATEST moves back; the
// packages themselves are unchanged; and the kit's own prep-apply, run after each delivery, moves
// `current` back to the newest cut not withdrawn. Through the built binary against real sshd.
import { spawn } from 'node:child_process';
import { readFile, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { runPrepPush } from '../helpers/cli.js';
import { giveToNobody, openAllParents, runPrepApply } from '../helpers/prep-apply.js';
import { sshdWithWorkspace } from '../helpers/jest-fixtures.js';
import { makeKeyPair } from '../helpers/keys.js';
import { registryYamlFor } from '../helpers/sshd.js';

const LONG = 120_000;
const fx = sshdWithWorkspace({ accounts: [{ id: 'kit' }] }, LONG);

function verify(allowedSigners: string, sigFile: string, message: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh-keygen', ['-Y', 'verify', '-f', allowedSigners, '-I', 'IEM', '-n', 'prep-push', '-s', sigFile], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? -1));
    child.stdin.end(message);
  });
}

test('after retract, a plain push carries the signed WITHDRAWN list before LATEST moves back', async () => {
  const { sshd, ws } = fx;
  const signing = await makeKeyPair(ws.dir, 'firma');
  await ws.writeRegistry(`${registryYamlFor(sshd, ['kit'], { stateDir: ws.stateDir })}signing_key: ${JSON.stringify(signing.privateKeyPath)}\n`);
  const cli = (...args: string[]) => runPrepPush(['--config', ws.registryFile, ...args]);
  const dir = sshd.accounts.kit.dir;
  const kitDir = path.join(ws.dir, 'kit-out');
  expect((await cli('kit', 'kit', '--out', kitDir)).code).toBe(0);
  /** The difusor's cron job: prep-apply from the kit, as an unprivileged user, under dash. */
  const apply = async (): Promise<string> => {
    giveToNobody(dir);
    openAllParents(dir);
    openAllParents(path.join(kitDir, 'prep-apply'));
    const applied = await runPrepApply({ argv: ['dash'] }, kitDir, ['--dir', dir]);
    expect([applied.code, applied.stderr]).toEqual([0, '']);
    return readlink(path.join(dir, 'current'));
  };

  expect((await cli('cut', '--source', ws.sourceDir, '--cut', '2024-06-02T20:20:00-06:00')).code).toBe(0);
  expect(await apply()).toBe('releases/20240602_2020');
  const wrong = await cli('cut', '--source', ws.sourceDir, '--cut', '2027-06-02T20:40:00-06:00', '--allow-future');
  expect(wrong.code).toBe(0);
  expect((await readFile(path.join(dir, 'LATEST'), 'utf8')).trim()).toBe('PREP2024_MICH_20270602_2040.tar.gz');
  expect(await apply()).toBe('releases/20270602_2040');
  const before = await readFile(path.join(dir, 'PREP2024_MICH_20240602_2020.tar.gz'));
  // No retract yet: no list.
  expect((await readdir(dir)).filter((n) => n.startsWith('WITHDRAWN'))).toEqual([]);

  expect((await cli('retract', '20270602_2040', '--reason', 'año equivocado en --cut')).code).toBe(0);
  const pushed = await cli('push');
  expect(pushed.code).toBe(0);
  expect((await readFile(path.join(dir, 'LATEST'), 'utf8')).trim()).toBe('PREP2024_MICH_20240602_2020.tar.gz');
  const list = await readFile(path.join(dir, 'WITHDRAWN'));
  expect(list.toString('utf8')).toBe('20270602_2040\n');
  // Verified the way prep-apply does, with the kit's allowed_signers.
  expect(await verify(path.join(kitDir, 'allowed_signers'), path.join(dir, 'WITHDRAWN.sig'), list)).toBe(0);
  expect(await verify(path.join(kitDir, 'allowed_signers'), path.join(dir, 'WITHDRAWN.sig'), Buffer.from('20240602_2020\n'))).not.toBe(0);
  // The package LATEST names again holds the same bytes: the list travels beside it, not inside.
  expect((await readFile(path.join(dir, 'PREP2024_MICH_20240602_2020.tar.gz'))).equals(before)).toBe(true);
  expect((await readdir(dir)).filter((n) => n.startsWith('.') && n !== '.prep-apply')).toEqual([]);
  // The kit applies the list: current goes back, without anyone touching the difusor by hand.
  expect(await apply()).toBe('releases/20240602_2020');
}, LONG);
