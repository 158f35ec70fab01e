// The notice for a package-mode (kit) difusor, for real: blocked, the next cut delivers a signed
// notice package to OpenSSH sshd, the kit's prep-apply (dash, bash, busybox sh, as nobody) applies
// it so `current` shows only the notice; it is not sent again; a forged or mislabelled notice is
// refused; and after unblock the cut's full package, then the next cut, bring the results back.
import { copyFileSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { block, unblock } from '../../src/commands/block.js';
import { writeKit } from '../../src/commands/kit.js';
import { status } from '../../src/commands/status.js';
import { systemClock } from '../../src/core/clock.js';
import { parseCutTime } from '../../src/core/cut.js';
import { runCut, runPush } from '../../src/cut/run.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import { noticePublisherFor } from '../../src/delivery/notice-publisher.js';
import { loadRegistry } from '../../src/registry/validate.js';
import { signerFromKeyData } from '../../src/signing/load-signing-key.js';
import { signBytes } from '../../src/signing/sshsig.js';
import { makeKeyPair } from '../helpers/keys.js';
import { giveToNobody, openAllParents, runPrepApply, SHELLS, writeSite } from '../helpers/prep-apply.js';
import { registryYamlFor } from '../helpers/sshd.js';
import { sshdWithWorkspace } from '../helpers/jest-fixtures.js';

const LONG = 60_000;
const fx = sshdWithWorkspace({ accounts: [{ id: 'tv-norte' }] }, LONG);

test('blocked kit difusor: notice package applied by prep-apply, not re-sent, then results again after unblock', async () => {
  const keys = await makeKeyPair(fx.ws.dir, 'firma_ed25519');
  const yaml = registryYamlFor(fx.sshd, ['tv-norte']).replace('  format: tar.gz\n', '  format: tar.gz\n  delta: true\n');
  await fx.ws.writeRegistry(`institute_name: Instituto Electoral de Michoacán\n${yaml}signing_key: ./${path.basename(keys.privateKeyPath)}\n`);
  const registry = await loadRegistry(fx.ws.registryFile, { env: {} });
  const noticePublisher = noticePublisherFor(registry, { transport: ssh2Transport, env: {}, clock: systemClock });
  const deps = { clock: systemClock, env: {}, transport: ssh2Transport, noticePublisher };
  const dir = fx.sshd.accounts['tv-norte'].dir;
  openAllParents(dir);
  openAllParents(fx.ws.dir);
  const kit = await writeKit('tv-norte', path.join(fx.ws.dir, 'kit'), { config: fx.ws.registryFile }, { cwd: fx.ws.dir, env: {}, clock: systemClock });
  const latest = () => readFileSync(path.join(dir, 'LATEST'), 'utf8').trim();
  const apply = async (shell: (typeof SHELLS)[number], args: string[] = []) => {
    giveToNobody(dir);
    return runPrepApply(shell, kit.dir, ['--dir', dir, ...args]);
  };
  const cutAt = async (n: number, time: string) => {
    writeSite(fx.ws.sourceDir, 4, 5, (i) => (i === -1 ? n : 0));
    return runCut({ registry, stateDir: fx.ws.stateDir, sourceDir: fx.ws.sourceDir, cut: parseCutTime(time, registry.timezone, Date.now) }, deps);
  };
  const noticesPlaced = () =>
    readFileSync(path.join(fx.ws.stateDir, 'journal.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"notice_placed"')).length;

  expect((await cutAt(1, '2024-06-02T20:00:00-06:00')).exit_code).toBe(0);
  expect(await apply(SHELLS[0])).toMatchObject({ code: 0, stderr: '' });
  expect(readlinkSync(path.join(dir, 'current'))).toBe('releases/20240602_2000');

  // Blocked by hand, with no publisher at hand: the notice is due, and the next cut places it.
  await block(registry, fx.ws.stateDir, 'tv-norte', 'no respondió a las llamadas', systemClock, { env: {} });
  expect((await status(registry, fx.ws.stateDir)).notices_pending).toEqual(['tv-norte']);
  const second = await cutAt(2, '2024-06-02T20:20:00-06:00');
  expect(second.results.map((r) => [r.id, r.outcome])).toEqual([['tv-norte', 'skipped']]);
  expect(second.follow_up?.warnings ?? []).toEqual([]);
  expect(second.follow_up?.notices.placed).toEqual(['tv-norte']);
  expect(second.exit_code).toBe(0);
  const notice = 'PREP2024_MICH_20240602_2020-aviso.tar.gz';
  expect(latest()).toBe(notice);
  expect(readdirSync(dir).filter((n) => n.startsWith(notice)).sort()).toEqual([notice, `${notice}.sha256`, `${notice}.sig`]);
  expect((await status(registry, fx.ws.stateDir)).notices_pending).toEqual([]);
  expect(noticesPlaced()).toBe(1);

  // A forged signature, then a real cut's signed package dressed up as a notice: both refused.
  const genuineSig = readFileSync(path.join(dir, `${notice}.sig`));
  const foreign = signerFromKeyData(readFileSync((await makeKeyPair(fx.ws.dir, 'ajena_ed25519')).privateKeyPath), undefined, 'foreign');
  writeFileSync(path.join(dir, `${notice}.sig`), signBytes(foreign, readFileSync(path.join(dir, notice))));
  const forged = await apply(SHELLS[2]);
  expect(forged).toMatchObject({ code: 1, stdout: '' });
  expect(forged.stderr).toMatch(/\.sig no es válida/);
  writeFileSync(path.join(dir, `${notice}.sig`), genuineSig);
  const dressed = 'PREP2024_MICH_20240602_2000-aviso.tar.gz';
  for (const suffix of ['', '.sha256', '.sig']) copyFileSync(path.join(dir, `PREP2024_MICH_20240602_2000.tar.gz${suffix}`), path.join(dir, `${dressed}${suffix}`));
  writeFileSync(path.join(dir, 'LATEST'), `${dressed}\n`);
  const mislabelled = await apply(SHELLS[2]);
  expect(mislabelled).toMatchObject({ code: 1, stdout: '' });
  expect(mislabelled.stderr).toMatch(/se llama como un aviso, pero su MANIFEST.json no lo marca como aviso/);
  expect(readlinkSync(path.join(dir, 'current'))).toBe('releases/20240602_2000');
  writeFileSync(path.join(dir, 'LATEST'), `${notice}\n`);

  // The genuine notice: current shows it and nothing else; APPLIED names it.
  const applied = await apply(SHELLS[2]);
  expect(applied).toMatchObject({ code: 0, stderr: '' });
  expect(applied.stdout).toMatch(/se aplicó el aviso 20240602_2020-aviso \(paquete completo, 2 archivos\)/);
  expect(readlinkSync(path.join(dir, 'current'))).toBe('releases/20240602_2020-aviso');
  expect(readdirSync(path.join(dir, 'current')).sort()).toEqual(['MANIFEST.json', 'MANIFEST.json.sig', 'index.html', 'json']);
  const html = readFileSync(path.join(dir, 'current', 'index.html'), 'utf8');
  expect(html).toContain('lang="es"');
  expect(html).toContain('ya no es un difusor válido');
  expect(html).not.toContain('no respondió a las llamadas');
  // Pages that embed the PREP read json/main.json: while blocked it carries the notice in data.
  expect(JSON.parse(readFileSync(path.join(dir, 'current', 'json', 'main.json'), 'utf8'))).toMatchObject({ difusor_valido: false });
  expect(readFileSync(path.join(dir, 'APPLIED'), 'utf8')).toBe('20240602_2020-aviso\n');
  expect(await apply(SHELLS[1])).toMatchObject({ code: 0, stdout: `prep-apply: el aviso 20240602_2020-aviso ya está aplicado en ${dir}; nada que hacer\n` });

  // Still blocked: the next cut leaves the notice alone.
  const third = await cutAt(3, '2024-06-02T20:40:00-06:00');
  expect(third.follow_up?.notices.placed).toEqual([]);
  expect(latest()).toBe(notice);
  expect(noticesPlaced()).toBe(1);

  // Unblock, then cut 20:20's own results (never delivered to it): a FULL package, since APPLIED
  // names the notice; for the same cut id the results replace the notice.
  await unblock(registry, fx.ws.stateDir, 'tv-norte', systemClock, { env: {}, noticePublisher });
  const pushed = await runPush({ registry, stateDir: fx.ws.stateDir, cutId: '20240602_2020' }, deps);
  expect(pushed.results.map((r) => [r.id, r.outcome])).toEqual([['tv-norte', 'delivered']]);
  expect(latest()).toBe('PREP2024_MICH_20240602_2020.tar.gz');
  const back = await apply(SHELLS[0]);
  expect(back).toMatchObject({ code: 0, stderr: '' });
  expect(back.stdout).toMatch(/se aplicó el corte 20240602_2020 \(paquete completo/);
  expect(readlinkSync(path.join(dir, 'current'))).toBe('releases/20240602_2020');
  expect(readFileSync(path.join(dir, 'current', 'json', 'main.json'), 'utf8')).toBe('{"version":2}');

  // The next cut moves LATEST and current on as usual; pruning to 2 counts the notice's release.
  expect((await cutAt(4, '2024-06-02T21:00:00-06:00')).exit_code).toBe(0);
  expect(latest()).toMatch(/^PREP2024_MICH_20240602_2100/);
  expect(await apply(SHELLS[1], ['--keep', '2'])).toMatchObject({ code: 0, stderr: '' });
  expect(readlinkSync(path.join(dir, 'current'))).toBe('releases/20240602_2100');
  expect(readFileSync(path.join(dir, 'current', 'json', 'main.json'), 'utf8')).toBe('{"version":4}');
  expect(readdirSync(path.join(dir, 'releases')).sort()).toEqual(['20240602_2020-aviso', '20240602_2100']);

  // Blocked again with a publisher at hand: the notice of the cut it has replaces that cut's results.
  const again = await block(registry, fx.ws.stateDir, 'tv-norte', 'servidor caído', systemClock, { env: {}, noticePublisher });
  expect(again.follow_up?.warnings ?? []).toEqual([]);
  expect(latest()).toBe('PREP2024_MICH_20240602_2100-aviso.tar.gz');
  expect(await apply(SHELLS[0])).toMatchObject({ code: 0, stderr: '' });
  expect(readlinkSync(path.join(dir, 'current'))).toBe('releases/20240602_2100-aviso');
  expect(readFileSync(path.join(dir, 'current', 'index.html'), 'utf8')).toContain('ya no es un difusor válido');
  expect(readFileSync(path.join(dir, 'current', 'index.html'), 'utf8')).not.toContain('servidor caído');
  // Unblocked and blocked again before anything else was sent: LATEST still names that notice,
  // which is in place as it is (never rewritten).
  const noticeSha256 = () => readFileSync(path.join(dir, 'PREP2024_MICH_20240602_2100-aviso.tar.gz.sha256'), 'utf8');
  const sha256Before = noticeSha256();
  await unblock(registry, fx.ws.stateDir, 'tv-norte', systemClock, { env: {}, noticePublisher });
  const kept = await block(registry, fx.ws.stateDir, 'tv-norte', 'otra razón', systemClock, { env: {}, noticePublisher });
  expect(kept.follow_up?.notices.placed).toEqual(['tv-norte']);
  expect(latest()).toBe('PREP2024_MICH_20240602_2100-aviso.tar.gz');
  expect(noticeSha256()).toBe(sha256Before);
  // Unblocked, the cut's results pushed, then blocked with another reason: the same name with other
  // text. A package LATEST named is never rewritten, so that notice waits for the next cut, said so.
  await unblock(registry, fx.ws.stateDir, 'tv-norte', systemClock, { env: {}, noticePublisher });
  expect((await runPush({ registry, stateDir: fx.ws.stateDir }, deps)).exit_code).toBe(0);
  expect(latest()).toBe('PREP2024_MICH_20240602_2100.tar.gz');
  const reblocked = await block(registry, fx.ws.stateDir, 'tv-norte', 'una tercera razón', systemClock, { env: {}, noticePublisher, publicReason: 'Otro aviso.' });
  expect((reblocked.follow_up?.warnings ?? []).join('\n')).toMatch(/PREP2024_MICH_20240602_2100-aviso\.tar\.gz is already there with other content/);
  expect(noticeSha256()).toBe(sha256Before);
  expect(latest()).toBe('PREP2024_MICH_20240602_2100.tar.gz');
  expect((await status(registry, fx.ws.stateDir)).notices_pending).toEqual(['tv-norte']);

  // prep-apply still refuses an older cut's notice, and a notice dressed up as a cut's results.
  const applied2100 = readFileSync(path.join(dir, 'APPLIED'), 'utf8');
  expect(applied2100).toBe('20240602_2100-aviso\n');
  writeFileSync(path.join(dir, 'LATEST'), `${notice}\n`);
  const older = await apply(SHELLS[1]);
  expect(older).toMatchObject({ code: 1, stdout: '' });
  expect(older.stderr).toMatch(/se rechaza volver atrás: LATEST nombra el corte 20240602_2020, anterior al aplicado 20240602_2100-aviso/);
  const asResults = 'PREP2024_MICH_20240602_2100_b.tar.gz';
  for (const suffix of ['', '.sha256', '.sig']) copyFileSync(path.join(dir, `PREP2024_MICH_20240602_2100-aviso.tar.gz${suffix}`), path.join(dir, `${asResults}${suffix}`));
  writeFileSync(path.join(dir, 'LATEST'), `${asResults}\n`);
  const disguised = await apply(SHELLS[1]);
  expect(disguised).toMatchObject({ code: 1, stdout: '' });
  expect(disguised.stderr).toMatch(/se llama como resultados, pero su MANIFEST.json es un aviso/);
  expect(readlinkSync(path.join(dir, 'current'))).toBe('releases/20240602_2100-aviso');
  expect(readFileSync(path.join(dir, 'APPLIED'), 'utf8')).toBe(applied2100);
}, LONG);
