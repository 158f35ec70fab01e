// The outbox and the follow-up of a run, on a real journal in a temp dir with fake channels and a fake
// notice publisher: at most once per channel across repeated runs and runs killed after queueing,
// while sending, and after sending; failures retried; notices placed once per block.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Clock } from '../../src/core/clock.js';
import { openJournal, readJournal } from '../../src/ledger/journal.js';
import { deriveLedgerState } from '../../src/ledger/rules.js';
import type { LedgerEvent } from '../../src/ledger/types.js';
import type { NoticePublisher, NoticeRelease } from '../../src/notice/release.js';
import type { NotifyChannel, SendOutcome } from '../../src/notify/channel.js';
import { notificationKey } from '../../src/notify/events.js';
import { type Notification, type NotifyChannelName } from '../../src/ledger/notification.js';
import { followUpRun } from '../../src/cut/follow-up.js';
import { dueEntries, outboxEntries } from '../../src/notify/outbox.js';
import type { Difusor, Registry } from '../../src/registry/types.js';
import { aDifusor, aRegistry } from '../helpers/builders.js';

const clock: Clock = { now: () => Date.parse('2024-06-03T02:20:00Z'), monotonic: () => 0 };
const registry: Registry = aRegistry([aDifusor('el-sol', { name: 'El Sol' }), aDifusor('la-voz')], {
  blockAfterMisses: 2,
  notify: { timeoutS: 1, webhook: { url: 'http://127.0.0.1:1/' }, command: ['true'] },
});
const at = '2024-06-03T02:20:00.000Z';
const failed = (cut: string, id = 'el-sol'): LedgerEvent => ({
  type: 'outcome', at, cut, id, outcome: 'failed', code: 'CONNECT_TIMEOUT', message: 'x', via: 'cut', seconds: 1, attempts: 1,
});
const cutEvent = (cut: string): LedgerEvent => ({ type: 'cut', at, cut, cutTime: at, package: `P_${cut}.tar.gz`, sha256: 'a'.repeat(64) });

/** A channel that records what it was given and answers from a script (default: ok). */
function fakeChannel(name: NotifyChannelName, answers: SendOutcome[] = []) {
  const sent: string[] = [];
  const channel: NotifyChannel = {
    name,
    async send(n: Notification) {
      sent.push(notificationKey(n));
      return answers.shift() ?? { ok: true, detail: null };
    },
  };
  return { channel, sent };
}

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'prep-push-outbox-'));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

/** Appends `runEvents` as a run would, then runs the follow-up on them. */
async function run(runEvents: LedgerEvent[], channels: NotifyChannel[], publisher?: NoticePublisher) {
  const { events } = await readJournal(stateDir);
  const journal = await openJournal(stateDir);
  try {
    for (const e of runEvents) await journal.append(e);
    return await followUpRun(
      { registry, stateDir, journal, events: [...events, ...runEvents], before: deriveLedgerState(events), runEvents, cut: { id: '2', time: at } },
      { clock, env: {}, channels, noticePublisher: publisher },
    );
  } finally {
    await journal.close();
  }
}

async function append(events: LedgerEvent[]) {
  const journal = await openJournal(stateDir);
  for (const e of events) await journal.append(e);
  await journal.close();
}

async function entries() {
  return outboxEntries((await readJournal(stateDir)).events);
}

test('each notification goes out once per channel; repeating the run sends nothing again', async () => {
  const webhook = fakeChannel('webhook');
  const command = fakeChannel('command');
  const first = await run([cutEvent('1'), failed('1')], [webhook.channel, command.channel]);
  expect(first.notifications).toEqual({ queued: 2, sent: 2, failed: [], pending: 0 });
  // The same run again (same events): same keys, nothing queued or sent.
  const again = await run([], [webhook.channel, command.channel]);
  const { events } = await readJournal(stateDir);
  const journal = await openJournal(stateDir);
  const repeat = await followUpRun(
    { registry, stateDir, journal, events: [...events], before: deriveLedgerState(events.slice(0, 1)), runEvents: events.slice(1, 2), cut: null },
    { clock, env: {}, channels: [webhook.channel, command.channel] },
  );
  await journal.close();
  expect(again.notifications.sent).toBe(0);
  expect(repeat.notifications).toEqual({ queued: 0, sent: 0, failed: [], pending: 0 });
  expect(webhook.sent).toEqual(['missed:el-sol:1']);
  expect(command.sent).toEqual(['missed:el-sol:1']);
});

