// Many SFTP requests in flight at once: the write depth and size, the per-process upload lanes, a
// bounded in-flight runner, and the package file shared by every difusor's upload.
import { readFile, stat } from 'node:fs/promises';
import { UploadLanes } from './upload-lanes.js';

// Writes of 255 KiB (OpenSSH's advertised limits@openssh.com maximum; ssh2 splits them for servers
// with smaller limits), 16 in flight (4 MiB, above sshd's 2 MiB channel window, so the window, not us,
// bounds a long-RTT link). Measured on 16 loopback sshd, 64 MiB each, against `sftp -b` ×16: ssh2's
// default 64 × 32 KiB ran at 1.09–1.28× OpenSSH's time, 16 × 255 KiB at 0.88–1.08× (fewer requests,
// less per-request work on the single event loop that encrypts for every difusor). See README, Benchmarks.
export const FAST_PUT_CONCURRENCY = 16;
export const FAST_PUT_CHUNK_BYTES = 261120;
// The package uploads of this process: the two nearest to their end keep 16 writes in flight, the
// others 4, so difusores finish one after another instead of all at the end (see upload-lanes.ts).
export const packageUploadLanes = new UploadLanes({ fullLanes: 2, fullDepth: FAST_PUT_CONCURRENCY, minDepth: 4 });

export function callback<T = void>(run: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      run((error, value) => (error ? reject(error) : resolve(value as T)));
    } catch (error) {
      reject(error);
    }
  });
}

/**
 * Runs `run` on every item, at most `limit` at once (a function is asked again after each item, so
 * the limit may change on the way); after a failure the rest are skipped, those running settle, and
 * the first error is thrown.
 *
 * Items are taken from the list as slots free up: only the running ones are promises. Queuing every
 * item at once (one p-limit entry each, ~0.5 KB of promises, closures and contexts) held 20,000 of
 * them per site-mode difusor in flight, ~160 MB live with 16 difusores publishing 20,000 files, and
 * V8 lets the heap grow to ~4x what its last full GC found live: 1.2 GB of RSS at 50 difusores.
 */
export function inFlight<T>(items: readonly T[], limit: number | (() => number), run: (item: T) => Promise<void>): Promise<void> {
  const limitNow = typeof limit === 'number' ? () => limit : limit;
  return new Promise<void>((resolve, reject) => {
    let next = 0;
    let running = 0;
    let failure: { error: unknown } | undefined;
    const pump = (): void => {
      while (failure === undefined && next < items.length && running < Math.max(1, limitNow())) {
        const item = items[next];
        next += 1;
        running += 1;
        Promise.resolve()
          .then(() => run(item))
          .then(
            () => undefined,
            (error: unknown) => {
              failure ??= { error };
            },
          )
          .then(() => {
            running -= 1;
            pump();
          });
      }
      if (running > 0) return;
      if (failure !== undefined) reject(failure.error);
      else if (next >= items.length) resolve();
    };
    pump();
  });
}

// The package a push sends to every difusor, read once: 16 uploads of one 64 MiB file read it 16
// times otherwise, 4,096 reads handed to the thread pool and back to the one thread that encrypts
// for every difusor. Measured on 16 sshd, 64 MiB each, 7 interleaved runs: push 2.81 s vs 3.03 s
// (median), `sftp -b` ×16 3.18 s.
// Kept for the process's life: a bound on the memory it costs (a PREP package is ~20-50 MB).
const SHARED_FILE_MAX_BYTES = 128 * 1024 * 1024;
let sharedFile: { key: string; data: Promise<Buffer | null> } | undefined;

/** The bytes of `path` when it is at most SHARED_FILE_MAX_BYTES, shared by every caller while it is unchanged; else null. */
export async function sharedLocalFile(path: string): Promise<Buffer | null> {
  const stats = await stat(path);
  if (stats.size > SHARED_FILE_MAX_BYTES) return null;
  // ctime too: nobody can set it back, so a file rewritten in place with its old mtime is read again.
  const key = `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
  if (sharedFile?.key !== key) {
    const data = readFile(path).then(
      (bytes) => (bytes.length === stats.size ? bytes : null),
      () => null,
    );
    sharedFile = { key, data };
  }
  return sharedFile.data;
}
