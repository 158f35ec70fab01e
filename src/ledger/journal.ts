// The ledger's journal: `<stateDir>/journal.jsonl`, one JSON event per line, only ever appended.
// An append is on disk (fdatasync) before it resolves, so an outcome the CLI reports survives a kill
// or a power cut; a line torn by a crash is recognised and cut off, never glued to the next one.
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readFile, writeFile, type FileHandle } from 'node:fs/promises';
import { PrepPushError } from '../core/errors.js';
import { deriveLedgerState } from './rules.js';
import type { LedgerEvent, LedgerState } from './types.js';
import { journalPath } from '../core/state-dir.js';


export interface Journal {
  /** Resolves once the event's line is written and fdatasync'ed. Appends are serialised. */
  append(event: LedgerEvent): Promise<void>;
  /** Waits for pending appends, then closes the file. */
  close(): Promise<void>;
  /** What opening had to repair (a torn last line cut off), for the CLI to show. */
  readonly warnings: readonly string[];
}

export interface JournalContents {
  events: LedgerEvent[];
  warnings: string[];
}


// ---------------------------------------------------------------------------------------------
// Reading

type Json = Record<string, unknown>;
const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStringOrNull = (v: unknown) => v === null || isString(v);

/** A minimal shape check: the type and the fields the rules read. Extra fields are kept. */
function isLedgerEvent(value: unknown): value is LedgerEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const e = value as Json;
  if (!isString(e.at)) return false;
  switch (e.type) {
    case 'cut':
      return isString(e.cut) && isString(e.cutTime) && isString(e.package) && isString(e.sha256);
    case 'outcome':
      return (
        isString(e.cut) &&
        isString(e.id) &&
        (e.outcome === 'delivered' || e.outcome === 'failed' || e.outcome === 'skipped') &&
        isStringOrNull(e.code) &&
        isStringOrNull(e.message) &&
        (e.via === 'cut' || e.via === 'push') &&
        isNumber(e.seconds) &&
        isNumber(e.attempts)
      );
    case 'block':
      return isString(e.id) && isString(e.reason) && (e.by === 'auto' || e.by === 'manual');
    case 'unblock':
      return isString(e.id);
    case 'notify_queued':
      return isString(e.key) && isString(e.channel) && typeof e.notification === 'object' && e.notification !== null;
    case 'notify_attempt':
    case 'notify_sent':
    case 'notify_failed':
      return isString(e.key) && isString(e.channel);
    case 'notice_placed':
    case 'notice_failed':
      return isString(e.id) && isStringOrNull(e.cut);
    case 'retract':
      return isString(e.cut) && isString(e.reason);
    case 'audit':
      return (
        isString(e.id) &&
        isString(e.outcome) &&
        isStringOrNull(e.servedCut) &&
        isStringOrNull(e.expectedCut) &&
        Array.isArray(e.problems) &&
        typeof e.countsAsMiss === 'boolean'
      );
    default:
      return false;
  }
}

function parseLine(text: string): { ok: true; event: LedgerEvent } | { ok: false; parseable: boolean } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, parseable: false };
  }
  return isLedgerEvent(value) ? { ok: true, event: value } : { ok: false, parseable: true };
}

interface ScannedJournal extends JournalContents {
  /** Bytes up to the end of the last good line: what a repair keeps. */
  goodBytes: number;
}

const NEWLINE = 0x0a;

/**
 * Splits the journal into events. Only the LAST line may be bad, and only in the ways a crash
 * mid-append leaves it (no newline yet, or not JSON): anything else means the file was edited or
 * damaged, and guessing around it could resurrect or drop outcomes, so it is refused.
 */
function scanJournal(bytes: Buffer, file: string): ScannedJournal {
  const events: LedgerEvent[] = [];
  const warnings: string[] = [];
  let start = 0;
  let lineNumber = 0;
  while (start < bytes.length) {
    lineNumber += 1;
    const newline = bytes.indexOf(NEWLINE, start);
    const terminated = newline !== -1;
    const end = terminated ? newline : bytes.length;
    const text = bytes.subarray(start, end).toString('utf8');
    const next = terminated ? newline + 1 : bytes.length;
    const isLast = next >= bytes.length;

    if (!terminated) {
      // Every append writes its newline in the same write call: no newline means it never finished.
      warnings.push(`${file}:${lineNumber}: ignored a torn last line (a run was interrupted while writing it, or is writing it right now)`);
      return { events, warnings, goodBytes: start };
    }
    if (text.trim() === '') {
      start = next;
      continue;
    }
    const parsed = parseLine(text);
    if (parsed.ok) {
      events.push(parsed.event);
    } else if (isLast && !parsed.parseable) {
      warnings.push(`${file}:${lineNumber}: ignored a torn last line (a run was interrupted while writing it, or is writing it right now)`);
      return { events, warnings, goodBytes: start };
    } else {
      throw new PrepPushError('ledger', `${file}:${lineNumber}: unreadable line in the ledger`, {
        hint: 'the ledger was edited or the disk is damaged; move the file aside and restore it from backup, or fix the line by hand',
      });
    }
    start = next;
  }
  return { events, warnings, goodBytes: bytes.length };
}

