import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { PrepPushError } from '../../src/core/errors.js';
import { openJournal, readJournal, readLedgerState } from '../../src/ledger/journal.js';
import { journalPath } from '../../src/core/state-dir.js';
import { deriveLedgerState } from '../../src/ledger/rules.js';
import type { LedgerEvent } from '../../src/ledger/types.js';
import { transpileForChild } from '../helpers/child-modules.js';
import { mulberry32 } from '../helpers/prng.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'prep-push-journal-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const failed = (id: string, cut: string, attempts = 1): Extract<LedgerEvent, { type: 'outcome' }> => ({
  type: 'outcome',
  at: '2024-06-03T02:20:05.000Z',
  cut,
  id,
  outcome: 'failed',
  code: 'CONNECT_REFUSED',
  message: `${id}: connection refused`,
  via: 'cut',
  seconds: 0.2,
  attempts,
});
const delivered = (id: string, cut: string): LedgerEvent => ({ ...failed(id, cut), outcome: 'delivered', code: null, message: null });
const cutEvent = (cut: string): LedgerEvent => ({
  type: 'cut',
  at: '2024-06-03T02:20:00.000Z',
  cut,
  cutTime: '2024-06-02T20:20:00-06:00',
  package: `PREP2024_MICH_${cut}.tar.gz`,
  sha256: 'b'.repeat(64),
});

async function writeAll(stateDir: string, events: LedgerEvent[]): Promise<void> {
  const journal = await openJournal(stateDir);
  for (const event of events) await journal.append(event);
  await journal.close();
}

const SOME_EVENTS = [cutEvent('20240602_2020'), failed('sol', '20240602_2020'), delivered('luna', '20240602_2020')];

async function expectLedgerError(promise: Promise<unknown>, location: string): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PrepPushError);
  expect((error as PrepPushError).kind).toBe('ledger');
  expect((error as PrepPushError).exitCode).toBe(4);
  expect((error as PrepPushError).message).toBe(`${location}: unreadable line in the ledger`);
  expect((error as PrepPushError).hint).toMatch(/restore it from backup/);
}

