// The notice on a blocked difusor's portal, for real: a site-mode difusor on OpenSSH sshd is blocked,
// its `current` then names a release holding only the Spanish notice (no results), a package-only
// difusor's notice without a signing_key is refused with that reason and stays pending, and after unblock the next push
// publishes results again. And `retract` moves a site-mode difusor's `current` back without
// --allow-rollback.
import { readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { block, unblock } from '../../src/commands/block.js';
import { retract } from '../../src/commands/retract.js';
import { status } from '../../src/commands/status.js';
import { systemClock } from '../../src/core/clock.js';
import { parseCutTime } from '../../src/core/cut.js';
import { runCut, runPush } from '../../src/cut/run.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import { noticePublisherFor } from '../../src/delivery/notice-publisher.js';
import { loadRegistry } from '../../src/registry/validate.js';
import { registryYamlFor } from '../helpers/sshd.js';
import { sshdWithWorkspace } from '../helpers/jest-fixtures.js';

const LONG = 120_000;
const fx = sshdWithWorkspace({ accounts: [{ id: 'sitio' }, { id: 'paquete' }] }, LONG);

async function registry() {
  const yaml = registryYamlFor(fx.sshd, ['sitio', 'paquete'], { difusores: { sitio: { delivery: 'site' } } });
  await fx.ws.writeRegistry(`institute_name: Instituto Electoral de Michoacán\n${yaml}`);
  return loadRegistry(fx.ws.registryFile, { env: {} });
}

test('block places the notice on a site-mode difusor; unblock and push bring the results back', async () => {
  const reg = await registry();
  const noticePublisher = noticePublisherFor(reg, { transport: ssh2Transport, env: {}, clock: systemClock });
  const deps = { clock: systemClock, env: {}, transport: ssh2Transport, noticePublisher };
  const cut = parseCutTime('2024-06-02T20:20:00-06:00', reg.timezone, Date.now);
  const first = await runCut({ registry: reg, stateDir: fx.ws.stateDir, sourceDir: fx.ws.sourceDir, cut }, deps);
  expect(first.exit_code).toBe(0);
  const sitio = fx.sshd.accounts.sitio.dir;
  expect(await readlink(path.join(sitio, 'current'))).toBe('releases/20240602_2020');

  const blocked = await block(reg, fx.ws.stateDir, 'sitio', 'no respondió a las llamadas.', systemClock, {
    env: {},
    noticePublisher,
    publicReason: 'Su sitio publicó cifras distintas a las del PREP oficial.',
  });
  expect(blocked.follow_up?.warnings ?? []).toEqual([]);
  expect(await readlink(path.join(sitio, 'current'))).toBe('releases/20240602_2020-aviso');
  const served = await readdir(path.join(sitio, 'current'));
  expect(served.sort()).toEqual(['MANIFEST.json', 'index.html', 'json']);
  expect(await readdir(path.join(sitio, 'current', 'json'))).toEqual(['main.json']);
  const html = await readFile(path.join(sitio, 'current', 'index.html'), 'utf8');
  expect(html).toContain('lang="es"');
  expect(html).toContain('Instituto Electoral de Michoacán');
  expect(html).toContain('ya no es un difusor válido');
  expect(html).toContain('Su sitio publicó cifras distintas a las del PREP oficial.');
  // The operator's note is internal: not on the page, not in the data, not in the served MANIFEST.json.
  const main = await readFile(path.join(sitio, 'current', 'json', 'main.json'), 'utf8');
  const manifest = await readFile(path.join(sitio, 'current', 'MANIFEST.json'), 'utf8');
  for (const text of [html, main, manifest]) expect(text).not.toContain('no respondió a las llamadas');
  expect(JSON.parse(main)).toMatchObject({ difusor_valido: false, institute: 'Instituto Electoral de Michoacán' });
  // The results release is still there, whole, for when the difusor is back.
  expect(await readFile(path.join(sitio, 'releases', '20240602_2020', 'MANIFEST.json'), 'utf8')).toContain('20240602_2020');

  // A package-only difusor gets a signed notice package; without signing_key it cannot: said, and left pending.
  const blockedPackage = await block(reg, fx.ws.stateDir, 'paquete', 'servidor caído', systemClock, { env: {}, noticePublisher });
  expect((blockedPackage.follow_up?.warnings ?? []).join('\n')).toMatch(/paquete takes packages \(delivery: package\): its notice goes as a signed package, and the registry has no signing_key/);
  expect((await status(reg, fx.ws.stateDir)).notices_pending).toEqual(['paquete']);

  await unblock(reg, fx.ws.stateDir, 'sitio', systemClock, { env: {}, noticePublisher });
  const again = await runPush({ registry: reg, stateDir: fx.ws.stateDir, only: ['sitio'] }, deps);
  expect(again.results.map((r) => [r.id, r.outcome])).toEqual([['sitio', 'delivered']]);
  expect(await readlink(path.join(sitio, 'current'))).toBe('releases/20240602_2020');

  // Blocked again, missing a cut, then unblocked: the next cut links from the results release
  // still on its disk, never from the notice, so it costs the changed files (#23 item 5).
  await block(reg, fx.ws.stateDir, 'sitio', 'otra vez', systemClock, { env: {}, noticePublisher });
  expect(await readlink(path.join(sitio, 'current'))).toBe('releases/20240602_2020-aviso');
  await unblock(reg, fx.ws.stateDir, 'sitio', systemClock, { env: {}, noticePublisher });
  await writeFile(path.join(fx.ws.sourceDir, 'json', 'main.json'), '{"corte":"20:40"}\n');
  const later = parseCutTime('2024-06-02T20:40:00-06:00', reg.timezone, Date.now);
  const next = await runCut({ registry: reg, stateDir: fx.ws.stateDir, sourceDir: fx.ws.sourceDir, cut: later, only: ['sitio'] }, deps);
  const publish = next.results[0].publish;
  expect([next.results[0].outcome, publish?.release]).toEqual(['delivered', '20240602_2040']);
  const files = JSON.parse(await readFile(path.join(sitio, 'current', 'MANIFEST.json'), 'utf8')).files.length;
  // json/main.json and MANIFEST.json uploaded; every other file linked from 20240602_2020.
  expect(publish?.uploaded_files).toBe(2);
  expect(publish?.linked_files).toBe(files - 1);
}, LONG);

test('after retract, the next push moves current back to the newest cut not withdrawn', async () => {
  const reg = await registry();
  const deps = { clock: systemClock, env: {}, transport: ssh2Transport };
  const sitio = fx.sshd.accounts.sitio.dir;
  const mistaken = parseCutTime('2027-06-02T20:40:00-06:00', reg.timezone, () => Date.parse('2027-06-02T20:41:00-06:00'));
  const wrong = await runCut({ registry: reg, stateDir: fx.ws.stateDir, sourceDir: fx.ws.sourceDir, cut: mistaken, only: ['sitio'], allowFuture: true }, deps);
  expect(wrong.results.map((r) => [r.id, r.outcome])).toEqual([['sitio', 'delivered']]);
  expect(await readlink(path.join(sitio, 'current'))).toBe('releases/20270602_2040');
  // Without a retract, going back is refused.
  const refused = await runPush({ registry: reg, stateDir: fx.ws.stateDir, cutId: '20240602_2020', only: ['sitio'] }, deps);
  expect(refused.results.map((r) => [r.id, r.outcome, r.error?.code])).toEqual([['sitio', 'failed', 'ROLLBACK_REFUSED']]);
  await retract(reg, fx.ws.stateDir, '20270602_2040', 'wrong year in --cut', systemClock);
  const back = await runPush({ registry: reg, stateDir: fx.ws.stateDir, only: ['sitio'] }, deps);
  expect(back.results.map((r) => [r.id, r.outcome])).toEqual([['sitio', 'delivered']]);
  // The newest cut not withdrawn is the first test's last one.
  expect(await readlink(path.join(sitio, 'current'))).toBe('releases/20240602_2040');
}, LONG);
