// Each notification channel against a real peer on 127.0.0.1: SMTP (aiosmtpd) accepting, refusing a
// recipient, slow and down; a webhook answering 500 and hanging; a command exiting non-zero and hanging.
// Every failure is a value (never a throw) and every attempt ends within notify.timeout_s.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { commandChannel } from '../../src/notify/command.js';
import { emailChannel } from '../../src/notify/email.js';
import { notificationKey } from '../../src/notify/events.js';
import { type Notification } from '../../src/ledger/notification.js';
import { webhookChannel } from '../../src/notify/webhook.js';
import type { EmailSettings } from '../../src/registry/types.js';
import { aDifusor, aRegistry } from '../helpers/builders.js';
import { closedPort, freePort } from '../helpers/net.js';
import { startSmtp, type SmtpFixture } from '../helpers/smtp.js';

const registry = aRegistry(
  [aDifusor('el-sol', { name: 'El Sol de Morelia', url: 'https://elsol.example/prep/', contacts: [{ name: 'Ana Pérez', email: 'ana@elsol.example', phone: '+52 443 000 0000' }] })],
  { instituteName: 'Instituto Electoral de Michoacán' },
);
const missed: Notification = {
  event: 'missed',
  institute: 'Instituto Electoral de Michoacán',
  difusor: { id: 'el-sol', name: 'El Sol de Morelia', url: 'https://elsol.example/prep/' },
  cut: '20240602_2020',
  time: '2024-06-03T02:20:05.000Z',
  message: 'El difusor El Sol de Morelia no recibió el corte de las 20:20 del 2 de junio (20240602_2020): el servidor no respondió a tiempo (código CONNECT_TIMEOUT).',
  code: 'CONNECT_TIMEOUT',
};
const key = notificationKey(missed);

function emailSettings(port: number, overrides: Partial<EmailSettings> = {}): EmailSettings {
  return { smtp: { host: '127.0.0.1', port, tls: 'none' }, from: 'PREP IEM <prep@iem.example>', to: ['mesa@iem.example'], difusorContacts: true, ...overrides };
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = performance.now();
  const value = await work;
  return { value, seconds: (performance.now() - start) / 1000 };
}