function ioError(what: string, path: string, cause: unknown): PrepPushError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const why = code ? ` (${code})` : '';
  return new PrepPushError('io', `could not ${what} ${path}${why}`, {
    hint: 'check that the state dir exists and is writable by this user and the disk is not full, or pass --state-dir',
    cause,
  });
}

async function readJournalBytes(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw ioError('read the ledger journal', file, error);
  }
}

/** Every event in the journal, in order. A missing journal is empty; a torn last line is a warning. */
export async function readJournal(stateDir: string): Promise<JournalContents> {
  const file = journalPath(stateDir);
  const { events, warnings } = scanJournal(await readJournalBytes(file), file);
  return { events, warnings };
}

/** The ledger's state as the journal says it is now. */
export async function readLedgerState(stateDir: string): Promise<{ state: LedgerState; warnings: string[] }> {
  const { events, warnings } = await readJournal(stateDir);
  return { state: deriveLedgerState(events), warnings };
}

// ---------------------------------------------------------------------------------------------
// Writing

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Cuts a torn tail off before anything is appended after it. The fragment is first saved next to
 * the journal (nothing is destroyed that a person might want to look at), then the file is
 * truncated to its last good line and synced. Truncation only removes bytes past `goodBytes`; the
 * good lines are never rewritten, so a crash during the repair leaves either the torn or the
 * repaired journal, both readable. The size is re-checked on the open descriptor first: the
 * caller holds the state dir's lock, but a stray writer must not lose a line to the repair.
 */
async function repairTornTail(handle: FileHandle, file: string, bytes: Buffer, goodBytes: number): Promise<string> {
  const { size } = await handle.stat();
  if (size !== bytes.length) {
    throw new PrepPushError('ledger', `${file} changed while it was being repaired`, {
      hint: 'another process is writing the ledger; make sure only one prep-push uses this state dir',
    });
  }
  const aside = `${file}.torn-${Date.now()}`;
  await writeFile(aside, bytes.subarray(goodBytes), { flush: true });
  await handle.truncate(goodBytes);
  await handle.datasync();
  return `${file}: cut off the torn last line before appending (kept in ${aside})`;
}

/**
 * Opens the journal for appending, creating the state dir and the file if needed and repairing a
 * torn last line. Call it while holding the state dir's lock: the journal has one writer.
 */
export async function openJournal(stateDir: string): Promise<Journal> {
  const file = journalPath(stateDir);
  try {
    await mkdir(stateDir, { recursive: true });
  } catch (error) {
    throw ioError('create the state dir', stateDir, error);
  }
  const bytes = await readJournalBytes(file);
  const scanned = scanJournal(bytes, file);
  const created = bytes.length === 0;

  let handle: FileHandle;
  try {
    // 'a': every write lands at the end of the file, whatever the descriptor's position.
    handle = await open(file, 'a');
  } catch (error) {
    throw ioError('open the ledger journal', file, error);
  }

  const warnings = [...scanned.warnings];
  let size = scanned.goodBytes;
  try {
    if (scanned.goodBytes < bytes.length) warnings.push(await repairTornTail(handle, file, bytes, scanned.goodBytes));
    // A new file's directory entry must be durable too, or a power cut could lose the whole journal.
    if (created) await syncDirectory(stateDir);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error instanceof PrepPushError ? error : ioError('repair the ledger journal', file, error);
  }

  let queue: Promise<void> = Promise.resolve();
  let closed = false;
  // Set when a failed append could not be undone: appending after a fragment would corrupt
  // the journal's middle, so every later append fails instead.
  let broken: PrepPushError | null = null;

  async function writeLine(line: Buffer): Promise<void> {
    if (broken) throw broken;
    let written = 0;
    try {
      // One write call for the whole line and its newline; the loop only matters if the kernel
      // accepts part of it (a full disk), and then the rest is retried or the part undone below.
      while (written < line.length) {
        const { bytesWritten } = await handle.write(line, written, line.length - written);
        if (bytesWritten === 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
        written += bytesWritten;
      }
      await handle.datasync();
      size += line.length;
    } catch (error) {
      const failure = ioError('append to the ledger journal', file, error);
      if (written > 0) {
        try {
          await handle.truncate(size);
          await handle.datasync();
        } catch {
          broken = failure;
        }
      }
      throw failure;
    }
  }

  return {
    warnings,
    append(event: LedgerEvent): Promise<void> {
      if (closed) return Promise.reject(new Error(`ledger journal ${file} is closed`));
      const line = Buffer.from(`${JSON.stringify(event)}\n`, 'utf8');
      const result = queue.then(() => writeLine(line));
      // The queue continues after a failure; the failure goes to this append's caller.
      queue = result.catch(() => undefined);
      return result;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await queue;
      await handle.close();
    },
  };
}