describe('journal', () => {
  test('appended events read back in order', async () => {
    const dir = await tempDir();
    await writeAll(dir, SOME_EVENTS);
    const { events, warnings } = await readJournal(dir);
    expect(events).toEqual(SOME_EVENTS);
    expect(warnings).toEqual([]);
    const text = await readFile(journalPath(dir), 'utf8');
    expect(text.split('\n')).toHaveLength(SOME_EVENTS.length + 1);
  });

  test('a missing journal, or a missing state dir, is an empty ledger', async () => {
    const dir = await tempDir();
    expect(await readJournal(dir)).toEqual({ events: [], warnings: [] });
    expect(await readJournal(join(dir, 'not-yet'))).toEqual({ events: [], warnings: [] });
    expect((await readLedgerState(dir)).state).toEqual({ latestCut: null, cuts: [], withdrawn: {}, difusores: {} });
  });

  test('concurrent appends all land, each line whole, in call order', async () => {
    const dir = await tempDir();
    const journal = await openJournal(dir);
    const events = Array.from({ length: 300 }, (_, i) => failed(`d${i}`, '20240602_2020', i));
    await Promise.all(events.map((e) => journal.append(e)));
    await journal.close();
    const lines = (await readFile(journalPath(dir), 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual(events);
  });

  test('append after close is refused', async () => {
    const dir = await tempDir();
    const journal = await openJournal(dir);
    await journal.close();
    await expect(journal.append(SOME_EVENTS[0])).rejects.toThrow(/closed/);
  });

  test.each([
    ['half a line, no newline', (line: string) => line.slice(0, 40)],
    ['a whole line without its newline', (line: string) => line],
    ['a line of NULs with a newline (zero-filled after a power cut)', () => '\0\0\0\0\0\0\n'],
  ])('a torn last line (%s) is ignored with a warning; the state is the one before it', async (_name, tear) => {
    const dir = await tempDir();
    await writeAll(dir, SOME_EVENTS);
    const before = deriveLedgerState(SOME_EVENTS);
    await appendFile(journalPath(dir), tear(JSON.stringify(failed('luna', '20240602_2035'))));

    const { events, warnings } = await readJournal(dir);
    expect(events).toEqual(SOME_EVENTS);
    expect(warnings).toEqual([`${journalPath(dir)}:4: ignored a torn last line (a run was interrupted while writing it, or is writing it right now)`]);
    expect((await readLedgerState(dir)).state).toEqual(before);
  });

  test('after a torn tail, opening repairs it (keeping the fragment aside) and appends read back', async () => {
    const dir = await tempDir();
    await writeAll(dir, SOME_EVENTS);
    const fragment = JSON.stringify(failed('luna', '20240602_2035')).slice(0, 33);
    await appendFile(journalPath(dir), fragment);

    const journal = await openJournal(dir);
    expect(journal.warnings).toHaveLength(2);
    expect(journal.warnings[1]).toMatch(/cut off the torn last line/);
    const next = delivered('luna', '20240602_2035');
    await journal.append(next);
    await journal.close();

    expect(await readJournal(dir)).toEqual({ events: [...SOME_EVENTS, next], warnings: [] });
    const aside = (await readdir(dir)).filter((f) => f.startsWith('journal.jsonl.torn-'));
    expect(aside).toHaveLength(1);
    expect(await readFile(join(dir, aside[0]), 'utf8')).toBe(fragment);
  });

  test.each([
    ['not JSON', 'this is not json'],
    ['JSON of the wrong shape', JSON.stringify({ type: 'outcome', id: 'sol' })],
    ['an unknown event type', JSON.stringify({ type: 'reboot', at: '2024-06-03T02:20:00Z' })],
  ])('garbage in the middle (%s) is refused with its line number', async (_name, garbage) => {
    const dir = await tempDir();
    await writeAll(dir, SOME_EVENTS.slice(0, 2));
    await appendFile(journalPath(dir), `${garbage}\n${JSON.stringify(SOME_EVENTS[2])}\n`);
    await expectLedgerError(readJournal(dir), `${journalPath(dir)}:3`);
    // Opening for append refuses too, and leaves the file as it was.
    const size = (await readFile(journalPath(dir))).length;
    await expectLedgerError(openJournal(dir), `${journalPath(dir)}:3`);
    expect((await readFile(journalPath(dir))).length).toBe(size);
  });

  test('a complete last line of the wrong shape is not taken for a torn one', async () => {
    const dir = await tempDir();
    await writeAll(dir, SOME_EVENTS);
    await appendFile(journalPath(dir), `${JSON.stringify({ type: 'block', id: 'sol' })}\n`);
    await expectLedgerError(readJournal(dir), `${journalPath(dir)}:4`);
  });

  test('blank lines are skipped', async () => {
    const dir = await tempDir();
    await writeFile(journalPath(dir), `${JSON.stringify(SOME_EVENTS[0])}\n\n${JSON.stringify(SOME_EVENTS[1])}\n`);
    expect((await readJournal(dir)).events).toEqual(SOME_EVENTS.slice(0, 2));
  });

  test('an unwritable state dir is an io error naming the path', async () => {
    const dir = await tempDir();
    const aFile = join(dir, 'a-file');
    await writeFile(aFile, '');
    const stateDir = join(aFile, 'state');
    const error = await openJournal(stateDir).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PrepPushError);
    expect((error as PrepPushError).kind).toBe('io');
    expect((error as PrepPushError).message).toContain(stateDir);
    expect((error as PrepPushError).hint).toMatch(/writable/);
  });
});

// Appends in batches of concurrent appends; some events are large (up to 1 MB) so a SIGKILL can
// land inside a write and leave a torn line. Prints "ok TAG-N" once an append has resolved.
const CHILD = `
import { openJournal } from './src/ledger/journal.js';
const [stateDir, tag] = process.argv.slice(2);
const journal = await openJournal(stateDir);
let n = 0;
for (;;) {
  const batch = [];
  for (let i = 0; i < 4; i += 1, n += 1) {
    const id = tag + '-' + n;
    const size = n % 5 === 4 ? 1 << 20 : 100;
    const event = { type: 'outcome', at: new Date().toISOString(), cut: '20240602_2020', id, outcome: 'failed',
      code: 'SFTP_ERROR', message: 'x'.repeat(size), via: 'push', seconds: 0, attempts: 1 };
    batch.push(journal.append(event).then(() => process.stdout.write('ok ' + id + '\\n')));
  }
  await Promise.all(batch);
}
`;

describe('journal under SIGKILL', () => {
  test('a killed writer never leaves the journal unreadable, and loses no resolved append', async () => {
    const work = await tempDir();
    const root = await transpileForChild(work, [
      'src/core/errors.ts',
      'src/core/state-dir.ts',
      'src/ledger/types.ts',
      'src/ledger/rules.ts',
      'src/ledger/journal.ts',
    ]);
    const script = join(root, 'child.mjs');
    await writeFile(script, CHILD);
    const stateDir = join(work, 'state');
    // Seeded, so a failing kill pattern can be replayed.
    const random = mulberry32(20240602);
    const reported = new Set<string>();

    for (let run = 0; run < 8; run += 1) {
      const child = spawn(process.execPath, [script, stateDir, `r${run}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
      await new Promise<void>((res) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (stdout.includes('\n')) res();
        });
        void exited.then(() => res());
      });
      await new Promise((res) => setTimeout(res, 5 + Math.floor(random() * 150)));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      expect(stderr).toBe('');
      // Only whole lines count: a line cut by the kill was not fully reported.
      for (const line of stdout.split('\n').slice(0, -1)) reported.add(line.replace(/^ok /, ''));

      const { events } = await readJournal(stateDir);
      const journaled = new Set(events.map((e) => (e.type === 'outcome' ? e.id : '')));
      const lost = [...reported].filter((id) => !journaled.has(id));
      expect(lost).toEqual([]);
      // A SIGKILL rarely tears a line (most of an append is spent in fdatasync); a power cut can.
      // Every other run starts from a torn tail, which the next writer must cut off first.
      if (run % 2 === 1) await appendFile(journalPath(stateDir), '{"type":"outcome","at":"2024-06-0');
    }
    expect(reported.size).toBeGreaterThan(8);
    // The torn tails left after runs 1, 3 and 5 were cut off (and kept aside) by the next writer.
    const repaired = (await readdir(stateDir)).filter((f) => f.startsWith('journal.jsonl.torn-'));
    expect(repaired.length).toBeGreaterThanOrEqual(3);
    expect((await readJournal(stateDir)).events.length).toBeGreaterThanOrEqual(reported.size);
  });
});