describe('e-mail over a real SMTP server', () => {
  let smtp: SmtpFixture;
  let slow: SmtpFixture;
  beforeAll(async () => {
    [smtp, slow] = await Promise.all([startSmtp(), startSmtp({ dataDelayS: 8 })]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([smtp?.stop(), slow?.stop()]);
  });

  test('one message to the desk and the contacts, Subject naming the difusor and the cut, Spanish body', async () => {
    const channel = emailChannel(registry, emailSettings(smtp.port), 10, {});
    const outcome = await channel.send(missed, key);
    channel.close?.();
    expect(outcome).toEqual({ ok: true, detail: null });
    const [mail] = await smtp.messages();
    expect(mail.rcpt_tos.sort()).toEqual(['ana@elsol.example', 'mesa@iem.example']);
    expect(mail.subject).toBe('[PREP IEM] El difusor El Sol de Morelia no recibió el corte de las 20:20 del 2 de junio (20240602_2020)');
    expect(mail.text).toContain('Instituto Electoral de Michoacán');
    expect(mail.text).toContain('el servidor no respondió a tiempo');
    expect(mail.text).toContain('Qué hacer: Revise que el servidor esté encendido');
    expect(mail.text).toContain('Ana Pérez, +52 443 000 0000, ana@elsol.example');
  });

  test('a refused recipient among others: sent to the rest, the refusal named', async () => {
    const channel = emailChannel(registry, emailSettings(smtp.port, { to: ['mesa@iem.example', 'rechazar@iem.example'], difusorContacts: false }), 10, {});
    const before = (await smtp.messages()).length;
    const outcome = await channel.send(missed, key);
    channel.close?.();
    expect(outcome).toEqual({ ok: true, detail: 'refused by the SMTP server: rechazar@iem.example' });
    const all = await smtp.messages();
    expect(all).toHaveLength(before + 1);
    expect(all[all.length - 1].rcpt_tos).toEqual(['mesa@iem.example']);
  });

  test('every recipient refused: a failure of this message, not of the server', async () => {
    const channel = emailChannel(registry, emailSettings(smtp.port, { to: ['rechazar@iem.example'], difusorContacts: false }), 10, {});
    const outcome = await channel.send(missed, key);
    channel.close?.();
    expect(outcome).toMatchObject({ ok: false, channelDown: false });
    expect(outcome.ok || outcome.error).toMatch(/550/);
  });

  test('a slow server is cut at the timeout', async () => {
    const channel = emailChannel(registry, emailSettings(slow.port), 1, {});
    const { value, seconds } = await timed(channel.send(missed, key));
    channel.close?.();
    expect(value).toMatchObject({ ok: false, channelDown: true });
    expect(seconds).toBeLessThan(5);
  });

  test('a server that is down fails at once', async () => {
    const channel = emailChannel(registry, emailSettings(await closedPort()), 2, {});
    const { value, seconds } = await timed(channel.send(missed, key));
    channel.close?.();
    expect(value).toMatchObject({ ok: false, channelDown: true });
    expect(value.ok || value.error).toMatch(/ECONNREFUSED|ECONNECTION/);
    expect(seconds).toBeLessThan(5);
  });
});

describe('webhook', () => {
  let server: Server;
  let port: number;
  const received: Array<{ body: unknown; key: string | undefined }> = [];
  beforeAll(async () => {
    port = await freePort();
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.url === '/hang') return; // never answers
        received.push({ body: JSON.parse(body), key: req.headers['idempotency-key'] as string | undefined });
        res.statusCode = req.url === '/broken' ? 500 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('POSTs the event as JSON with an idempotency key', async () => {
    expect(await webhookChannel(`http://127.0.0.1:${port}/ok`, 5).send(missed, key)).toEqual({ ok: true, detail: null });
    expect(received[received.length - 1]).toEqual({ body: missed, key });
  });

  test('HTTP 500 is a failure naming the status', async () => {
    const outcome = await webhookChannel(`http://127.0.0.1:${port}/broken`, 5).send(missed, key);
    expect(outcome).toEqual({ ok: false, error: `webhook http://127.0.0.1:${port}/broken answered HTTP 500`, channelDown: true });
  });

  test('a hanging webhook is cut at the timeout', async () => {
    const { value, seconds } = await timed(webhookChannel(`http://127.0.0.1:${port}/hang`, 1).send(missed, key));
    expect(value).toEqual({ ok: false, error: `webhook http://127.0.0.1:${port}/hang: no answer within 1 s`, channelDown: true });
    expect(seconds).toBeLessThan(4);
  });
});

describe('command', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'prep-push-command-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('gets the event as JSON on stdin', async () => {
    const out = path.join(dir, 'event.json');
    const outcome = await commandChannel(['sh', '-c', `cat > ${out}`], 5, { PATH: process.env.PATH }).send(missed, key);
    expect(outcome).toEqual({ ok: true, detail: null });
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(missed);
  });

  test('a non-zero exit is a failure with its last stderr line', async () => {
    const outcome = await commandChannel(['sh', '-c', 'cat >/dev/null; echo "no hay red" >&2; exit 3'], 5, { PATH: process.env.PATH }).send(missed, key);
    expect(outcome).toEqual({ ok: false, error: 'command sh -c cat >/dev/null; echo "no hay red" >&2; exit 3 exited 3: no hay red', channelDown: false });
  });

  test('a hanging command (and what it started) is killed at the timeout', async () => {
    const marker = path.join(dir, 'grandchild-survived');
    const script = path.join(dir, 'hang.sh');
    await writeFile(script, `sleep 3 && touch ${marker} &\nsleep 30\n`);
    const { value, seconds } = await timed(commandChannel(['sh', script], 1, { PATH: process.env.PATH }).send(missed, key));
    expect(value).toEqual({ ok: false, error: `command sh ${script}: still running after 1 s, killed`, channelDown: true });
    expect(seconds).toBeLessThan(4);
    await new Promise((r) => setTimeout(r, 3000));
    await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
  });

  test('a command that does not exist fails, naming it', async () => {
    const outcome = await commandChannel(['/nonexistent/avisar'], 5, { PATH: process.env.PATH }).send(missed, key);
    expect(outcome).toEqual({ ok: false, error: 'command /nonexistent/avisar: ENOENT', channelDown: true });
  });
});
