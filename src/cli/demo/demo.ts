// `prep-push demo`: a whole election night in under a minute, on this machine alone. Starts local
// in-process SFTP servers (one of them down), writes a registry and a publication folder to a temp
// dir, runs four cuts 20 minutes apart through the real cut pipeline, and shows the down difusor
// blocked after its third consecutive miss, then unblocked and re-pushed by hand. la-voz takes the
// site itself (delivery: site), served over HTTP from its `current` while the cuts switch it.
import { mkdtemp, readdir, readlink, rm, writeFile, mkdir } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import type { Clock } from '../../core/clock.js';
import { parseCutTime } from '../../core/cut.js';
import { formatSeconds } from '../../core/duration.js';
import { renderBlockChange, renderRunSummary, renderStatus, type Style } from '../render.js';
import { unblock } from '../../commands/block.js';
import { status } from '../../commands/status.js';
import { runCut, runPush, type RunProgress } from '../../cut/run.js';
import { ssh2Transport } from '../../sftp/connect.js';
import { loadRegistry } from '../../registry/validate.js';
import { startSftpServer, type SftpServerHandle } from '../../sftp-server/server.js';
import { writeSampleSite } from './sample-site.js';
import { serveStaticSite, type StaticSite } from './static-site.js';

/** The cut id the web server's json/main.json names right now. */
async function servedCut(url: string): Promise<string> {
  const response = await fetch(`${url}json/main.json`);
  if (!response.ok) return `(HTTP ${response.status})`;
  return String(((await response.json()) as { corte?: unknown }).corte);
}

export interface DemoOptions {
  keep: boolean;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  print: (lines: string[] | string) => void;
  style: Style;
}

const DIFUSORES: Array<{ id: string; name: string; down?: boolean; delivery?: 'site' | 'both' }> = [
  { id: 'el-sol', name: 'El Sol de Morelia' },
  { id: 'la-voz', name: 'La Voz de Michoacán', delivery: 'site' },
  { id: 'radio-uni', name: 'Radio Universidad', delivery: 'both' },
  { id: 'tv-norte', name: 'TV Norte', down: true },
];
const CUT_TIMES = ['2024-06-02T20:00:00-06:00', '2024-06-02T20:20:00-06:00', '2024-06-02T20:40:00-06:00', '2024-06-02T21:00:00-06:00'];
const REMOTE_DIR = '/prep/paquetes';

