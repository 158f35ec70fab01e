// The fault matrix: ONE cut, with the real ssh2 transport, beside healthy OpenSSH difusores, to
// difusores that fail in every way the contract names. For each: the contract's error code, no
// final name that differs from the institute's copy, temporary files cleaned where the server is
// still reachable, the healthy ones delivered, the run's wall time bounded by the deadlines, and
// the outcome in the ledger. With FAULT_MATRIX_OUT set, the matrix is written there as markdown.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { parseCutTime } from '../../src/core/cut.js';
import { runCut, type RunProgress } from '../../src/cut/run.js';
import type { RunReport } from '../../src/cut/report.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import { TEMP_FILE_PATTERN } from '../../src/sftp/atomic-upload.js';
import { readJournal } from '../../src/ledger/journal.js';
import type { BuiltPackage } from '../../src/package/types.js';
import { loadRegistry } from '../../src/registry/validate.js';
import { startSftpServer, type SftpFaults, type SftpServerHandle } from '../../src/sftp-server/index.js';
import { makeKeyPair } from '../helpers/keys.js';
import { closedPort, startBlackhole, type Blackhole } from '../helpers/net.js';
import { registryYamlFor, startSshd, type SshdFixture } from '../helpers/sshd.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const CONNECT_TIMEOUT_S = 2;
const TRANSFER_TIMEOUT_S = 6;
/** Bytes of incompressible data added to the site, so transfers last long enough to be hit. */
const BULK_BYTES = 6 * 1024 * 1024;
const MIB = 1024 * 1024;

interface Row {
  fault: string;
  id: string;
  expected: string;
  /** Whether the server can still be reached after the fault, so our temporary files must be gone. */
  reachable: boolean;
  /** Where the difusor's files live locally (its remote_dir), to inspect what it received. */
  dir: string;
}

let ws: Workspace;
let work: string;
let sshd: SshdFixture;
let doomed: SshdFixture;
let blackhole: Blackhole;
let proxy: { port: number; close(): Promise<void> };
const servers: SftpServerHandle[] = [];
const rows: Row[] = [];

/** A TCP proxy to a real sshd that forwards the client's bytes at most `bytesPerSecond`: a thin link. */
function startThrottlingProxy(targetPort: number, bytesPerSecond: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(s);
      });
    }
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      client.pause();
      upstream.write(chunk);
      setTimeout(() => client.resume(), (chunk.length / bytesPerSecond) * 1000);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : 0,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

async function serveInProcess(id: string, faults: SftpFaults): Promise<{ server: SftpServerHandle; dir: string }> {
  const root = await mkdtemp(join(work, `${id}-`));
  await mkdir(join(root, 'srv/prep'), { recursive: true }); // remote_dir exists: prep-push never creates it
  const server = await startSftpServer({ root, username: sshd.username, authorizedKeys: [sshd.clientKey.publicKey], faults });
  servers.push(server);
  return { server, dir: join(root, 'srv', 'prep') };
}

function yamlDifusor(id: string, fields: Record<string, string | number>): string {
  const lines = [`  - id: ${id}`, `    name: "Difusor ${id}"`];
  for (const [k, v] of Object.entries(fields)) lines.push(`    ${k}: ${JSON.stringify(v)}`);
  return `${lines.join('\n')}\n`;
}

async function filesIn(dir: string): Promise<string[]> {
  return existsSync(dir) ? (await readdir(dir)).sort() : [];
}

beforeAll(async () => {
  ws = await makeWorkspace('prep-push-fault-matrix-');
  work = await mkdtemp(join(tmpdir(), 'prep-push-fault-servers-'));
  await writeFile(join(ws.sourceDir, 'bulk.bin'), randomBytes(BULK_BYTES));
  sshd = await startSshd({ accounts: [{ id: 'healthy-1' }, { id: 'healthy-2' }, { id: 'wrong-host-key' }, { id: 'wrong-client-key' }, { id: 'read-only', readOnly: true }] });
  doomed = await startSshd({ accounts: [{ id: 'sshd-killed' }] });
  blackhole = await startBlackhole();
  proxy = await startThrottlingProxy(doomed.accounts['sshd-killed'].port, 2 * MIB);
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await proxy?.close();
  await blackhole?.close();
  await doomed?.stop();
  await sshd?.stop();
  await ws?.remove();
  await rm(work, { recursive: true, force: true });
});

