// The kit's prep-apply, for real: packages built and signed by prep-push, applied as an unprivileged
// user under dash, bash and busybox sh — full, delta, no-op, and every refusal and fault, each ending
// with exit 1, one line, `current` and APPLIED unchanged, and no staging left after the next run.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, truncateSync, writeFileSync, chownSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { cutAt } from '../../src/core/cut.js';
import { buildPackage } from '../../src/package/build-package.js';
import { deltaFileName } from '../../src/package/delta.js';
import { encodeTarHeader, TAR_END, tarPadding } from '../../src/package/tar-format.js';
import type { BuiltPackage } from '../../src/package/types.js';
import { signerFromKeyData } from '../../src/signing/load-signing-key.js';
import { signBytes, type SshSigner } from '../../src/signing/sshsig.js';
import { makeKeyPair } from '../helpers/keys.js';
import { giveToNobody, modeOf, NOBODY, openUpTo, runPrepApply, SHELLS, writeSite, writeTestKit, type ApplyRun } from '../helpers/prep-apply.js';

const TZ = 'America/Mexico_City';
const CUT_A = cutAt(Date.parse('2024-06-02T20:00:00-06:00'), TZ);
const CUT_B = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), TZ);
const CUT_C = cutAt(Date.parse('2024-06-02T20:40:00-06:00'), TZ);
const CUT_D = cutAt(Date.parse('2024-06-02T21:00:00-06:00'), TZ);
const DIRS = 12;
const PER_DIR = 25;

interface Fixture {
  root: string;
  dir: string;
  kit: string;
  store: string;
  site: string;
  signer: SshSigner;
  foreign: SshSigner;
  full: Record<'A' | 'B' | 'C' | 'D', BuiltPackage>;
}

function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Puts a package (+ .sha256, .sig) in the difusor's folder and points LATEST at it, as prep-push does. */
function deliver(f: Fixture, storeFile: string, options: { latest?: string } = {}): string {
  const name = path.basename(storeFile);
  for (const suffix of ['', '.sha256', '.sig']) {
    if (existsSync(storeFile + suffix)) copyFileSync(storeFile + suffix, path.join(f.dir, name + suffix));
  }
  writeFileSync(path.join(f.dir, 'LATEST'), `${options.latest ?? name}\n`);
  giveToNobody(f.dir);
  return name;
}

/** A tar.gz with arbitrary entries, signed with `signer`, delivered under a cut-C name. */
function deliverCrafted(f: Fixture, name: string, entries: Array<{ path: string; type: 'file' | 'directory' | 'symlink'; data?: Buffer; linkTarget?: string }>, signer = f.signer): void {
  const mtime = { mtimeSeconds: 1717380000, uid: 0, gid: 0, uname: 'root', gname: 'root' };
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const header = encodeTarHeader({ ...mtime, path: e.path, type: e.type === 'symlink' ? 'file' : e.type, size: data.length, mode: e.type === 'directory' ? 0o755 : 0o644 });
    if (e.type === 'symlink') {
      // Type flag '2' with the link target at offset 157; the checksum is recomputed.
      header[156] = '2'.charCodeAt(0);
      header.write(e.linkTarget ?? '/etc/passwd', 157, 'utf8');
      header.fill(' ', 148, 156);
      let sum = 0;
      for (const byte of header.subarray(0, 512)) sum += byte;
      header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    }
    parts.push(header, data, Buffer.alloc(tarPadding(data.length)));
  }
  parts.push(TAR_END);
  const archive = gzipSync(Buffer.concat(parts));
  const file = path.join(f.dir, name);
  writeFileSync(file, archive);
  writeFileSync(`${file}.sha256`, `${createHash('sha256').update(archive).digest('hex')}  ${name}\n`);
  writeFileSync(`${file}.sig`, signBytes(signer, archive));
  writeFileSync(path.join(f.dir, 'LATEST'), `${name}\n`);
  giveToNobody(f.dir);
}

function state(f: Fixture): { current: string | null; applied: string | null } {
  const current = existsSync(path.join(f.dir, 'current')) ? readlinkSync(path.join(f.dir, 'current')) : null;
  const appliedFile = path.join(f.dir, 'APPLIED');
  return { current, applied: existsSync(appliedFile) ? readFileSync(appliedFile, 'utf8') : null };
}

