// Signed and delta packages delivered by prep-push to a real OpenSSH sshd, then applied there by the
// kit's prep-apply as an unprivileged user: full, delta, and a full package again after an apply
// that did not happen — with nobody acting. The kit itself comes from the `kit` command function.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeKit } from '../../src/commands/kit.js';
import { systemClock } from '../../src/core/clock.js';
import { parseCutTime } from '../../src/core/cut.js';
import { runCut } from '../../src/cut/run.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import { loadRegistry } from '../../src/registry/validate.js';
import { makeKeyPair } from '../helpers/keys.js';
import { giveToNobody, openAllParents, runPrepApply, SHELLS, writeSite } from '../helpers/prep-apply.js';
import { registryYamlFor, startSshd, type SshdFixture } from '../helpers/sshd.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const deps = { clock: systemClock, env: {}, transport: ssh2Transport };
let sshd: SshdFixture;
let ws: Workspace;

beforeAll(async () => {
  sshd = await startSshd({ accounts: [{ id: 'el-sol' }] });
  ws = await makeWorkspace();
});
afterAll(async () => {
  await sshd?.stop();
  await ws?.remove();
});

test('cut → sshd → prep-apply: full, then delta, then a full package when the last delta was not applied', async () => {
  const keys = await makeKeyPair(ws.dir, 'firma_ed25519');
  const yaml = registryYamlFor(sshd, ['el-sol'], { push: { retries: 0 } }).replace('  format: tar.gz\n', '  format: tar.gz\n  delta: true\n');
  await ws.writeRegistry(`${yaml}signing_key: ./${path.basename(keys.privateKeyPath)}\n`);
  const registry = await loadRegistry(ws.registryFile, { env: {} });
  const dir = sshd.accounts['el-sol'].dir;
  openAllParents(dir);
  openAllParents(ws.dir);
  const kit = await writeKit('el-sol', path.join(ws.dir, 'kit'), { config: ws.registryFile }, { cwd: ws.dir, env: {}, clock: systemClock });
  expect(kit.files.sort()).toEqual(['README.md', 'allowed_signers', 'apache.conf', 'authorized_keys', 'crontab.txt', 'instalar.sh', 'nginx.conf', 'prep-apply', 'prep-apply.path', 'prep-apply.service', 'sshd_config.txt']);

  const cutAt = async (n: number, time: string) => {
    writeSite(ws.sourceDir, 20, 30, (i) => (i >= 0 && i % 30 === n ? n : 0) + (i === -1 ? n : 0));
    const report = await runCut({ registry, stateDir: ws.stateDir, sourceDir: ws.sourceDir, cut: parseCutTime(time, registry.timezone, Date.now) }, deps);
    expect(report.results.map((r) => r.outcome)).toEqual(['delivered']);
    giveToNobody(dir);
    const latest = readFileSync(path.join(dir, 'LATEST'), 'utf8').trim();
    // The result counts the bytes of the package actually sent (a delta's, when one was).
    expect(report.results[0].bytes).toBe(statSync(path.join(dir, latest)).size);
    return latest;
  };
  const apply = async (shell: (typeof SHELLS)[number]) => {
    const run = await runPrepApply(shell, kit.dir, ['--dir', dir]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    return run.stdout;
  };

  const first = await cutAt(0, '2024-06-02T20:00:00-06:00');
  expect(first).toBe('PREP2024_MICH_20240602_2000.tar.gz');
  // The delivered package verifies with stock ssh-keygen and the kit's allowed_signers.
  const verify = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', path.join(kit.dir, 'allowed_signers'), '-I', 'IEM', '-n', 'prep-push', '-s', path.join(dir, `${first}.sig`)], {
    input: readFileSync(path.join(dir, first)),
  });
  expect(verify.status).toBe(0);
  expect(await apply(SHELLS[0])).toMatch(/se aplicó el corte 20240602_2000 \(paquete completo/);

  const second = await cutAt(1, '2024-06-02T20:20:00-06:00');
  expect(second).toBe('PREP2024_MICH_20240602_2020.from-20240602_2000.tar.gz');
  expect(statSync(path.join(dir, second)).size).toBeLessThan(statSync(path.join(dir, first)).size / 2);
  expect(existsSync(path.join(dir, `${second}.sha256`)) && existsSync(path.join(dir, `${second}.sig`))).toBe(true);
  expect(await apply(SHELLS[1])).toMatch(/se aplicó el corte 20240602_2020 \(incremental desde 20240602_2000/);
  expect(readFileSync(path.join(dir, 'current', 'json', 'main.json'), 'utf8')).toBe('{"version":1}');

  // Cut 3 arrives as a delta but is never applied (prep-apply down): APPLIED stays at cut 2 ...
  expect(await cutAt(2, '2024-06-02T20:40:00-06:00')).toBe('PREP2024_MICH_20240602_2040.from-20240602_2020.tar.gz');
  // ... so cut 4 comes as a full package, and prep-apply catches up from it.
  expect(await cutAt(3, '2024-06-02T21:00:00-06:00')).toBe('PREP2024_MICH_20240602_2100.tar.gz');
  expect(await apply(SHELLS[2])).toMatch(/se aplicó el corte 20240602_2100 \(paquete completo/);
  expect(readlinkSync(path.join(dir, 'current'))).toBe('releases/20240602_2100');
  expect(readFileSync(path.join(dir, 'current', 'json', 'main.json'), 'utf8')).toBe('{"version":3}');
  expect(readFileSync(path.join(dir, 'APPLIED'), 'utf8')).toBe('20240602_2100\n');
});
