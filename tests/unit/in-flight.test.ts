// The bounded runners under a site-mode release (src/sftp/pipelined-io.ts inFlight, the walk of
// src/publish/remote-tree.ts): at most `limit` at once, and memory that grows with the limit, not the
// list (20,000 uploads or 10,000 folders per difusor used to be queued as promises all at once).
import { createHook } from 'node:async_hooks';
import { describe, expect, test } from '@jest/globals';
import { inFlight } from '../../src/sftp/pipelined-io.js';
import { scanTree } from '../../src/publish/remote-tree.js';
import type { RemoteEntry, SftpSession } from '../../src/sftp/session.js';

/** A promise with its resolve, for holding a call until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const turns = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

/** Promises created while `during` runs (async_hooks sees every one). */
async function promisesMadeDuring(during: () => Promise<void>): Promise<number> {
  let made = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') made += 1;
    },
  });
  hook.enable();
  try {
    await during();
  } finally {
    hook.disable();
  }
  return made;
}

describe('inFlight', () => {
  test('runs every item, never more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    await inFlight(
      Array.from({ length: 50 }, (_, i) => i),
      4,
      async (item) => {
        running += 1;
        most = Math.max(most, running);
        await turns(1 + (item % 3));
        seen.push(item);
        running -= 1;
      },
    );
    expect(most).toBe(4);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  test('an empty list resolves at once', async () => {
    await expect(inFlight([], 3, () => Promise.reject(new Error('never called')))).resolves.toBeUndefined();
  });

  test('after a failure the rest are skipped, those running settle, and the first error is thrown', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    const run = inFlight([0, 1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      started.push(item);
      await turns(item === 1 ? 1 : 3);
      settled.push(item);
      if (item === 1) throw new Error('item 1 failed');
      if (item === 2) throw new Error('item 2 failed too');
    });
    await expect(run).rejects.toThrow('item 1 failed');
    // The failed item's slot is not given to item 3.
    expect(started).toEqual([0, 1, 2]);
    expect([...settled].sort()).toEqual([0, 1, 2]);
  });

  test('a limit given as a function is asked again as items end', async () => {
    let limit = 1;
    let running = 0;
    const most: number[] = [];
    await inFlight([0, 1, 2, 3, 4, 5, 6, 7], () => limit, async (item) => {
      running += 1;
      most.push(running);
      if (item === 0) limit = 3;
      await turns(2);
      running -= 1;
    });
    expect(most[0]).toBe(1);
    expect(Math.max(...most)).toBe(3);
  });

  test('items waiting for a slot are not promises: 20,000 items at 8 make as few promises as 200', async () => {
    const held = async (count: number): Promise<number> => {
      const release = gate();
      let run: Promise<void> | undefined;
      const made = await promisesMadeDuring(async () => {
        run = inFlight(
          Array.from({ length: count }, (_, i) => i),
          8,
          () => release.promise,
        );
        await turns();
      });
      release.open();
      await run;
      return made;
    };
    const few = await held(200);
    const many = await held(20_000);
    // p-limit queues each item as ~3 promises: 60,000 for 20,000 items. Here: the 8 running ones'.
    expect(few).toBeLessThan(100);
    expect(many).toBeLessThan(100);
  });
});

describe('scanTree', () => {
  /** A session whose folders are `tree` (folder path → entries); a listing waits for `hold(dir)`. */
  function treeSession(
    tree: Record<string, RemoteEntry[]>,
    hold: (dir: string) => Promise<void> = () => Promise.resolve(),
  ): { session: SftpSession; listing: () => number; most: () => number } {
    let listing = 0;
    let most = 0;
    const session = {
      async readdir(dir: string): Promise<RemoteEntry[]> {
        listing += 1;
        most = Math.max(most, listing);
        await hold(dir);
        await turns(1);
        listing -= 1;
        const entries = tree[dir];
        if (entries === undefined) throw Object.assign(new Error(`no such folder ${dir}`), { code: 2 });
        return entries;
      },
    } as unknown as SftpSession;
    return { session, listing: () => listing, most: () => most };
  }
  const file = (name: string, size = 1): RemoteEntry => ({ name, size, mtime: 0, kind: 'file' });
  const folder = (name: string): RemoteEntry => ({ name, size: 4096, mtime: 0, kind: 'folder' });

  test('lists every regular file with its size, and what it does not follow', async () => {
    const tree: Record<string, RemoteEntry[]> = {
      '/r': [folder('.'), folder('..'), file('MANIFEST.json', 9), folder('casillas'), { name: 'evil', size: 0, mtime: 0, kind: 'symlink' }],
      '/r/casillas': [folder('D1'), folder('D2')],
      '/r/casillas/D1': [file('a.json', 3), folder('S1')],
      '/r/casillas/D1/S1': [file('b.json', 4)],
      '/r/casillas/D2': [file('c.json', 5), { name: 'fifo', size: 0, mtime: 0, kind: 'other' }],
    };
    const { session } = treeSession(tree);
    const scanned = await scanTree(session, '/r', 2);
    expect(Object.fromEntries(scanned.files)).toEqual({
      'MANIFEST.json': 9,
      'casillas/D1/a.json': 3,
      'casillas/D1/S1/b.json': 4,
      'casillas/D2/c.json': 5,
    });
    expect([...scanned.unsafe].sort()).toEqual(['casillas/D2/fifo', 'evil']);
    expect(scanned.overfull).toBe(false);
  });

  test('a listing that fails fails the walk', async () => {
    const tree: Record<string, RemoteEntry[]> = { '/r': [folder('gone')] };
    const { session } = treeSession(tree);
    await expect(scanTree(session, '/r', 4)).rejects.toThrow('no such folder /r/gone');
  });

  test('10,000 folders wait as names, not promises: listings pending never pass the limit', async () => {
    const release = gate();
    const tree: Record<string, RemoteEntry[]> = { '/r': Array.from({ length: 10_000 }, (_, i) => folder(`S${i}`)) };
    for (let i = 0; i < 10_000; i += 1) tree[`/r/S${i}`] = [file('B.json')];
    // The root is listed at once; the folders under it wait until the test opens the gate.
    const { session, listing, most } = treeSession(tree, (dir) => (dir === '/r' ? Promise.resolve() : release.promise));
    let walk: Promise<Awaited<ReturnType<typeof scanTree>>> | undefined;
    const made = await promisesMadeDuring(async () => {
      walk = scanTree(session, '/r', 16);
      await turns(10);
    });
    expect(listing()).toBe(16);
    // A promise queued per folder (as before) made ~40,000 here; now the 16 listings' few each.
    expect(made).toBeLessThan(1_000);
    release.open();
    const scanned = await (walk as Promise<Awaited<ReturnType<typeof scanTree>>>);
    expect(scanned.files.size).toBe(10_000);
    expect(most()).toBe(16);
  });
});
