// `node dist/bench/wan-mkdir-probe.js [FOLDERS]`: how many SFTP requests in flight making a
// release's folders needs over the WAN. One real sshd behind bench/wan-link.ts (50 ms RTT,
// 100 Mbit/s) and one on loopback; ssh2 directly, MKDIR of FOLDERS sección-like folders
// (casillas/Dxx/Sxxxx, a depth at a time as src/publish/release.ts does) with 64 and 1,024 in flight.
// Evidence for issue 25's "folders made with far more requests in flight"; not part of `npm run bench`.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, type SFTPWrapper } from 'ssh2';
import pLimit from 'p-limit';
import { startBenchSshd, targetsOf } from './harness.js';
import { createWanLink } from './wan-link.js';

function sftpOf(host: string, port: number, username: string, key: Buffer): Promise<{ sftp: SFTPWrapper; end: () => void }> {
  return new Promise((ok, fail) => {
    const client = new Client();
    client
      .on('ready', () => client.sftp((error, sftp) => (error ? fail(error) : ok({ sftp, end: () => client.end() }))))
      .on('error', fail)
      .connect({ host, port, username, privateKey: key, hostVerifier: () => true });
  });
}

async function makeFolders(sftp: SFTPWrapper, root: string, folders: number, inFlight: number): Promise<number> {
  const limit = pLimit(inFlight);
  const mkdir = (p: string): Promise<void> => limit(() => new Promise<void>((ok, fail) => sftp.mkdir(p, { mode: 0o755 }, (e) => (e ? fail(e) : ok()))));
  const t = performance.now();
  await mkdir(root);
  await mkdir(`${root}/casillas`);
  await Promise.all(Array.from({ length: 24 }, (_, d) => mkdir(`${root}/casillas/D${d + 1}`)));
  await Promise.all(Array.from({ length: folders }, (_, s) => mkdir(`${root}/casillas/D${(s % 24) + 1}/S${s + 1}`)));
  return (performance.now() - t) / 1000;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const folders = Number(process.argv[2] ?? 5000);
  const link = await createWanLink({ rttMs: 50, rateMbit: 100 });
  const wan = await startBenchSshd(1, 'm', { listenHost: link.remoteHost, netns: link.netns });
  const lo = await startBenchSshd(1, 'l');
  try {
    for (const [name, fixture] of [['WAN 50 ms', wan], ['loopback', lo]] as const) {
      const t = targetsOf(fixture)[0];
      const { sftp, end } = await sftpOf(t.host, t.port, fixture.username, readFileSync(fixture.clientKey.privateKeyPath));
      for (let round = 0; round < 2; round += 1) {
        for (const inFlight of [64, 1024]) {
          const s = await makeFolders(sftp, `${t.remoteDir}/r${round}-${inFlight}`, folders, inFlight);
          process.stdout.write(`${name}: ${folders + 26} folders, ${inFlight} in flight: ${s.toFixed(2)} s\n`);
        }
      }
      end();
    }
  } finally {
    await wan.stop();
    await lo.stop();
    link.remove();
  }
}
