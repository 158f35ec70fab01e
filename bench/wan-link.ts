// A WAN between this namespace and a network namespace where the difusores' sshd run: two TUN
// devices joined by a userspace delay line (bench/delay-line.py, DELAY each way) and a tbf qdisc on
// each device's egress (RATE each way). This kernel has no netem ("Specified qdisc kind is
// unknown"), so the delay is python's, the rate limit and the bottleneck's queue the kernel's.
// Unlike a TCP relay, nothing terminates TCP: windows, ACKs, slow start and losses are end to end,
// every packet waits DELAY each way. Addresses are link-local (169.254.0.0/16 never leaves the machine).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from './harness.js';

export interface WanLink {
  netns: string;
  /** The difusores' address, inside the namespace. */
  remoteHost: string;
  localHost: string;
  rttMs: number;
  rateMbit: number;
  /** Stops the delay line and deletes the namespace and both devices. Stop the sshd inside first. */
  remove(): void;
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const DELAY_LINE = join(PACKAGE_ROOT, 'bench', 'delay-line.py');

/** Throws with the reason when namespaces, TUN or tbf are not permitted here. */
export async function createWanLink(opts: { rttMs: number; rateMbit: number }): Promise<WanLink> {
  const tag = `${process.pid % 100000}`;
  const netns = `ppwan${tag}`;
  const outside = `ppw${tag}a`;
  const inside = `ppw${tag}b`;
  const octet = 100 + (process.pid % 100);
  const [localHost, remoteHost] = [`169.254.${octet}.1`, `169.254.${octet}.2`];
  let line: ChildProcess | null = null;
  const remove = (): void => {
    if (line && line.exitCode === null) line.kill('SIGTERM');
    for (const args of [['netns', 'del', netns], ['link', 'del', outside]]) {
      try {
        run('ip', args);
      } catch {
        // not there
      }
    }
  };
  remove();
  try {
    run('ip', ['netns', 'add', netns]);
    run('ip', ['tuntap', 'add', 'dev', outside, 'mode', 'tun']);
    run('ip', ['netns', 'exec', netns, 'ip', 'tuntap', 'add', 'dev', inside, 'mode', 'tun']);
    line = spawn('nice', ['-n', '-10', 'python3', DELAY_LINE, outside, netns, inside, String(opts.rttMs / 2)], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error('delay line did not start in 10 s')), 10_000);
      line?.once('exit', (code) => fail(new Error(`delay line exited ${code}`)));
      line?.stdout?.once('data', () => {
        clearTimeout(timer);
        ready();
      });
    });
    // A burst of ~4 ms at the rate (at least 64 KiB) and a queue of 50 ms (one BDP at 50 ms RTT).
    const burstBytes = Math.max(65536, Math.round((opts.rateMbit * 1e6) / 8 / 250));
    const tbf = ['qdisc', 'add', 'dev', '', 'root', 'tbf', 'rate', `${opts.rateMbit}mbit`, 'burst', String(burstBytes), 'latency', '50ms'];
    for (const [prefix, dev, me, peer] of [[[], outside, localHost, remoteHost], [['netns', 'exec', netns, 'ip'], inside, remoteHost, localHost]] as const) {
      const ipIn = (args: string[]): void => (prefix.length ? run('ip', [...prefix, ...args]) : run('ip', args));
      ipIn(['addr', 'add', me, 'peer', peer, 'dev', dev]);
      ipIn(['link', 'set', dev, 'txqueuelen', '1000', 'up']);
      tbf[3] = dev;
      if (prefix.length) run('ip', ['netns', 'exec', netns, 'tc', ...tbf]);
      else run('tc', tbf);
    }
    run('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (error) {
    remove();
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(stderr || (error as Error).message);
  }
  return { netns, remoteHost, localHost, rttMs: opts.rttMs, rateMbit: opts.rateMbit, remove };
}

const PROBE_SERVER = `
const net = require('node:net');
net.createServer((s) => {
  s.setNoDelay(true);
  let bulk = -1;
  s.on('data', (d) => {
    if (bulk < 0 && d[0] === 0x65) { s.write(d); return; }        // 'e': echo
    if (bulk < 0) { bulk = Number(d.subarray(1, 21).toString()); d = d.subarray(21); }
    bulk -= d.length;
    if (bulk <= 0) { s.write('k'); bulk = -1; }
  });
}).listen(Number(process.argv[1]), process.argv[2], () => process.stdout.write('up\\n'));
`;

export interface LinkMeasurement {
  /** TCP connect (one round trip), ms. */
  connectMs: number;
  /** Median of 10 one-byte echoes on the open connection, ms. */
  echoRttMs: number;
  /** One connection sending `bulkMiB` and waiting for the receiver's acknowledgement: goodput, Mbit/s. */
  bulkMbit: number;
  bulkMiB: number;
}

/** The link alone, measured with a small TCP server inside the namespace (no ping or iperf here). */
export async function measureLink(link: WanLink, bulkMiB = 32): Promise<LinkMeasurement> {
  const { connect } = await import('node:net');
  const port = 2999;
  const server = spawn('ip', ['netns', 'exec', link.netns, process.execPath, '-e', PROBE_SERVER, String(port), link.remoteHost], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise((ok) => server.stdout?.once('data', ok));
    const t0 = performance.now();
    const socket = connect(port, link.remoteHost);
    socket.setNoDelay(true);
    await new Promise((ok, fail) => socket.once('connect', ok).once('error', fail));
    const connectMs = performance.now() - t0;
    const next = (): Promise<Buffer> => new Promise((ok) => socket.once('data', ok));
    const echoes: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const t = performance.now();
      socket.write('e');
      await next();
      echoes.push(performance.now() - t);
    }
    echoes.sort((a, b) => a - b);
    const bytes = bulkMiB * 1024 * 1024;
    const t1 = performance.now();
    socket.write(Buffer.concat([Buffer.from('b'), Buffer.from(String(bytes).padStart(20, '0')), Buffer.alloc(bytes, 7)]));
    await next();
    const bulkS = (performance.now() - t1) / 1000;
    socket.destroy();
    return { connectMs, echoRttMs: echoes[5], bulkMbit: (bytes * 8) / 1e6 / bulkS, bulkMiB };
  } finally {
    server.kill('SIGKILL');
  }
}

// `node dist/bench/wan-link.js`: the link alone, measured.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const link = await createWanLink({ rttMs: 50, rateMbit: 100 });
  try {
    for (let i = 0; i < 2; i += 1) process.stdout.write(`${JSON.stringify(await measureLink(link))}\n`);
  } finally {
    link.remove();
  }
}