test('a run killed after queueing: the next run sends what was queued, once', async () => {
  const notification: Notification = {
    event: 'blocked', institute: 'IEM', difusor: { id: 'el-sol', name: 'El Sol', url: null }, cut: '1', time: at, message: 'm',
  };
  await append([cutEvent('1'), { type: 'notify_queued', at, key: notificationKey(notification), channel: 'webhook', notification }]);
  const webhook = fakeChannel('webhook');
  await run([], [webhook.channel]);
  await run([], [webhook.channel]);
  expect(webhook.sent).toEqual(['blocked:el-sol:1']);
  expect((await entries()).map((e) => e.status)).toEqual(['sent']);
});

test('a run killed while sending (attempt without result): in doubt, never sent again', async () => {
  const notification: Notification = {
    event: 'missed', institute: 'IEM', difusor: { id: 'el-sol', name: 'El Sol', url: null }, cut: '1', time: at, message: 'm',
  };
  const key = notificationKey(notification);
  await append([
    { type: 'notify_queued', at, key, channel: 'webhook', notification },
    { type: 'notify_attempt', at, key, channel: 'webhook' },
  ]);
  const webhook = fakeChannel('webhook');
  const report = await run([], [webhook.channel]);
  expect(webhook.sent).toEqual([]);
  expect(report.notifications.pending).toBe(1);
  expect((await entries()).map((e) => [e.status, e.attempts])).toEqual([['in_doubt', 1]]);
});

test('a run killed after sending: nothing is sent again', async () => {
  const notification: Notification = {
    event: 'missed', institute: 'IEM', difusor: { id: 'el-sol', name: 'El Sol', url: null }, cut: '1', time: at, message: 'm',
  };
  const key = notificationKey(notification);
  await append([
    { type: 'notify_queued', at, key, channel: 'webhook', notification },
    { type: 'notify_attempt', at, key, channel: 'webhook' },
    { type: 'notify_sent', at, key, channel: 'webhook', detail: null },
  ]);
  const webhook = fakeChannel('webhook');
  await run([cutEvent('1'), failed('1')], [webhook.channel]);
  expect(webhook.sent).toEqual([]);
});

test('a failing channel: the rest of it waits for the next run, other channels go on, nothing throws', async () => {
  const webhook = fakeChannel('webhook', [{ ok: false, error: 'webhook http://x answered HTTP 500', channelDown: true }]);
  const command = fakeChannel('command');
  const report = await run([cutEvent('1'), failed('1'), failed('1', 'la-voz')], [webhook.channel, command.channel]);
  expect(webhook.sent).toEqual(['missed:el-sol:1']); // la-voz's webhook deferred after the failure
  expect(command.sent).toEqual(['missed:el-sol:1', 'missed:la-voz:1']);
  expect(report.notifications.failed).toEqual([{ key: 'missed:el-sol:1', channel: 'webhook', error: 'webhook http://x answered HTTP 500' }]);
  expect(report.notifications.pending).toBe(2);
  expect(report.warnings).toEqual(['notification missed:el-sol:1 not sent by webhook (retried next run): webhook http://x answered HTTP 500']);
  // The next run of any command retries both, and each goes out once.
  await run([], [webhook.channel, command.channel]);
  expect(webhook.sent).toEqual(['missed:el-sol:1', 'missed:el-sol:1', 'missed:la-voz:1']);
  expect(command.sent).toHaveLength(2);
  expect(dueEntries(await entries())).toEqual([]);
});

