// Notifications, the public list and the outbox through the built binary: a real SMTP server
// (aiosmtpd), a command channel, an in-process SFTP difusor that works and one that is down.
// At most once per channel across repeated runs and across a run killed while sending; a failing
// channel or an unwritable public list never changes the exit code.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startSftpServer, type SftpServerHandle } from '../../src/sftp-server/index.js';
import { runPrepPush, startPrepPush } from '../helpers/cli.js';
import { makeKeyPair, type KeyPair } from '../helpers/keys.js';
import { closedPort } from '../helpers/net.js';
import { startSmtp, type SmtpFixture } from '../helpers/smtp.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

let ws: Workspace;
let key: KeyPair;
let good: SftpServerHandle;
let smtp: SmtpFixture;
let deadPort: number;
const strays: number[] = [];

beforeAll(async () => {
  ws = await makeWorkspace('prep-push-notify-e2e-');
  key = await makeKeyPair(ws.dir, 'client');
  const root = path.join(ws.dir, 'servers', 'good');
  await mkdir(path.join(root, 'prep'), { recursive: true });
  good = await startSftpServer({ root, username: 'iem', authorizedKeys: [key.publicKey] });
  smtp = await startSmtp();
  deadPort = await closedPort();
}, 30_000);
afterAll(async () => {
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await good?.close();
  await smtp?.stop();
  await ws?.remove();
});

interface Setup {
  name: string;
  blockAfter: number;
  smtpPort: number;
  publicDir: string;
  timeoutS?: number;
}

/** A registry in its own folder: `good` (works) and `el-sol` (down); events land in `events.jsonl`. */
async function setUp(s: Setup): Promise<{ config: string; dir: string; events: () => Promise<string[]> }> {
  const dir = path.join(ws.dir, s.name);
  await mkdir(dir, { recursive: true });
  const eventsFile = path.join(dir, 'events.jsonl');
  // Appends the event; when HANG exists, removes it, leaves its pid and hangs (a run killed while sending).
  const script = path.join(dir, 'avisar.sh');
  await writeFile(script, `cat >> ${eventsFile}\nif [ -e ${dir}/HANG ]; then rm ${dir}/HANG; echo $$ > ${dir}/hang.pid; exec sleep 60; fi\n`);
  const yaml = [
    'institute: IEM',
    'institute_name: Instituto Electoral de Michoacán',
    'contact: {name: Mesa del PREP, email: mesa@iem.example, phone: "+52 443 322 1400"}',
    `block_after_misses: ${s.blockAfter}`,
    'package: {name: "PREP_{cut}"}',
    'push: {retries: 0, connect_timeout_s: 3, transfer_timeout_s: 20}',
    `state_dir: ./state`,
    'notify:',
    `  email: {smtp: {host: 127.0.0.1, port: ${s.smtpPort}, tls: none}, from: "PREP IEM <prep@iem.example>", to: [mesa@iem.example], difusor_contacts: true}`,
    `  command: [sh, ${script}]`,
    `  timeout_s: ${s.timeoutS ?? 5}`,
    `public_list: {dir: ${JSON.stringify(s.publicDir)}}`,
    'defaults:',
    '  username: iem',
    `  private_key: ${JSON.stringify(key.privateKeyPath)}`,
    '  remote_dir: /prep',
    '  host: 127.0.0.1',
    `  host_key: "${good.hostKeyFingerprint}"`,
    'difusores:',
    `  - {id: good, name: Bueno, port: ${good.port}, url: "https://bueno.example/"}`,
    `  - {id: el-sol, name: El Sol de Morelia, port: ${deadPort}, url: "https://elsol.example/prep/", contacts: [{name: Ana Pérez, email: ana@elsol.example, phone: "+52 443 000 0000"}]}`,
    '',
  ].join('\n');
  const config = path.join(dir, 'difusores.yaml');
  await writeFile(config, yaml);
  const events = async () => {
    const text = existsSync(eventsFile) ? await readFile(eventsFile, 'utf8') : '';
    return text.split('\n').filter(Boolean).map((l) => {
      const e = JSON.parse(l) as { event: string; difusor: { id: string }; cut: string | null };
      return `${e.event}:${e.difusor.id}:${e.cut ?? '-'}`;
    });
  };
  return { config, dir, events };
}

const cutAt = (config: string, time: string, extra: string[] = []) =>
  runPrepPush(['--config', config, 'cut', '--source', ws.sourceDir, '--cut', time, ...extra], { timeoutMs: 90_000 });

