// Whole files through the SFTP session: writeFile and readSmallFile of files larger than one
// request (a 20,000-file site's MANIFEST.json is ~3 MB), sent with many requests in flight. Against
// real sshd, and against the in-process server answering short reads and failing writes.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { packageUploadLanes } from '../../src/sftp/pipelined-io.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import { MANIFEST_MAX_BYTES, type SftpSession } from '../../src/sftp/session.js';
import type { Difusor } from '../../src/registry/types.js';
import { startSftpServer, type SftpServerHandle } from '../../src/sftp-server/index.js';
import type { SftpFaults, SftpQuirks } from '../../src/sftp-server/types.js';
import { sshdWithWorkspace } from '../helpers/jest-fixtures.js';
import { makeKeyPair, type KeyPair } from '../helpers/keys.js';
import { generateReadableKeyPair } from '../../src/sftp-server/index.js';

const LONG = 60_000;
const fixture = sshdWithWorkspace({ accounts: [{ id: 'whole' }] }, LONG);
const sessions: SftpSession[] = [];
const servers: SftpServerHandle[] = [];
let key: KeyPair;

beforeAll(async () => {
  key = await makeKeyPair(fixture.ws.dir, 'client');
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** Text shaped like a manifest: `size` bytes of JSON lines, so UTF-8 round trips are exact. */
function manifestLike(size: number): string {
  const line = (i: number): string => `{"path":"casillas/${String(i).padStart(6, '0')}.json","size":${1000 + (i % 997)},"sha256":"${randomBytes(32).toString('hex')}"},\n`;
  let text = '';
  for (let i = 0; text.length < size; i++) text += line(i);
  return text.slice(0, size);
}

async function openSshd(): Promise<{ session: SftpSession; dir: string }> {
  const account = fixture.sshd.accounts.whole;
  const difusor: Difusor = {
    id: 'whole',
    name: 'whole',
    host: fixture.sshd.host,
    port: account.port,
    username: fixture.sshd.username,
    privateKey: fixture.sshd.clientKey.privateKeyPath,
    hostKey: fixture.sshd.hostKeyFingerprint,
    remoteDir: account.dir,
    enabled: true,
  };
  const session = await ssh2Transport.connect(difusor, { env: {}, connectTimeoutMs: 10_000 });
  sessions.push(session);
  return { session, dir: account.dir };
}

async function openInProcess(name: string, options: { quirks?: SftpQuirks; faults?: SftpFaults }): Promise<{ session: SftpSession; root: string }> {
  const root = path.join(fixture.ws.dir, name);
  await mkdir(root, { recursive: true });
  const server = await startSftpServer({ root, username: 'iem', authorizedKeys: [key.publicKey], hostKey: generateReadableKeyPair().private, ...options });
  servers.push(server);
  const difusor: Difusor = {
    id: name,
    name,
    host: server.host,
    port: server.port,
    username: 'iem',
    privateKey: key.privateKeyPath,
    hostKey: server.hostKeyFingerprint,
    remoteDir: '/',
    enabled: true,
  };
  const session = await ssh2Transport.connect(difusor, { env: {}, connectTimeoutMs: 10_000 });
  sessions.push(session);
  return { session, root };
}

describe('whole files on real sshd', () => {
  test(
    'a 3 MB file is written and read back byte for byte, 0644; an empty file reads as empty; a missing one as null',
    async () => {
      const { session, dir } = await openSshd();
      const text = manifestLike(3_000_000);
      await session.writeFile(path.posix.join(dir, 'MANIFEST.json'), text);
      expect(await readFile(path.join(dir, 'MANIFEST.json'), 'utf8')).toBe(text);
      expect((await stat(path.join(dir, 'MANIFEST.json'))).mode & 0o777).toBe(0o644);
      expect(await session.readSmallFile(path.posix.join(dir, 'MANIFEST.json'), MANIFEST_MAX_BYTES)).toBe(text);

      await writeFile(path.join(dir, 'empty'), '');
      expect(await session.readSmallFile(path.posix.join(dir, 'empty'), MANIFEST_MAX_BYTES)).toBe('');
      expect(await session.readSmallFile(path.posix.join(dir, 'missing'), MANIFEST_MAX_BYTES)).toBeNull();
    },
    LONG,
  );

  test(
    'a file that grew after its size was taken is read to its end; rewriting a longer file truncates it',
    async () => {
      const { session, dir } = await openSshd();
      const file = path.join(dir, 'grows');
      await writeFile(file, manifestLike(2_000_000));
      const lstat = session.lstat.bind(session);
      const grown = manifestLike(2_600_000);
      // The size is taken, then the file grows before the reads: what was written after counts too.
      session.lstat = async (p: string) => {
        const result = await lstat(p);
        await writeFile(file, grown);
        return result;
      };
      expect(await session.readSmallFile(path.posix.join(dir, 'grows'), MANIFEST_MAX_BYTES)).toBe(grown);
      session.lstat = lstat;

      await session.writeFile(path.posix.join(dir, 'grows'), 'short\n');
      expect(await readFile(file, 'utf8')).toBe('short\n');
    },
    LONG,
  );
});

describe('a package uploaded to many difusores', () => {
  test(
    'is read once and sent whole to each; rewritten in place (same size, same mtime), the new bytes are sent',
    async () => {
      const { session, dir } = await openSshd();
      const second = await openSshd();
      const local = path.join(fixture.ws.dir, 'package.tar.gz');
      const first = randomBytes(3_000_000);
      await writeFile(local, first);
      // A whole second, so setting it back after the rewrite gives the very same mtime.
      const mtime = new Date(1_700_000_000_000);
      await utimes(local, mtime, mtime);
      const progress: number[] = [];
      await Promise.all([
        session.fastPut(local, path.posix.join(dir, 'a.tar.gz'), (bytes) => progress.push(bytes)),
        second.session.fastPut(local, path.posix.join(dir, 'b.tar.gz')),
      ]);
      expect((await readFile(path.join(dir, 'a.tar.gz'))).equals(first)).toBe(true);
      expect((await readFile(path.join(dir, 'b.tar.gz'))).equals(first)).toBe(true);
      expect((await stat(path.join(dir, 'a.tar.gz'))).mode & 0o777).toBe(0o644);
      expect(progress.at(-1)).toBe(first.length);

      const rewritten = randomBytes(first.length);
      await writeFile(local, rewritten);
      await utimes(local, mtime, mtime);
      await session.fastPut(local, path.posix.join(dir, 'a.tar.gz'));
      expect((await readFile(path.join(dir, 'a.tar.gz'))).equals(rewritten)).toBe(true);
    },
    LONG,
  );
});

describe('package uploads in lanes (the nearest to their end send more at once)', () => {
  test(
    'three at once each arrive whole, and every lane is given back; a refused one gives its lane back too',
    async () => {
      const local = path.join(fixture.ws.dir, 'lanes.tar.gz');
      const bytes = randomBytes(3_000_000);
      await writeFile(local, bytes);
      const targets = await Promise.all([openSshd(), openSshd(), openSshd()]);
      await Promise.all(targets.map(({ session, dir }, i) => session.fastPut(local, path.posix.join(dir, `lane${i}.tar.gz`))));
      for (const [i, { dir }] of targets.entries()) expect((await readFile(path.join(dir, `lane${i}.tar.gz`))).equals(bytes)).toBe(true);
      expect(packageUploadLanes.sending).toBe(0);

      // A full disk on one difusor mid-package, while another receives the same package.
      const full = await openInProcess('lanes-full-disk', { faults: { failWritesAfterBytes: 1_000_000 } });
      const [refused, received] = await Promise.allSettled([full.session.fastPut(local, '/pkg.tar.gz'), targets[0].session.fastPut(local, path.posix.join(targets[0].dir, 'again.tar.gz'))]);
      expect(refused).toMatchObject({ status: 'rejected', reason: { code: 4 } });
      expect(received.status).toBe('fulfilled');
      expect((await readFile(path.join(targets[0].dir, 'again.tar.gz'))).equals(bytes)).toBe(true);
      expect(packageUploadLanes.sending).toBe(0);
    },
    LONG,
  );
});

describe('whole files on servers that differ', () => {
  test(
    'short reads (a server answering at most 1,000 bytes per READ) still give the whole file',
    async () => {
      const { session, root } = await openInProcess('short-reads', { quirks: { maxReadBytes: 1000 } });
      const text = manifestLike(700_000);
      await writeFile(path.join(root, 'MANIFEST.json'), text);
      expect(await session.readSmallFile('/MANIFEST.json', MANIFEST_MAX_BYTES)).toBe(text);
      const written = manifestLike(600_000);
      await session.writeFile('/copy.json', written);
      expect(await readFile(path.join(root, 'copy.json'), 'utf8')).toBe(written);
    },
    LONG,
  );

  test(
    'a write refused mid-file (a full disk) rejects with the server status, and the session stays usable',
    async () => {
      const { session } = await openInProcess('full-disk', { faults: { failWritesAfterBytes: 400_000 } });
      await expect(session.writeFile('/MANIFEST.json', manifestLike(1_500_000))).rejects.toMatchObject({ code: 4 });
      // The handle was closed and the connection is fine: a small request still works.
      expect(await session.readSmallFile('/missing', MANIFEST_MAX_BYTES)).toBeNull();
      expect(session.alive).toBe(true);
    },
    LONG,
  );
});

describe('whole folders: readdir sends its READDIRs two at a time', () => {
  const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `e${String(i).padStart(4, '0')}`);
  test.each([0, 1, 99, 100, 101, 450])('real sshd: a folder of %i entries is listed whole, each entry once, kinds right', async (count) => {
    const { session, dir } = await openSshd();
    const folder = path.join(dir, `list-${count}`);
    await mkdir(folder);
    for (const name of names(count)) await writeFile(path.join(folder, name), name);
    await mkdir(path.join(folder, 'sub'));
    const listed = await session.readdir(folder);
    expect(listed.map((e) => e.name).sort()).toEqual([...names(count), 'sub'].sort());
    expect(listed.find((e) => e.name === 'sub')?.kind).toBe('folder');
    expect(listed.filter((e) => e.kind === 'file')).toHaveLength(count);
    // The handles were closed: the server still serves the session (sshd allows few open handles at once).
    for (let i = 0; i < 3; i += 1) expect(await session.readdir(folder)).toHaveLength(count + 1);
  }, LONG);

  test('the in-process server: 250 entries listed whole; a missing folder is "no such file"', async () => {
    const { session, root } = await openInProcess('listing', {});
    await mkdir(path.join(root, 'many'));
    for (const name of names(250)) await writeFile(path.join(root, 'many', name), 'x');
    expect((await session.readdir('/many')).map((e) => e.name).sort()).toEqual(names(250));
    await expect(session.readdir('/missing')).rejects.toMatchObject({ code: 2 });
  }, LONG);
});
