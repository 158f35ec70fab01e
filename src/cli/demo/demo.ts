// `prep-push demo`: a whole election night in a minute against in-process SFTP servers. Four cuts,
// one difusor down and blocked, its e-mails; a manual block that puts the notice on a difusor's
// portal; the public list and the incident report written and served. The demo's clock follows the
// night's cuts, so every time it prints belongs to that night (never today's date beside 2024 cuts).
// On a terminal the web servers stay up until Ctrl-C; elsewhere (CI) the demo ends by itself.
import { mkdtemp, readdir, readFile, readlink, rm, writeFile, mkdir } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Clock } from '../../core/clock.js';
import { parseCutTime, type Cut } from '../../core/cut.js';
import { formatSeconds } from '../../core/duration.js';
import { renderBlockChange, renderFollowUp, renderRunSummary, renderStatus, type Style } from '../render.js';
import { fitLines, wrapLine } from '../io.js';
import { block, unblock } from '../../commands/block.js';
import { report } from '../../commands/report.js';
import { status } from '../../commands/status.js';
import { runCut, runPush, type RunProgress } from '../../cut/run.js';
import { noticePublisherFor } from '../../delivery/notice-publisher.js';
import type { Notification } from '../../ledger/notification.js';
import type { NotifyChannel } from '../../notify/channel.js';
import { ssh2Transport } from '../../sftp/connect.js';
import { loadRegistry } from '../../registry/validate.js';
import type { Registry } from '../../registry/types.js';
import { generateReadableKeyPair, startSftpServer, type SftpServerHandle } from '../../sftp-server/server.js';
import { emailFor, type EmailText } from '../../words/email.js';
import { writeSampleSite } from './sample-site.js';
import { serveStaticSite, type StaticSite } from './static-site.js';

export interface DemoOptions {
  keep: boolean;
  /** Keep the web servers up until `signal` aborts (Ctrl-C); false: end at once (CI, pipes). */
  wait: boolean;
  signal?: AbortSignal;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  print: (lines: string[] | string) => void;
  style: Style;
}

const DIFUSORES: Array<{ id: string; name: string; colour: string; down?: boolean; delivery?: 'site' | 'both' }> = [
  { id: 'el-sol', name: 'El Sol de Morelia', colour: '#b35900' },
  { id: 'la-voz', name: 'La Voz de Michoacán', colour: '#7a1f3d', delivery: 'site' },
  { id: 'radio-uni', name: 'Radio Universidad', colour: '#1f5f7a', delivery: 'both' },
  { id: 'tv-norte', name: 'TV Norte', colour: '#2f6b2f', down: true },
];
const CUT_TIMES = ['2024-06-02T20:00:00-06:00', '2024-06-02T20:20:00-06:00', '2024-06-02T20:40:00-06:00', '2024-06-02T21:00:00-06:00'];
const REMOTE_DIR = '/prep/paquetes';
const LA_VOZ_REASON = 'sitio alterado: cifras distintas al PREP; ticket 4411, llamada de las 21:12';
const LA_VOZ_PUBLIC_REASON = 'Su sitio mostró cifras distintas a las del PREP oficial.';

/** A port nobody listens on: what a difusor whose server is down looks like. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The night's clock: it reads the time it was set to (a cut's time) plus the real time since. */
class NightClock implements Clock {
  private base = 0;
  private setAt = 0;
  constructor(private readonly real: Clock) {}
  setTo(iso: string): void {
    this.base = Date.parse(iso);
    this.setAt = this.real.now();
  }
  now(): number {
    return this.base + (this.real.now() - this.setAt);
  }
  monotonic(): number {
    return this.real.monotonic();
  }
}

/** What json/main.json of a web server says: the cut of the results, or the notice. */
async function servedMain(url: string): Promise<string> {
  const response = await fetch(`${url}json/main.json`);
  if (!response.ok) return `HTTP ${response.status}`;
  const main = (await response.json()) as { corte?: unknown; aviso?: unknown; difusor_valido?: unknown };
  if (main.difusor_valido === false) return `the notice, "difusor_valido": false`;
  return `corte ${String(main.corte)}`;
}

/** A wordmark logo for a difusor (plain SVG: no script, served through <img>). */
function logoOf(name: string, colour: string): string {
  const size = Math.min(20, Math.floor(340 / name.length));
  return (
    '<svg xmlns="http://www.w3.org/2000/svg" width="224" height="48" viewBox="0 0 224 48">' +
    `<rect width="224" height="48" rx="6" fill="${colour}"/>` +
    `<text x="112" y="31" font-family="Georgia, serif" font-size="${size}" fill="#fff" text-anchor="middle">${name}</text></svg>\n`
  );
}