describe('the notice on a blocked difusor', () => {
  const block: LedgerEvent = { type: 'block', at, id: 'el-sol', reason: 'auto: missed 2 consecutive cuts', by: 'auto' };
  const unblock: LedgerEvent = { type: 'unblock', at, id: 'el-sol' };

  function fakePublisher(failures: number) {
    const calls: Array<{ id: string; release: NoticeRelease }> = [];
    const publisher: NoticePublisher = {
      async publish(difusor: Difusor, release: NoticeRelease) {
        calls.push({ id: difusor.id, release });
        if (calls.length <= failures) throw new Error('CONNECT_TIMEOUT: el-sol did not answer');
      },
    };
    return { publisher, calls };
  }

  test('retried each run until in place, then left alone; notice_published once; again after unblock and a new block', async () => {
    const { publisher, calls } = fakePublisher(1);
    const command = fakeChannel('command');
    const first = await run([cutEvent('1'), failed('1'), block], [command.channel], publisher);
    expect(first.notices).toEqual({ placed: [], failed: [{ id: 'el-sol', error: 'CONNECT_TIMEOUT: el-sol did not answer' }], waiting: [] });
    expect(first.warnings).toContain('the notice could not be placed on el-sol (retried next run): CONNECT_TIMEOUT: el-sol did not answer');

    const second = await run([cutEvent('2')], [command.channel], publisher);
    expect(second.notices.placed).toEqual(['el-sol']);
    expect(calls[1].release.name).toBe('2-aviso');
    expect(calls[1].release.manifest.files.map((f) => f.path)).toEqual(['index.html', 'json/main.json']);

    await run([cutEvent('3')], [command.channel], publisher);
    expect(calls).toHaveLength(2);
    expect(command.sent.filter((k) => k.startsWith('notice_published'))).toEqual(['notice_published:el-sol:2']);

    await run([unblock], [command.channel], publisher);
    expect(calls).toHaveLength(2);
    await run([{ ...block, at: '2024-06-03T04:00:00.000Z' }], [command.channel], publisher);
    expect(calls).toHaveLength(3);
  });

  test('without a publisher the notice waits (status shows it), and the run goes on', async () => {
    const report = await run([cutEvent('1'), block], []);
    expect(report.notices).toEqual({ placed: [], failed: [], waiting: ['el-sol'] });
  });
});

test('other callers (audit, probe) raise their own kinds through the same outbox, once', async () => {
  const webhook = fakeChannel('webhook');
  const auditFailed: Notification = {
    event: 'audit_failed', institute: 'IEM', difusor: { id: 'la-voz', name: 'la-voz', url: null }, cut: '1', time: at, message: 'sirve el corte 0',
  };
  for (let i = 0; i < 2; i += 1) {
    const { events } = await readJournal(stateDir);
    const journal = await openJournal(stateDir);
    await followUpRun(
      { registry, stateDir, journal, events: [...events], before: deriveLedgerState(events), runEvents: [], cut: null, extra: [auditFailed] },
      { clock, env: {}, channels: [webhook.channel] },
    );
    await journal.close();
  }
  expect(webhook.sent).toEqual(['audit_failed:la-voz:1']);
});

test('an interrupted run (SIGTERM) queues but does not send: the next run does', async () => {
  const webhook = fakeChannel('webhook');
  const controller = new AbortController();
  controller.abort();
  const journal = await openJournal(stateDir);
  const runEvents = [cutEvent('1'), failed('1')];
  for (const e of runEvents) await journal.append(e);
  const report = await followUpRun(
    { registry, stateDir, journal, events: [...runEvents], before: deriveLedgerState([]), runEvents, cut: null },
    { clock, env: {}, channels: [webhook.channel], signal: controller.signal },
  );
  await journal.close();
  expect(report.notifications).toMatchObject({ queued: 2, sent: 0, pending: 2 }); // webhook and command
  expect(webhook.sent).toEqual([]);
  await run([], [webhook.channel]);
  expect(webhook.sent).toEqual(['missed:el-sol:1']);
});
