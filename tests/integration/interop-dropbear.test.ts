import ssh2 from 'ssh2';
import { readFileSync } from 'node:fs';
import { startDropbear } from '../helpers/dropbear.js';
function tryIt(f: any, user: string) { return new Promise((res) => {
const c = new ssh2.Client();
c.on('ready', () => c.sftp((e: any, s: any) => { if (e) { res(['sftperr', e.message]); c.end(); return; }
  s.writeFile(`/tmp/none/x`, 'hi', (e: any) => { res(['ok', s._extensions, e?.message, e?.code, (c as any)._remoteVer]); c.end(); }); }));
c.on('error', (e: any) => res(['err', e.message, e.level, (c as any)._remoteVer]));
c.connect({ host: '127.0.0.1', port: f.port, username: user, privateKey: readFileSync(f.clientKey.privateKeyPath), hostVerifier: () => true });
}); }
test('starts', async () => {
  const t = Date.now();
  const f = await startDropbear();
  console.log(Date.now() - t, f.port, f.hostKeys);
  console.log(await tryIt(f, f.account.username));
  console.log(await tryIt(f, f.noShellAccount.username));
  console.log(f.log());
  await f.stop();
});