/** The e-mails the demo would send: kept and printed instead (the registry's notify.email, no SMTP server). */
class DemoMailbox implements NotifyChannel {
  readonly name = 'email' as const;
  readonly sent: Array<EmailText & { notification: Notification }> = [];
  private shown = 0;
  constructor(private readonly registry: () => Registry) {}
  async send(notification: Notification) {
    this.sent.push({ notification, ...emailFor(this.registry(), notification) });
    return { ok: true as const, detail: null };
  }
  /** The Subjects of what was sent since the last call. */
  fresh(): Array<EmailText & { notification: Notification }> {
    const fresh = this.sent.slice(this.shown);
    this.shown = this.sent.length;
    return fresh;
  }
}

export async function runDemo(options: DemoOptions): Promise<{ exitCode: number }> {
  const { style } = options;
  const print = (lines: string[] | string) => options.print(fitLines(([] as string[]).concat(lines)));
  const began = options.clock.monotonic();
  const clock = new NightClock(options.clock);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'prep-push-demo-'));
  const servers: SftpServerHandle[] = [];
  const webs: StaticSite[] = [];
  try {
    const keys = generateReadableKeyPair();
    await mkdir(path.join(dir, 'keys'));
    await writeFile(path.join(dir, 'keys', 'demo_ed25519'), keys.private, { mode: 0o600 });
    // The institute signs packages and manifests, so a package-mode difusor's kit can show the notice too.
    await writeFile(path.join(dir, 'keys', 'firma_ed25519'), generateReadableKeyPair().private, { mode: 0o600 });
    await mkdir(path.join(dir, 'logos'));

    const entries: string[] = [];
    const serverOf = new Map<string, SftpServerHandle>();
    for (const d of DIFUSORES) {
      const root = path.join(dir, 'servers', d.id);
      // The difusor's side: its remote_dir exists (prep-push never creates it).
      await mkdir(path.join(root, REMOTE_DIR), { recursive: true });
      const server = await startSftpServer({ root, username: 'iem', authorizedKeys: [keys.public] });
      servers.push(server);
      serverOf.set(d.id, server);
      await writeFile(path.join(dir, 'logos', `${d.id}.svg`), logoOf(d.name, d.colour));
      // The down difusor keeps its pinned key but its port answers nothing: its server is off.
      const port = d.down ? await closedPort() : server.port;
      entries.push(
        `  - id: ${d.id}\n    name: ${d.name}\n    host: 127.0.0.1\n    port: ${port}\n    host_key: "${server.hostKeyFingerprint}"` +
          `\n    url: "https://${d.id}.example/prep/"\n    logo: ./logos/${d.id}.svg` +
          `\n    contacts: [{name: Sistemas ${d.name}, email: "sistemas@${d.id}.example", phone: "+52 443 555 0100"}]` +
          (d.delivery ? `\n    delivery: ${d.delivery}` : ''),
      );
    }
    // la-voz's web server (its nginx, document root REMOTE_DIR/current) and the institute's site.
    const laVoz = await serveStaticSite(path.join(dir, 'servers', 'la-voz', REMOTE_DIR, 'current'), { fallbackToIndex: true });
    webs.push(laVoz);
    const instituteDir = path.join(dir, 'instituto');
    await mkdir(instituteDir);
    const institute = await serveStaticSite(instituteDir);
    webs.push(institute);
    await writeFile(
      path.join(instituteDir, 'index.html'),
      '<!doctype html><html lang="es"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
        '<title>PREP 2024 — Instituto Electoral de Michoacán (demo)</title><h1>PREP 2024 (demo de prep-push)</h1>' +
        '<ul><li><a href="publico/difusores.html">Difusores oficiales</a></li><li><a href="memoria.html">Memoria técnica: incidentes de difusión</a></li></ul></html>\n',
    );

    const registryFile = path.join(dir, 'difusores.yaml');
    await writeFile(
      registryFile,
      [
        'institute: IEM',
        'institute_name: Instituto Electoral de Michoacán',
        `institute_url: "${institute.url}"`,
        'contact: {name: Mesa del PREP, email: mesa-prep@iem.example, phone: "+52 443 322 1400"}',
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
        'signing_key: ./keys/firma_ed25519',
        'notify:',
        '  email: {smtp: {host: 127.0.0.1, port: 25, tls: none}, from: "PREP IEM <prep@iem.example>", to: [mesa-prep@iem.example], difusor_contacts: true}',
        `public_list: {dir: ./instituto/publico, url: "${institute.url}publico/difusores.html"}`,
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
    const mailbox = new DemoMailbox(() => registry);
    const noticePublisher = noticePublisherFor(registry, { transport: ssh2Transport, env: options.env, clock });
    // A real `cut` prints each difusor as it finishes, then the table; the demo shows the table only.
    const onProgress = (event: RunProgress) => {
      if (event.type === 'blocked') print(style.bad(`BLOCKED    ${event.id}: ${event.reason}`));
    };
    const deps = { clock, env: options.env, transport: ssh2Transport, onProgress, noticePublisher, notifyChannels: [mailbox] };
    const followUp = { env: options.env, noticePublisher, channels: [mailbox] };
    const showMail = () => {
      for (const mail of mailbox.fresh()) print(`  e-mail: ${mail.subject}`);
    };

    print([
      style.bold('prep-push demo: election night in a minute'),
      `A registry of ${DIFUSORES.length} difusores on local SFTP servers: ${registryFile}`,
      'The demo runs on the night of 2 June 2024: its clock follows the cuts, so every time shown is that night\'s.',
      `tv-norte's server is down. Cuts every 20 minutes; ${registry.blockAfterMisses} consecutive misses block a difusor.`,
      `la-voz publishes the site itself (delivery: site); its web server, serving ${REMOTE_DIR}/current, is at ${laVoz.url}`,
      `The institute's site (the official list of difusores, the report) is at ${institute.url}`,
    ]);
    let cut: Cut | undefined;
    for (const [n, time] of CUT_TIMES.entries()) {
      clock.setTo(time);
      cut = parseCutTime(time, registry.timezone, clock.now.bind(clock));
      await rm(sourceDir, { recursive: true, force: true });
      await writeSampleSite(sourceDir, cut, n);
      print(['', style.bold(`── cut ${n + 1} of ${CUT_TIMES.length}: ${cut.id} (${cut.time})`), `$ prep-push cut --source publicacion --cut ${time}`]);
      const run = await runCut({ registry, stateDir, sourceDir, cut }, deps);
      print(renderRunSummary(run, style).slice(1));
      if (n === 0) {
        for (const r of run.results.filter((x) => x.error)) print(style.dim(`  why ${r.id} failed: ${r.error!.message}`));
      }
      print(renderFollowUp(run.follow_up));
      print(style.dim(`exit code ${run.exit_code}`));
      print(`  la-voz's json/main.json (${laVoz.url}json/main.json) now says: ${await servedMain(laVoz.url)}`);
      showMail();
      const blocked = mailbox.sent.find((m) => m.notification.event === 'blocked' && m.notification.cut === cut!.id);
      if (blocked) {
        print(['', style.bold(`── the e-mail about the block, to the institute's desk and tv-norte's contacts`), `  Subject: ${blocked.subject}`]);
        // Wrapped inside the frame, so every line of the e-mail keeps its bar.
        print(blocked.text.trimEnd().split('\n').flatMap((line) => wrapLine(line, 94)).map((line) => `  │ ${line}`.trimEnd()));
      }
    }

    clock.setTo('2024-06-02T21:05:00-06:00');
    print(['', style.bold('── prep-push status (21:05)'), ...renderStatus(await status(registry, stateDir), style, registry.timezone, stateDir)]);

    print(['', style.bold('── 21:06: tv-norte fixes its server; the institute unblocks it and re-pushes the latest cut by hand')]);
    const tvNorte = registry.difusores.find((d) => d.id === 'tv-norte')!;
    tvNorte.port = serverOf.get('tv-norte')!.port;
    clock.setTo('2024-06-02T21:06:00-06:00');
    print('$ prep-push unblock tv-norte');
    print(renderBlockChange(await unblock(registry, stateDir, 'tv-norte', clock, followUp)));
    showMail();
    print('$ prep-push push --only tv-norte');
    const repush = await runPush({ registry, stateDir, only: ['tv-norte'] }, deps);
    print(renderRunSummary(repush, style).slice(1));
    print(style.dim(`exit code ${repush.exit_code}`));
    showMail();

    print(['', style.bold("── 21:12: la-voz's site shows figures that are not the PREP's; the institute blocks it by hand")]);
    clock.setTo('2024-06-02T21:12:00-06:00');
    print(`$ prep-push block la-voz --reason "${LA_VOZ_REASON}" --public-reason "${LA_VOZ_PUBLIC_REASON}"`);
    const blockLaVoz = await block(registry, stateDir, 'la-voz', LA_VOZ_REASON, clock, { ...followUp, publicReason: LA_VOZ_PUBLIC_REASON });
    print(renderBlockChange(blockLaVoz));
    for (const warning of blockLaVoz.follow_up?.warnings ?? []) print(style.warn(`warning: ${warning}`));
    showMail();
    const deepLink = `${laVoz.url}json/distritos/distrito_07.json`;
    const deep = await fetch(deepLink);
    const deepTitle = /<title>([^<]*)<\/title>/.exec(await deep.text())?.[1] ?? '(no title)';
    print([
      `  la-voz's json/main.json now says: ${await servedMain(laVoz.url)}`,
      `  a bookmarked deep link (json/distritos/distrito_07.json) shows the notice too: HTTP ${deep.status}, "${deepTitle}"`,
    ]);

    clock.setTo('2024-06-02T21:15:00-06:00');
    const memoria = path.join(instituteDir, 'memoria.html');
    print(['', style.bold('── 21:15: the incident report for the memoria técnica'), '$ prep-push report --out instituto/memoria.html']);
    const written = await report({ registry, stateDir, out: memoria }, clock);
    print(`  wrote ${written.file} (${written.bytes.toLocaleString('en-US')} bytes)`);

    const seen = await readdir(path.join(dir, 'servers', 'el-sol', REMOTE_DIR));
    print(['', style.bold(`── what el-sol (delivery: package) sees in ${REMOTE_DIR}`), ...seen.sort().map((f) => `  ${f}`)]);
    const laVozDir = path.join(dir, 'servers', 'la-voz', REMOTE_DIR);
    const releases = (await readdir(path.join(laVozDir, 'releases'))).sort();
    print([
      '',
      style.bold(`── what la-voz (delivery: site) sees in ${REMOTE_DIR}`),
      `  current -> ${await readlink(path.join(laVozDir, 'current'))}   (the notice; the results releases stay for the unblock)`,
      ...releases.map((r) => `  releases/${r}/`),
    ]);

    const publicList = path.join(instituteDir, 'publico', 'difusores.html');
    const listed = JSON.parse(await readFile(path.join(instituteDir, 'publico', 'difusores.json'), 'utf8')) as { difusores: Array<{ id: string; state: string }> };
    const ids = (state: string) => listed.difusores.filter((d) => d.state === state).map((d) => d.id).join(', ');
    print([
      '',
      style.bold('── where to open what the night produced'),
      `  la-voz's portal (the notice):    ${laVoz.url}`,
      `  a deep link on it (the notice):  ${deepLink}`,
      `  the official list of difusores:  ${institute.url}publico/difusores.html`,
      `                                   ${publicList}`,
      `                                   (active: ${ids('active')}; suspended: ${ids('blocked') || 'none'})`,
      `  the incident report (memoria):   ${institute.url}memoria.html`,
      `                                   ${memoria}`,
      `  the e-mails (${mailbox.sent.length}): their Subjects above; the ledger: ${path.join(stateDir, 'journal.jsonl')}`,
      '',
      `done in ${formatSeconds((options.clock.monotonic() - began) / 1000)}.`,
    ]);
    const files = options.keep ? `The files stay in ${dir}.` : `The files in ${dir} are removed then (\`prep-push demo --keep\` keeps them).`;
    if (options.wait && options.signal && !options.signal.aborted) {
      print(style.bold(`The web servers stay up: open the addresses above. Press Ctrl-C to end the demo. ${files}`));
      await new Promise<void>((resolve) => options.signal!.addEventListener('abort', () => resolve(), { once: true }));
      print('demo: web servers closed.');
    } else {
      print(
        `The demo's web servers are closed now: it ran without a terminal (or with --no-wait); in a terminal they stay up until Ctrl-C. ` +
          (options.keep ? `The files stay in ${dir}: open the files above.` : 'Its files are removed too; `prep-push demo --keep` keeps them to open.'),
      );
    }
    return { exitCode: repush.exit_code };
  } finally {
    await Promise.all(webs.map((w) => w.close()));
    await Promise.all(servers.map((s) => s.close()));
    if (!options.keep) await rm(dir, { recursive: true, force: true });
  }
}