test('one cut beside healthy difusores: every fault classified, nothing half-published, deadlines held, all journaled', async () => {
  const otherHostKey = await makeKeyPair(work, 'other_host');
  const strangerKey = await makeKeyPair(work, 'stranger');
  const refusedPort = await closedPort();
  const full = await serveInProcess('full-disk', { failWritesAfterBytes: 1 * MIB });
  const drop = await serveInProcess('dropped', { dropAfterBytes: 1 * MIB, onlyFirstConnections: 1 });
  const frozen = await serveInProcess('frozen', { stallAfterBytes: 1 * MIB });
  const slow = await serveInProcess('slow-link', { bytesPerSecond: 200 * 1024 });

  const sshdIds = ['healthy-1', 'healthy-2', 'wrong-host-key', 'wrong-client-key', 'read-only'];
  let yaml = registryYamlFor(sshd, sshdIds, {
    push: { concurrency: 16, connect_timeout_s: CONNECT_TIMEOUT_S, transfer_timeout_s: TRANSFER_TIMEOUT_S, retries: 0 },
    difusores: {
      'wrong-host-key': { host_key: otherHostKey.fingerprint },
      'wrong-client-key': { private_key: strangerKey.privateKeyPath },
    },
  });
  const base = { host: '127.0.0.1', host_key: sshd.hostKeyFingerprint };
  yaml += yamlDifusor('refused', { ...base, port: refusedPort, remote_dir: join(work, 'refused') });
  yaml += yamlDifusor('blackhole', { ...base, port: blackhole.port, remote_dir: join(work, 'blackhole') });
  for (const [id, s] of [['full-disk', full], ['dropped', drop], ['frozen', frozen], ['slow-link', slow]] as const) {
    yaml += yamlDifusor(id, { host: '127.0.0.1', port: s.server.port, host_key: s.server.hostKeyFingerprint, remote_dir: '/srv/prep' });
  }
  yaml += yamlDifusor('sshd-killed', { host: '127.0.0.1', port: proxy.port, host_key: doomed.hostKeyFingerprint, private_key: doomed.clientKey.privateKeyPath, remote_dir: doomed.accounts['sshd-killed'].dir });
  await ws.writeRegistry(yaml);

  rows.push(
    { fault: 'none (healthy OpenSSH)', id: 'healthy-1', expected: 'delivered', reachable: true, dir: sshd.accounts['healthy-1'].dir },
    { fault: 'none (healthy OpenSSH)', id: 'healthy-2', expected: 'delivered', reachable: true, dir: sshd.accounts['healthy-2'].dir },
    { fault: 'connection refused', id: 'refused', expected: 'CONNECT_REFUSED', reachable: false, dir: join(work, 'refused') },
    { fault: 'blackhole (accepts, never speaks)', id: 'blackhole', expected: 'CONNECT_TIMEOUT', reachable: false, dir: join(work, 'blackhole') },
    { fault: 'wrong host key', id: 'wrong-host-key', expected: 'HOST_KEY_MISMATCH', reachable: true, dir: sshd.accounts['wrong-host-key'].dir },
    { fault: 'wrong client key', id: 'wrong-client-key', expected: 'AUTH_FAILED', reachable: true, dir: sshd.accounts['wrong-client-key'].dir },
    { fault: 'read-only directory (sftp -R)', id: 'read-only', expected: 'PERMISSION_DENIED', reachable: true, dir: sshd.accounts['read-only'].dir },
    { fault: 'full disk after 1 MiB', id: 'full-disk', expected: 'NO_SPACE', reachable: true, dir: full.dir },
    { fault: 'connection dropped after 1 MiB', id: 'dropped', expected: 'CONNECTION_LOST', reachable: true, dir: drop.dir },
    { fault: 'server frozen after 1 MiB', id: 'frozen', expected: 'TRANSFER_TIMEOUT', reachable: false, dir: frozen.dir },
    { fault: 'sshd killed mid-transfer', id: 'sshd-killed', expected: 'CONNECTION_LOST', reachable: false, dir: doomed.accounts['sshd-killed'].dir },
    { fault: 'very slow link (200 KiB/s)', id: 'slow-link', expected: 'TRANSFER_TIMEOUT', reachable: false, dir: slow.dir },
  );

  // Kill the doomed sshd once its account shows one of our temporary files growing.
  const killedDir = doomed.accounts['sshd-killed'].dir;
  let killedAtBytes = -1;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      for (const name of await filesIn(killedDir)) {
        if (!TEMP_FILE_PATTERN.test(name)) continue;
        const size = (await stat(join(killedDir, name)).catch(() => ({ size: 0 }))).size;
        if (size > 0) {
          killedAtBytes = size;
          doomed.killAll();
          return;
        }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();

  const registry = await loadRegistry(ws.registryFile, { env: {} });
  const cut = parseCutTime('2024-06-02T20:20:00-06:00', registry.timezone, Date.now);
  let builtAt = 0;
  let pkg: BuiltPackage | undefined;
  const t0 = performance.now();
  const onProgress = (e: RunProgress) => {
    if (e.type === 'package') {
      builtAt = performance.now();
      pkg = e.pkg;
    }
  };
  let report: RunReport;
  try {
    report = await runCut({ registry, stateDir: ws.stateDir, sourceDir: ws.sourceDir, cut }, { clock: systemClock, env: {}, transport: ssh2Transport, onProgress });
  } finally {
    watching = false;
    await watcher;
  }
  const end = performance.now();
  const buildS = (builtAt - t0) / 1000;
  const deliverS = (end - builtAt) / 1000;

  expect(pkg).toBeDefined();
  if (killedAtBytes <= 0) throw new Error(`sshd never killed: ${JSON.stringify(report.results.find((r) => r.id === "sshd-killed"))}`);
  // Every difusor runs in parallel (concurrency 16), so delivery ends within one transfer deadline,
  // plus the post-failure cleanup reconnect (capped) and socket teardown.
  expect(deliverS).toBeLessThan(TRANSFER_TIMEOUT_S + 4);

  const byId = new Map(report.results.map((r) => [r.id, r]));
  const { events, warnings } = await readJournal(ws.stateDir);
  expect(warnings).toEqual([]);
  const journaled = new Map(
    events.filter((e) => e.type === 'outcome' && e.cut === report.cut.id).map((e) => [(e as { id: string }).id, e as { outcome: string; code: string | null }]),
  );
  const institutePackage = await readFile(pkg!.file);
  const instituteSha = await readFile(pkg!.sha256File);

  const table: string[] = [
    '| fault | difusor | error code | seconds | temp files left | final files | journal |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const result = byId.get(row.id);
    expect([row.id, result?.outcome, result?.error?.code ?? 'delivered']).toEqual([
      row.id,
      row.expected === 'delivered' ? 'delivered' : 'failed',
      row.expected,
    ]);
    // Every failed difusor's message names it and its host:port.
    if (result!.error) expect(result!.error.message).toContain(row.id);

    const files = await filesIn(row.dir);
    const temps = files.filter((f) => TEMP_FILE_PATTERN.test(f));
    const finals = files.filter((f) => !TEMP_FILE_PATTERN.test(f));
    for (const name of finals) {
      const content = await readFile(join(row.dir, name));
      if (name === pkg!.fileName) expect(content.equals(institutePackage)).toBe(true);
      else if (name === `${pkg!.fileName}.sha256`) expect(content.equals(instituteSha)).toBe(true);
      else if (name === 'LATEST') expect(content.toString()).toBe(`${pkg!.fileName}\n`);
      else throw new Error(`${row.id}: unexpected file ${name} under a final name`);
    }
    if (row.expected === 'delivered') expect(finals).toEqual([pkg!.fileName, `${pkg!.fileName}.sha256`, 'LATEST'].sort());
    else expect(finals).toEqual([]); // nothing half-published, and no LATEST naming a package it lacks
    if (row.reachable) expect([row.id, temps]).toEqual([row.id, []]);

    const entry = journaled.get(row.id);
    expect([row.id, entry?.outcome, entry?.code ?? 'delivered']).toEqual([row.id, result!.outcome, row.expected]);

    table.push(
      `| ${row.fault} | ${row.id} | ${result!.error?.code ?? 'delivered'} | ${result!.seconds.toFixed(1)} | ` +
        `${temps.length === 0 ? 'none' : `${temps.length} (deadline spent or server gone; swept by the next delivery)`} | ` +
        `${finals.length === 0 ? 'none' : 'identical to the institute\u2019s'} | ${entry!.outcome}${entry!.code ? ` ${entry!.code}` : ''} |`,
    );
  }
  expect(report.results).toHaveLength(rows.length);
  expect(report.exit_code).toBe(1);
  table.push(
    '',
    `One cut, ${rows.length} difusores at concurrency 16, package ${(pkg!.bytes / MIB).toFixed(1)} MiB, ` +
      `connect_timeout_s ${CONNECT_TIMEOUT_S}, transfer_timeout_s ${TRANSFER_TIMEOUT_S}, retries 0: ` +
      `build ${buildS.toFixed(1)} s, delivery ${deliverS.toFixed(1)} s (bound: ${TRANSFER_TIMEOUT_S + 4} s).`,
  );
  if (process.env.FAULT_MATRIX_OUT) {
    await mkdir(join(process.env.FAULT_MATRIX_OUT, '..'), { recursive: true });
    await writeFile(process.env.FAULT_MATRIX_OUT, `${table.join('\n')}\n`);
  }
}, 90_000);