function leftovers(f: Fixture): string[] {
  const releases = path.join(f.dir, 'releases');
  const inReleases = existsSync(releases) ? readdirSync(releases).filter((n) => n.startsWith('.')) : [];
  const inDir = readdirSync(f.dir).filter((n) => n.startsWith('.'));
  return [...inReleases.map((n) => `releases/${n}`), ...inDir];
}

/** A refusal: exit 1, exactly one line on stderr matching `why`, nothing changed. */
async function expectRefused(f: Fixture, shell: { argv: string[] }, why: RegExp): Promise<ApplyRun> {
  const before = state(f);
  const run = await runPrepApply(shell, f.kit, ['--dir', f.dir]);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(why) });
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(state(f)).toEqual(before);
  expect(leftovers(f)).toEqual([]);
  return run;
}

/** Every file of the site, byte for byte, in the release `current` points to. */
function expectCurrentEquals(f: Fixture, siteDir: string): void {
  const current = path.join(f.dir, 'current');
  const walk = (dir: string, rel = ''): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name), `${rel}${e.name}/`) : [`${rel}${e.name}`]));
  const expected = walk(siteDir).sort();
  expect(walk(current).filter((p) => !p.startsWith('MANIFEST.json')).sort()).toEqual(expected);
  for (const rel of expected) expect(sha256Of(path.join(current, rel))).toBe(sha256Of(path.join(siteDir, rel)));
  expect(existsSync(path.join(current, 'MANIFEST.json.sig'))).toBe(true);
}

/** Site version of file i at cut k: ~3% of files change per cut, one file goes, one appears. */
function siteAt(f: Fixture, k: number): string {
  const site = path.join(f.root, `site-${k}`);
  writeSite(site, DIRS, PER_DIR, (i) => (i >= 0 && i % 33 === k % 33 ? k : 0) + (i === -1 ? k : 0));
  if (k >= 1) rmSync(path.join(site, 'json', 'distrito-000', 'casilla-1.json'));
  if (k >= 1) writeFileSync(path.join(site, 'json', `nuevo-${k}.json`), `{"k":${k}}`);
  if (k === 1) rmSync(path.join(site, 'json', `distrito-${String(DIRS - 1).padStart(3, '0')}`), { recursive: true });
  return site;
}