/** A port nobody listens on: what a difusor whose server is down looks like. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function runDemo(options: DemoOptions): Promise<{ exitCode: number }> {
  const { print, style } = options;
  const began = options.clock.monotonic();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'prep-push-demo-'));
  const servers: SftpServerHandle[] = [];
  let web: StaticSite | undefined;
  try {
    const keys = ssh2.utils.generateKeyPairSync('ed25519');
    await mkdir(path.join(dir, 'keys'));
    await writeFile(path.join(dir, 'keys', 'demo_ed25519'), keys.private, { mode: 0o600 });

    const entries: string[] = [];
    const serverOf = new Map<string, SftpServerHandle>();
    for (const d of DIFUSORES) {
      const root = path.join(dir, 'servers', d.id);
      // The difusor's side: its remote_dir exists (prep-push never creates it).
      await mkdir(path.join(root, REMOTE_DIR), { recursive: true });
      const server = await startSftpServer({ root, username: 'iem', authorizedKeys: [keys.public] });
      servers.push(server);
      serverOf.set(d.id, server);
      // The down difusor keeps its pinned key but its port answers nothing: its server is off.
      const port = d.down ? await closedPort() : server.port;
      entries.push(
        `  - id: ${d.id}\n    name: ${d.name}\n    host: 127.0.0.1\n    port: ${port}\n    host_key: "${server.hostKeyFingerprint}"` +
          (d.delivery ? `\n    delivery: ${d.delivery}` : ''),
      );
    }
    const registryFile = path.join(dir, 'difusores.yaml');
    await writeFile(
      registryFile,
      [
        'institute: IEM',
        'timezone: America/Mexico_City',
        'block_after_misses: 3',
        'package:',
        '  name: "PREP2024_MICH_{cut}"',
        '  format: tar.gz',
        'push:',
        '  concurrency: 4',
        '  connect_timeout_s: 5',
        '  transfer_timeout_s: 30',
        '  retries: 1',
        'defaults:',
        '  username: iem',
        '  private_key: ./keys/demo_ed25519',
        `  remote_dir: ${REMOTE_DIR}`,
        'difusores:',
        ...entries,
        '',
      ].join('\n'),
    );
    const registry = await loadRegistry(registryFile, { env: options.env, displayPath: registryFile });
    const stateDir = path.join(dir, 'state');
    const sourceDir = path.join(dir, 'publicacion');
    // A real `cut` prints each difusor as it finishes, then the table; the demo shows the table only.
    const onProgress = (event: RunProgress) => {
      if (event.type === 'blocked') print(style.bad(`BLOCKED    ${event.id}: ${event.reason}`));
    };
    const deps = { clock: options.clock, env: options.env, transport: ssh2Transport, onProgress };

    const laVozCurrent = path.join(dir, 'servers', 'la-voz', REMOTE_DIR, 'current');
    web = await serveStaticSite(laVozCurrent);
    print([
      style.bold('prep-push demo: election night in a minute'),
      `A registry of ${DIFUSORES.length} difusores on local SFTP servers (${registryFile}).`,
      `tv-norte's server is down. Cuts every 20 minutes; ${registry.blockAfterMisses} consecutive misses block a difusor.`,
      `la-voz publishes the site itself (delivery: site); its web server, serving ${REMOTE_DIR}/current, is at ${web.url}`,
    ]);
    for (const [n, time] of CUT_TIMES.entries()) {
      const cut = parseCutTime(time, registry.timezone, options.clock.now);
      await rm(sourceDir, { recursive: true, force: true });
      await writeSampleSite(sourceDir, cut, n);
      print(['', style.bold(`── cut ${n + 1} of ${CUT_TIMES.length}: ${cut.id} (${cut.time}) — prep-push cut --source publicacion --cut ${time}`)]);
      const report = await runCut({ registry, stateDir, sourceDir, cut }, deps);
      print(renderRunSummary(report, style).slice(1));
      if (n === 0) {
        for (const r of report.results.filter((x) => x.error)) print(style.dim(`  why ${r.id} failed: ${r.error!.message}`));
      }
      print(style.dim(`exit code ${report.exit_code}`));
      print(`  ${web.url}json/main.json now says: corte ${await servedCut(web.url)}`);
    }

    print(['', style.bold('── prep-push status'), ...renderStatus(await status(registry, stateDir), style, registry.timezone, stateDir)]);

    print(['', style.bold('── tv-norte fixes its server; institute IT unblocks it and re-pushes the latest cut by hand')]);
    const tvNorte = registry.difusores.find((d) => d.id === 'tv-norte')!;
    tvNorte.port = serverOf.get('tv-norte')!.port;
    print(renderBlockChange(await unblock(registry, stateDir, 'tv-norte', options.clock)));
    print('$ prep-push push --only tv-norte');
    const repush = await runPush({ registry, stateDir, only: ['tv-norte'] }, deps);
    print(renderRunSummary(repush, style).slice(1));
    print(style.dim(`exit code ${repush.exit_code}`));
    print(['', style.bold('── prep-push status'), ...renderStatus(await status(registry, stateDir), style, registry.timezone, stateDir)]);

    const seen = await readdir(path.join(dir, 'servers', 'el-sol', REMOTE_DIR));
    print(['', style.bold(`── what el-sol sees in ${REMOTE_DIR}`), ...seen.sort().map((f) => `  ${f}`)]);
    const laVozDir = path.join(dir, 'servers', 'la-voz', REMOTE_DIR);
    const releases = (await readdir(path.join(laVozDir, 'releases'))).sort();
    print([
      '',
      style.bold(`── what la-voz (delivery: site) sees in ${REMOTE_DIR}`),
      `  current -> ${await readlink(path.join(laVozDir, 'current'))}`,
      ...releases.map((r) => `  releases/${r}/`),
      `  served at ${web.url} (the demo's stand-in for their nginx; document root ${REMOTE_DIR}/current)`,
    ]);
    print([
      '',
      `done in ${formatSeconds((options.clock.monotonic() - began) / 1000)}.` +
        (options.keep ? ` Everything is kept in ${dir}` : ' (run `prep-push demo --keep` to keep the temp folder and look around)'),
    ]);
    return { exitCode: repush.exit_code };
  } finally {
    await web?.close();
    await Promise.all(servers.map((s) => s.close()));
    if (!options.keep) await rm(dir, { recursive: true, force: true });
  }
}