test('each event goes out once per channel across repeated runs; e-mail in Spanish to desk and contacts; the public list follows', async () => {
  const { config, dir, events } = await setUp({ name: 'repeat', blockAfter: 2, smtpPort: smtp.port, publicDir: './publico' });
  const first = await cutAt(config, '2024-06-02T20:00:00-06:00');
  expect(first.code).toBe(1);
  const again = await runPrepPush(['--config', config, 'push', '--cut', '20240602_2000'], { timeoutMs: 90_000 });
  expect(again.code).toBe(1);
  const second = await cutAt(config, '2024-06-02T20:20:00-06:00');
  expect(second.code).toBe(1);
  expect(second.stdout).toContain('notifications: 4 sent');

  expect(await events()).toEqual(['missed:el-sol:20240602_2000', 'missed:el-sol:20240602_2020', 'blocked:el-sol:20240602_2020']);
  const mails = (await smtp.messages()).filter((m) => m.text.includes('El Sol de Morelia')).map((m) => ({ ...m, text: m.text.replace(/\r\n/g, '\n') }));
  expect(mails.map((m) => m.subject)).toEqual([
    '[PREP IEM] El difusor El Sol de Morelia no recibió el corte de las 20:00 del 2 de junio (20240602_2000)',
    '[PREP IEM] El difusor El Sol de Morelia no recibió el corte de las 20:20 del 2 de junio (20240602_2020)',
    '[PREP IEM] El difusor El Sol de Morelia quedó bloqueado tras el corte de las 20:20 del 2 de junio (20240602_2020)',
  ]);
  expect(mails[0].rcpt_tos.sort()).toEqual(['ana@elsol.example', 'mesa@iem.example']);
  expect(mails[0].text).toContain('el servidor rechazó la conexión: ningún servicio escucha en el puerto (código CONNECT_REFUSED)');
  expect(mails[0].text).toContain('Qué hacer: Revise que el servicio SFTP esté encendido');
  // The first miss warns of the block; the miss that blocked it in the same run does not: the blocked e-mail says it.
  expect(mails[0].text).toContain('Si la falla sigue hasta sumar 2 cortes seguidos sin recibir, el difusor quedará bloqueado.');
  expect(mails[1].text).not.toContain('Si la falla sigue');
  expect(mails[1].text).toContain('con este llegó al límite y quedó bloqueado');
  expect(mails[2].text).toContain('Qué pasó: El difusor El Sol de Morelia quedó bloqueado: no recibió 2 cortes seguidos.');
  expect(mails[2].text).toContain(
    'Cortes que no recibió:\n' +
      '  - las 20:00 del 2 de junio de 2024 (20240602_2000): el servidor rechazó la conexión: ningún servicio escucha en el puerto (código CONNECT_REFUSED)\n' +
      '  - las 20:20 del 2 de junio de 2024 (20240602_2020): el servidor rechazó la conexión: ningún servicio escucha en el puerto (código CONNECT_REFUSED)\n',
  );
  for (const mail of mails) {
    // One register (usted), the institute's desk in every e-mail, times with the zone in words.
    expect(mail.text).not.toMatch(/\b(revisen|corrijan|comuníquense|verifiquen|modifiquen|avisen)\b/i);
    expect(mail.text).toContain('Mesa del PREP del IEM: Mesa del PREP, +52 443 322 1400, mesa@iem.example');
    expect(mail.text).toMatch(/\(hora del centro de México, UTC−06:00\)/);
    expect(mail.text).not.toContain('America/Mexico_City');
  }

  const list = JSON.parse(await readFile(path.join(dir, 'publico', 'difusores.json'), 'utf8'));
  expect(list.difusores.map((d: { id: string; state: string }) => `${d.id}:${d.state}`)).toEqual(['good:active', 'el-sol:blocked']);

  const status = await runPrepPush(['--config', config, 'status', '--json']);
  expect(JSON.parse(status.stdout)).toMatchObject({ pending_notifications: [], notices_pending: ['el-sol'] });

  // unblock opens the ledger: `unblocked` goes out, once.
  expect((await runPrepPush(['--config', config, 'unblock', 'el-sol'])).code).toBe(0);
  expect((await runPrepPush(['--config', config, 'unblock', 'el-sol'])).code).toBe(0);
  expect((await events()).filter((e) => e.startsWith('unblocked'))).toEqual(['unblocked:el-sol:20240602_2020']);

  // A manual block says everything it did; the desk's e-mail has the internal reason, the public one apart.
  // (After the next cut: a block for a cut already notified is not notified again, once per channel.)
  expect((await cutAt(config, '2024-06-02T20:40:00-06:00')).code).toBe(1);
  const blocked = await runPrepPush([
    '--config', config, 'block', 'el-sol', '--reason', 'server down for maintenance, called 21:05.', '--public-reason', 'Su sitio dejó de cumplir la convocatoria.',
  ]);
  expect(blocked.code).toBe(0);
  const said = blocked.stdout.replace(/\s+/g, ' ');
  expect(said).toContain('blocked el-sol: skipped by every cut and push until `prep-push unblock el-sol`');
  expect(said).toContain("reason (internal: ledger, report, the institute's e-mail): server down for maintenance, called 21:05.");
  expect(said).toContain('public reason (on the notice): Su sitio dejó de cumplir la convocatoria.');
  expect(said).toMatch(/notice: NOT placed yet \(el-sol takes packages/);
  expect(said).toContain('notifications (e-mail, command): 2 queued, 2 sent');
  expect(said).toMatch(/public list: rewritten in \S+publico/);
  const manual = (await smtp.messages()).map((m) => ({ ...m, text: m.text.replace(/\r\n/g, '\n') })).filter((m) => m.subject.endsWith('quedó bloqueado tras el corte de las 20:40 del 2 de junio (20240602_2040)'));
  expect(manual).toHaveLength(1);
  expect(manual[0].text).toContain('Qué pasó: El difusor El Sol de Morelia quedó bloqueado por decisión del IEM. Motivo registrado: server down for maintenance, called 21:05. No recibirá');
  expect(manual[0].text).toContain('Motivo que el aviso en su portal muestra al público: «Su sitio dejó de cumplir la convocatoria».');
  const listed = JSON.parse(await readFile(path.join(dir, 'publico', 'difusores.json'), 'utf8'));
  expect(listed.difusores[1]).toMatchObject({ id: 'el-sol', state: 'blocked', link: null, url: 'https://elsol.example/prep/' });
}, 240_000);

test('SMTP down and the public list unwritable: the cut completes, exit code unchanged, both reported', async () => {
  await writeFile(path.join(ws.dir, 'not-a-folder'), 'x');
  const { config, dir } = await setUp({
    name: 'broken-channels',
    blockAfter: 3,
    smtpPort: await closedPort(),
    publicDir: path.join(ws.dir, 'not-a-folder', 'publico'),
  });
  const run = await cutAt(config, '2024-06-02T20:00:00-06:00', ['--only', 'good', '--json']);
  expect(run.code).toBe(0);
  const report = JSON.parse(run.stdout);
  expect(report.exit_code).toBe(0);
  expect(report.results.map((r: { id: string; outcome: string }) => `${r.id}:${r.outcome}`)).toEqual(['good:delivered']);
  expect(report.follow_up.public_list.error).toMatch(/ENOTDIR/);
  expect(run.stderr).toMatch(/warning: could not write the public list in .*not-a-folder\/publico \(ENOTDIR\)/);
  // A miss of el-sol: the e-mail fails (server down), the command goes out; e-mail waits for the next run.
  const failing = await cutAt(config, '2024-06-02T20:20:00-06:00', ['--json']);
  expect(failing.code).toBe(1);
  const failedReport = JSON.parse(failing.stdout);
  expect(failedReport.follow_up.notifications).toMatchObject({ sent: 1, pending: 1 });
  expect(failing.stderr).toMatch(/warning: notification missed:el-sol:20240602_2020 not sent by email \(retried next run\): SMTP 127\.0\.0\.1:\d+: ESOCKET: connect ECONNREFUSED/);
  const status = JSON.parse((await runPrepPush(['--config', config, 'status', '--json'])).stdout);
  expect(status.pending_notifications).toEqual([
    expect.objectContaining({ event: 'missed', difusor: 'el-sol', cut: '20240602_2020', channel: 'email', status: 'failed', attempts: 1 }),
  ]);
  expect(existsSync(path.join(dir, 'state', 'journal.jsonl'))).toBe(true);
}, 240_000);

test('a run killed while sending: that notification is never sent again, the queued ones go out with the next run', async () => {
  const { config, dir, events } = await setUp({ name: 'killed', blockAfter: 1, smtpPort: await closedPort(), publicDir: './publico', timeoutS: 50 });
  await writeFile(path.join(dir, 'HANG'), '');
  const run = startPrepPush(['--config', config, 'cut', '--source', ws.sourceDir, '--cut', '2024-06-02T20:00:00-06:00']);
  const pidFile = path.join(dir, 'hang.pid');
  const deadline = Date.now() + 60_000;
  while (!existsSync(pidFile)) {
    if (Date.now() > deadline) throw new Error(`the command channel never ran: ${run.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 100));
  strays.push(Number((await readFile(pidFile, 'utf8')).trim()));
  run.child.kill('SIGKILL');
  await run.done;
  expect(await events()).toEqual(['missed:el-sol:20240602_2000']);

  const status = JSON.parse((await runPrepPush(['--config', config, 'status', '--json'])).stdout);
  const byKey = Object.fromEntries(
    status.pending_notifications.map((p: { event: string; channel: string; status: string }) => [`${p.event}/${p.channel}`, p.status]),
  );
  expect(byKey).toMatchObject({ 'missed/command': 'in_doubt', 'blocked/command': 'queued' });

  // The next run of any command that opens the ledger sends the queued one; the one in doubt stays unsent.
  expect((await runPrepPush(['--config', config, 'block', 'el-sol', '--reason', 'sigue caído'])).code).toBe(0);
  expect(await events()).toEqual(['missed:el-sol:20240602_2000', 'blocked:el-sol:20240602_2000']);
  const human = await runPrepPush(['--config', config, 'status']);
  expect(human.stdout).toContain('in doubt (run killed while sending; not resent)');
}, 240_000);