describe.each(SHELLS)('prep-apply under $name', (shell) => {
  const f = {} as Fixture;

  beforeAll(async () => {
    f.root = mkdtempSync(path.join(os.tmpdir(), 'prep-apply-'));
    openUpTo(f.root);
    const keys = await makeKeyPair(f.root, 'firma');
    const other = await makeKeyPair(f.root, 'otra');
    f.signer = signerFromKeyData(readFileSync(keys.privateKeyPath), undefined, 'firma');
    f.foreign = signerFromKeyData(readFileSync(other.privateKeyPath), undefined, 'otra');
    f.dir = path.join(f.root, 'difusor');
    mkdirSync(f.dir, { mode: 0o755 });
    chownSync(f.dir, NOBODY, NOBODY);
    f.kit = await writeTestKit(path.join(f.root, 'kit'), f.dir, f.signer);
    f.store = path.join(f.root, 'store');
    const build = (k: number, cut: typeof CUT_A) =>
      buildPackage({ sourceDir: siteAt(f, k), cut, institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'tar.gz', storeDir: f.store, signer: f.signer, delta: true });
    f.full = { A: await build(0, CUT_A), B: await build(1, CUT_B), C: await build(2, CUT_C), D: await build(3, CUT_D) };
    f.site = path.join(f.root, 'site-2');
  });
  afterAll(() => {
    spawnSync('umount', [path.join(f.root, 'small')]);
    rmSync(f.root, { recursive: true, force: true });
  });

  it('applies a full package: current, APPLIED, the whole site, files 0644 and folders 0755', async () => {
    deliver(f, f.full.A.file);
    const run = await runPrepApply(shell, f.kit, ['--dir', f.dir]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^prep-apply: applied cut 20240602_2000 \(full package, \d+ files\)/);
    expect(state(f)).toEqual({ current: 'releases/20240602_2000', applied: '20240602_2000\n' });
    expectCurrentEquals(f, path.join(f.root, 'site-0'));
    const release = path.join(f.dir, 'releases', '20240602_2000');
    expect(modeOf(release)).toBe(0o755);
    expect(modeOf(path.join(release, 'json', 'distrito-003'))).toBe(0o755);
    expect(modeOf(path.join(release, 'json', 'main.json'))).toBe(0o644);
    expect(statSync(path.join(release, 'json', 'main.json')).uid).toBe(NOBODY);
    expect(leftovers(f)).toEqual([]);
  });

  it('LATEST naming the applied cut is a no-op, exit 0', async () => {
    const run = await runPrepApply(shell, f.kit, ['--dir', f.dir]);
    expect(run).toMatchObject({ code: 0, stderr: '', stdout: 'prep-apply: cut 20240602_2000 is already applied in ' + f.dir + '; nothing to do\n' });
  });

  it('applies a delta on hard links of the base release and deletes what the new MANIFEST lacks', async () => {
    const delta = path.join(f.store, deltaFileName(f.full.B.fileName, '20240602_2000'));
    expect(statSync(delta).size).toBeLessThan(f.full.B.bytes / 3);
    deliver(f, delta);
    const run = await runPrepApply(shell, f.kit, ['--dir', f.dir]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/applied cut 20240602_2020 \(delta from 20240602_2000/);
    expect(state(f)).toEqual({ current: 'releases/20240602_2020', applied: '20240602_2020\n' });
    expectCurrentEquals(f, path.join(f.root, 'site-1'));
    // A folder whose files all went is gone too.
    expect(existsSync(path.join(f.dir, 'current', 'json', 'distrito-011'))).toBe(false);
    expect(existsSync(path.join(f.dir, 'releases', '20240602_2000', 'json', 'distrito-011', 'casilla-0.json'))).toBe(true);
    const unchanged = 'json/distrito-005/casilla-0.json';
    const inode = (cut: string) => statSync(path.join(f.dir, 'releases', cut, unchanged)).ino;
    expect(inode('20240602_2020')).toBe(inode('20240602_2000'));
    // The base release is untouched: its deleted file is still there, its changed files unchanged.
    expect(existsSync(path.join(f.dir, 'releases', '20240602_2000', 'json', 'distrito-000', 'casilla-1.json'))).toBe(true);
    expect(readFileSync(path.join(f.dir, 'releases', '20240602_2000', 'json', 'main.json'), 'utf8')).toBe('{"version":0}');
  });

  it('refuses a rollback to an older cut', async () => {
    deliver(f, f.full.A.file);
    await expectRefused(f, shell, /^prep-apply: refusing rollback: LATEST names cut 20240602_2000, older than the applied 20240602_2020\n$/);
  });

  it('refuses LATEST naming a file that is not there', async () => {
    writeFileSync(path.join(f.dir, 'LATEST'), 'PREP_20240602_2040.tar.gz\n');
    await expectRefused(f, shell, /LATEST names PREP_20240602_2040\.tar\.gz, which is not in/);
  });

  it('refuses a truncated package', async () => {
    const name = deliver(f, f.full.C.file);
    truncateSync(path.join(f.dir, name), Math.floor(f.full.C.bytes / 2));
    await expectRefused(f, shell, /PREP_20240602_2040\.tar\.gz does not match PREP_20240602_2040\.tar\.gz\.sha256 \(truncated or altered\)/);
  });

  it('refuses altered bytes even with a matching .sha256', async () => {
    const name = deliver(f, f.full.C.file);
    const file = path.join(f.dir, name);
    const bytes = readFileSync(file);
    bytes[100] ^= 0xff;
    writeFileSync(file, bytes);
    writeFileSync(`${file}.sha256`, `${createHash('sha256').update(bytes).digest('hex')}  ${name}\n`);
    await expectRefused(f, shell, /\.sig does not verify with .*allowed_signers \(foreign key or altered package\)/);
  });

  it('refuses a package signed with a foreign key', async () => {
    const name = deliver(f, f.full.C.file);
    writeFileSync(path.join(f.dir, `${name}.sig`), signBytes(f.foreign, readFileSync(path.join(f.dir, name))));
    await expectRefused(f, shell, /\.sig does not verify/);
  });

  it.each([
    ['a ".." entry', [{ path: '../fuera.json', type: 'file' as const, data: Buffer.from('{}') }], /holds an entry escaping the release \(\.\.\/fuera\.json\)/],
    ['an absolute entry', [{ path: '/tmp/fuera.json', type: 'file' as const, data: Buffer.from('{}') }], /holds an entry escaping the release/],
    ['a symlink entry', [{ path: 'json/enlace', type: 'symlink' as const, linkTarget: '/etc' }], /holds links or devices/],
  ])('refuses %s even when signed', async (_label, entries, why) => {
    deliverCrafted(f, 'PREP_20240602_2040.tar.gz', entries);
    await expectRefused(f, shell, why);
    expect(existsSync(path.join(f.root, 'fuera.json'))).toBe(false);
  });

  it('refuses a delta whose base release is gone, and one whose base is not APPLIED', async () => {
    deliver(f, path.join(f.store, deltaFileName(f.full.C.fileName, '20240602_2000')));
    await expectRefused(f, shell, /is a delta from 20240602_2000, but APPLIED is 20240602_2020; a full package comes at the next cut/);
    deliver(f, path.join(f.store, deltaFileName(f.full.C.fileName, '20240602_2020')));
    const base = path.join(f.dir, 'releases', '20240602_2020');
    renameSync(base, `${base}-aside`);
    try {
      const before = state(f);
      const run = await runPrepApply(shell, f.kit, ['--dir', f.dir]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^prep-apply: base release 20240602_2020 of .* is gone from .*; a full package comes at the next cut\n$/);
      expect(state(f)).toEqual(before);
    } finally {
      renameSync(`${base}-aside`, base);
    }
  });

  it('refuses to run while another prep-apply holds the lock, and takes over a stale one', async () => {
    deliver(f, path.join(f.store, deltaFileName(f.full.C.fileName, '20240602_2020')));
    const lock = path.join(f.dir, '.prep-apply.lock');
    const holder = spawn('sleep', ['30']);
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), `${holder.pid}\n`);
      giveToNobody(f.dir);
      const before = state(f);
      const run = await runPrepApply(shell, f.kit, ['--dir', f.dir]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`prep-apply: another prep-apply (pid ${holder.pid}) is applying in ${f.dir}; nothing was done\n`);
      expect(state(f)).toEqual(before);
    } finally {
      holder.kill('SIGKILL');
    }
    await new Promise((resolve) => holder.once('close', resolve));
    // The holder is gone: its lock is stale and is taken over.
    const run = await runPrepApply(shell, f.kit, ['--dir', f.dir]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(state(f)).toEqual({ current: 'releases/20240602_2040', applied: '20240602_2040\n' });
    expectCurrentEquals(f, f.site);
    expect(leftovers(f)).toEqual([]);
  });

  it('killed mid-extraction: current and APPLIED unchanged, and the next run cleans up and applies', async () => {
    deliver(f, path.join(f.store, deltaFileName(f.full.D.fileName, '20240602_2040')));
    // A tar that extracts part of the archive and then hangs, so the kill lands mid-extraction.
    const fakebin = path.join(f.root, 'fakebin');
    mkdirSync(fakebin, { recursive: true, mode: 0o755 });
    const realTar = spawnSync('sh', ['-c', 'command -v tar']).stdout.toString().trim();
    writeFileSync(
      path.join(fakebin, 'tar'),
      `#!/bin/sh\ncase "$*" in *-C*) head -c 3000 | ${realTar} "$@" 2>/dev/null; sleep 60 ;; *) exec ${realTar} "$@" ;; esac\n`,
      { mode: 0o755 },
    );
    const before = state(f);
    let pid = 0;
    const running = runPrepApply(shell, f.kit, ['--dir', f.dir], { pathPrefix: fakebin, onSpawn: (p) => (pid = p) });
    const releases = path.join(f.dir, 'releases');
    const deadline = Date.now() + 20_000;
    while (!readdirSync(releases).some((n) => n.startsWith('.staging-')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync(releases).filter((n) => n.startsWith('.staging-'))).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    // Two at once: a second prep-apply while the first is extracting is refused by the lock.
    const second = await runPrepApply(shell, f.kit, ['--dir', f.dir]);
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(`prep-apply: another prep-apply (pid ${pid}) is applying in ${f.dir}; nothing was done\n`);
    process.kill(-pid, 'SIGKILL');
    const killed = await running;
    expect(killed.signal).toBe('SIGKILL');
    expect(state(f)).toEqual(before);
    expect(leftovers(f).length).toBeGreaterThan(0);

    // The recovery run also rehashes every file (--verify-all) and keeps two releases (--keep 2).
    const run = await runPrepApply(shell, f.kit, ['--dir', f.dir, '--keep', '2', '--verify-all']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(state(f)).toEqual({ current: 'releases/20240602_2100', applied: '20240602_2100\n' });
    expectCurrentEquals(f, path.join(f.root, 'site-3'));
    expect(leftovers(f)).toEqual([]);
    expect(readdirSync(path.join(f.dir, 'releases')).sort()).toEqual(['20240602_2040', '20240602_2100']);
  });

  it('disk full during extraction: exit 1, nothing switched, nothing left', async () => {
    const small = path.join(f.root, 'small');
    mkdirSync(small, { mode: 0o755 });
    // Room for the package, not for its ~300 extracted files (a tmpfs file takes at least a page).
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${Math.ceil((f.full.C.bytes + 96 * 1024) / 4096) * 4}k,mode=0755,uid=${NOBODY},gid=${NOBODY}`, 'tmpfs', small]);
    expect(mounted.status).toBe(0);
    const g = { ...f, dir: small };
    deliver(g, f.full.C.file);
    const run = await runPrepApply(shell, f.kit, ['--dir', small]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^prep-apply: extracting PREP_20240602_2040\.tar\.gz failed \(disk full or damaged archive\); not applied\n$/);
    expect(state(g)).toEqual({ current: null, applied: null });
    expect(leftovers(g)).toEqual([]);
    expect(readdirSync(path.join(small, 'releases'))).toEqual([]);
  });
});

describe('prep-apply of a zip package', () => {
  let root: string;
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('verifies and applies a signed zip package with unzip', async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'prep-apply-zip-'));
    openUpTo(root);
    const keys = await makeKeyPair(root, 'firma');
    const signer = signerFromKeyData(readFileSync(keys.privateKeyPath), undefined, 'firma');
    const site = path.join(root, 'site');
    writeSite(site, 3, 4, () => 1);
    const pkg = await buildPackage({ sourceDir: site, cut: CUT_A, institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'zip', storeDir: path.join(root, 'store'), signer });
    const dir = path.join(root, 'difusor');
    mkdirSync(dir, { mode: 0o755 });
    for (const suffix of ['', '.sha256', '.sig']) copyFileSync(pkg.file + suffix, path.join(dir, pkg.fileName + suffix));
    writeFileSync(path.join(dir, 'LATEST'), `${pkg.fileName}\n`);
    giveToNobody(dir);
    const kit = await writeTestKit(path.join(root, 'kit'), dir, signer);
    const run = await runPrepApply(SHELLS[0], kit, ['--dir', dir]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(readlinkSync(path.join(dir, 'current'))).toBe('releases/20240602_2000');
    expect(readFileSync(path.join(dir, 'current', 'json', 'main.json'), 'utf8')).toBe(readFileSync(path.join(site, 'json', 'main.json'), 'utf8'));
    expect(existsSync(path.join(dir, 'current', 'MANIFEST.json.sig'))).toBe(true);

    // A `current` that is a real folder (say, an old hand-made copy) is never moved into or replaced.
    rmSync(path.join(dir, 'current'));
    rmSync(path.join(dir, 'APPLIED'));
    mkdirSync(path.join(dir, 'current'));
    writeFileSync(path.join(dir, 'current', 'index.html'), 'a mano');
    giveToNobody(dir);
    const refused = await runPrepApply(SHELLS[0], kit, ['--dir', dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`prep-apply: ${dir}/current is a real folder, not a link; move it away (prep-apply makes current a link to releases/<cut>)\n`);
    expect(readdirSync(path.join(dir, 'current'))).toEqual(['index.html']);
  });
});
