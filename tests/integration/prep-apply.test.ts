// The kit's prep-apply, for real: packages built and signed by prep-push, applied as an unprivileged
// user under dash, bash and busybox sh — full, delta, no-op, and every refusal and fault, each ending
// with exit 1, one line, `current` and APPLIED unchanged, and no staging left after the next run.
// The attacks of issue 22 are played here through the real script: a package swapped in the upload
// folder while prep-apply runs, a base release edited by hand, APPLIED deleted or edited, LATEST with
// escapes or pointing at /dev/zero; WITHDRAWN (signed, unsigned, badly signed) and UTF-8 file names too.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
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
import { giveToNobody, modeOf, NOBODY, openUpTo, runPrepApply, SHELLS, signWithSshKeygen, writeSite, writeTestKit, type ApplyRun } from '../helpers/prep-apply.js';

const TZ = 'America/Mexico_City';
const CUT_A = cutAt(Date.parse('2024-06-02T20:00:00-06:00'), TZ);
const CUT_B = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), TZ);
const CUT_C = cutAt(Date.parse('2024-06-02T20:40:00-06:00'), TZ);
const CUT_D = cutAt(Date.parse('2024-06-02T21:00:00-06:00'), TZ);
const CUT_E = cutAt(Date.parse('2024-06-02T21:20:00-06:00'), TZ);
const CUT_F = cutAt(Date.parse('2024-06-02T21:40:00-06:00'), TZ);
const CUT_G = cutAt(Date.parse('2024-06-02T22:00:00-06:00'), TZ);
const DIRS = 12;
const PER_DIR = 25;

interface Fixture {
  root: string;
  dir: string;
  kit: string;
  store: string;
  laterStore: string;
  site: string;
  signer: SshSigner;
  foreign: SshSigner;
  full: Record<'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G', BuiltPackage>;
}

/** What prep-apply keeps in its own state (REMOTE_DIR/.prep-apply/) between runs. */
const STATE_FILES = ['history', 'mark', 'withdrawn'];

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

function state(f: Pick<Fixture, 'dir'>): { current: string | null; applied: string | null } {
  const current = existsSync(path.join(f.dir, 'current')) ? readlinkSync(path.join(f.dir, 'current')) : null;
  const appliedFile = path.join(f.dir, 'APPLIED');
  return { current, applied: existsSync(appliedFile) ? readFileSync(appliedFile, 'utf8') : null };
}

/** prep-apply's anti-rollback mark, in its own state. */
function markOf(f: Pick<Fixture, 'dir'>): string | null {
  const file = path.join(f.dir, '.prep-apply', 'mark');
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}

/** Work in progress left behind: `.`-names in releases/ and the folder, and anything but the state's own files in it. */
function leftovers(f: Pick<Fixture, 'dir'>): string[] {
  const releases = path.join(f.dir, 'releases');
  const stateDir = path.join(f.dir, '.prep-apply');
  const inReleases = existsSync(releases) ? readdirSync(releases).filter((n) => n.startsWith('.')) : [];
  const inDir = readdirSync(f.dir).filter((n) => n.startsWith('.') && n !== '.prep-apply');
  const inState = existsSync(stateDir) ? readdirSync(stateDir).filter((n) => !STATE_FILES.includes(n)) : [];
  return [...inReleases.map((n) => `releases/${n}`), ...inDir, ...inState.map((n) => `.prep-apply/${n}`)];
}

/** A refusal: exit 1, exactly one line on stderr matching `why`, nothing changed (the mark neither). */
async function expectRefused(f: Pick<Fixture, 'dir' | 'kit'>, shell: { argv: string[] }, why: RegExp): Promise<ApplyRun> {
  const before = { ...state(f), mark: markOf(f) };
  const run = await runPrepApply(shell, f.kit, ['--dir', f.dir]);
  expect({ code: run.code, stderr: run.stderr, stdout: run.stdout }).toEqual({ code: 1, stderr: expect.stringMatching(why), stdout: '' });
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect({ ...state(f), mark: markOf(f) }).toEqual(before);
  expect(leftovers(f)).toEqual([]);
  return run;
}

/** A copy of a package with a defaced index.html added (its MANIFEST.json and .sig kept): what someone with the upload account swaps in. */
function defacedCopyOf(f: Fixture, storeFile: string, into: string): string {
  const unpacked = path.join(f.root, `unpacked-${path.basename(storeFile)}`);
  rmSync(unpacked, { recursive: true, force: true });
  mkdirSync(unpacked);
  expect(spawnSync('tar', ['-xzf', storeFile, '-C', unpacked]).status).toBe(0);
  writeFileSync(path.join(unpacked, 'index.html'), '<!doctype html><title>DEFACED</title>\n');
  const out = path.join(into, `defaced-${path.basename(storeFile)}`);
  expect(spawnSync('tar', ['-czf', out, '-C', unpacked, '.']).status).toBe(0);
  return out;
}

/** A shim for `tool` on PATH that, the first time it runs as `when` matches its arguments, replaces `target` with `replacement`. */
function swappingShim(f: Fixture, tool: string, when: string, target: string, replacement: string): string {
  const bin = path.join(f.root, `shim-${tool}`);
  rmSync(bin, { recursive: true, force: true });
  mkdirSync(bin, { mode: 0o755 });
  const real = spawnSync('sh', ['-c', `command -v ${tool}`]).stdout.toString().trim();
  const flag = path.join(bin, 'swapped');
  writeFileSync(
    path.join(bin, tool),
    `#!/bin/sh\ncase "$*" in ${when}) if [ ! -e '${flag}' ]; then : > '${flag}'; cat '${replacement}' > '${target}'; fi ;; esac\nexec ${real} "$@"\n`,
    { mode: 0o755 },
  );
  chownSync(bin, NOBODY, NOBODY);
  return bin;
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
    // The later cuts go to a store of their own: a store keeps the deltas of its newest four cuts only.
    const build = (k: number, cut: typeof CUT_A, storeDir = f.store) =>
      buildPackage({ sourceDir: siteAt(f, k), cut, institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'tar.gz', storeDir, signer: f.signer, delta: true });
    f.laterStore = path.join(f.root, 'store-later');
    f.full = {
      A: await build(0, CUT_A),
      B: await build(1, CUT_B),
      C: await build(2, CUT_C),
      D: await build(3, CUT_D),
      E: await build(4, CUT_E, f.laterStore),
      F: await build(5, CUT_F, f.laterStore),
      G: await build(6, CUT_G, f.laterStore),
    };
    f.site = path.join(f.root, 'site-2');
  });
  afterAll(() => {
    spawnSync('umount', [path.join(f.root, 'small')]);
    rmSync(f.root, { recursive: true, force: true });
  });

  it('applies a full package: current, APPLIED, the mark in its own state, the whole site, files 0644 and folders 0755', async () => {
    deliver(f, f.full.A.file);
    const run = await runPrepApply(shell, f.kit, ['--dir', f.dir]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^prep-apply: se aplicó el corte 20240602_2000 \(paquete completo, \d+ archivos\) en .*; current cambió con un renombrado atómico\n$/);
    expect(state(f)).toEqual({ current: 'releases/20240602_2000', applied: '20240602_2000\n' });
    expect(markOf(f)).toBe('20240602_2000\n');
    expect(modeOf(path.join(f.dir, '.prep-apply'))).toBe(0o700);
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
    expect(run).toMatchObject({ code: 0, stderr: '', stdout: `prep-apply: el corte 20240602_2000 ya está aplicado en ${f.dir}; nada que hacer\n` });
  });

  it('refuses a delta when a file it takes from the base release was edited by hand there', async () => {
    const edited = path.join(f.dir, 'releases', '20240602_2000', 'index.html');
    const genuine = readFileSync(edited);
    writeFileSync(edited, '<!doctype html><title>editado a mano</title>\n');
    try {
      deliver(f, path.join(f.store, deltaFileName(f.full.B.fileName, '20240602_2000')));
      await expectRefused(
        f,
        shell,
        /^prep-apply: index\.html de la publicación base 20240602_2000 no coincide con su MANIFEST\.json firmado \(fue modificado en el disco\); no se aplicó PREP_20240602_2020\.from-20240602_2000\.tar\.gz; el siguiente corte trae un paquete completo\n$/,
      );
      expect(readlinkSync(path.join(f.dir, 'current'))).toBe('releases/20240602_2000');
    } finally {
      writeFileSync(edited, genuine);
    }
    // A file added by hand to the base release is refused too: the release would differ from its manifest.
    const added = path.join(f.dir, 'releases', '20240602_2000', 'json', 'extra.json');
    writeFileSync(added, '{}');
    chownSync(added, NOBODY, NOBODY);
    try {
      await expectRefused(f, shell, /los archivos de PREP_20240602_2020\.from-20240602_2000\.tar\.gz no coinciden con su MANIFEST\.json \(primera diferencia: json\/extra\.json\)/);
    } finally {
      rmSync(added);
    }
  });

  it('applies a delta on hard links of the base release and deletes what the new MANIFEST lacks', async () => {
    const delta = path.join(f.store, deltaFileName(f.full.B.fileName, '20240602_2000'));
    expect(statSync(delta).size).toBeLessThan(f.full.B.bytes / 3);
    deliver(f, delta);
    const run = await runPrepApply(shell, f.kit, ['--dir', f.dir]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/se aplicó el corte 20240602_2020 \(incremental desde 20240602_2000, \d+ archivos\)/);
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

  it('refuses a rollback to an older cut, also once APPLIED is deleted from the upload folder', async () => {
    deliver(f, f.full.A.file);
    await expectRefused(f, shell, /^prep-apply: se rechaza volver atrás: LATEST nombra el corte 20240602_2000, anterior al aplicado 20240602_2020\n$/);
    // The attack of issue 22: `rm APPLIED; LATEST=<older signed package>`. The mark is in prep-apply's state.
    rmSync(path.join(f.dir, 'APPLIED'));
    await expectRefused(f, shell, /^prep-apply: se rechaza volver atrás: LATEST nombra el corte 20240602_2000, anterior al aplicado 20240602_2020\n$/);
    expect(readlinkSync(path.join(f.dir, 'current'))).toBe('releases/20240602_2020');
  });

  it('LATEST with backslash escapes cannot forge a log line (printf %s, never echo)', async () => {
    writeFileSync(path.join(f.dir, 'LATEST'), 'x\\nprep-apply: se aplicó el corte 20990101_0000\\c\n');
    const run = await expectRefused(f, shell, /^prep-apply: LATEST contiene «x\\nprep-apply: se aplicó el corte 20990101_0000\\c», que no es un nombre de paquete; espere el siguiente corte\n$/);
    expect(run.stderr.split('\n')).toHaveLength(2);
  });

  it('LATEST a link to /dev/zero or 64 MiB long, a package that is a FIFO: refused at once, nothing read from them', async () => {
    rmSync(path.join(f.dir, 'LATEST'));
    symlinkSync('/dev/zero', path.join(f.dir, 'LATEST'));
    giveToNobody(f.dir);
    const started = Date.now();
    await expectRefused(f, shell, /^prep-apply: .*\/LATEST no es un archivo regular \(es un enlace, una carpeta o un FIFO\); no se aplicó nada\n$/);
    rmSync(path.join(f.dir, 'LATEST'));
    writeFileSync(path.join(f.dir, 'LATEST'), 'x'.repeat(64 * 1024 * 1024));
    giveToNobody(f.dir);
    await expectRefused(f, shell, /^prep-apply: LATEST mide más de 4 KiB, así que no nombra un paquete; espere el siguiente corte\n$/);
    rmSync(path.join(f.dir, 'LATEST'));
    const fifo = path.join(f.dir, 'PREP_20240602_2040.tar.gz');
    rmSync(fifo, { force: true });
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    writeFileSync(path.join(f.dir, 'LATEST'), 'PREP_20240602_2040.tar.gz\n');
    giveToNobody(f.dir);
    await expectRefused(f, shell, /^prep-apply: PREP_20240602_2040\.tar\.gz no es un archivo regular en .* \(es un enlace, una carpeta o un FIFO\); no se aplicó\n$/);
    rmSync(fifo);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses LATEST naming a file that is not there', async () => {
    writeFileSync(path.join(f.dir, 'LATEST'), 'PREP_20240602_2040.tar.gz\n');
    await expectRefused(f, shell, /LATEST nombra PREP_20240602_2040\.tar\.gz, que no está en .*; espere el siguiente corte/);
  });

  it('refuses a truncated package', async () => {
    const name = deliver(f, f.full.C.file);
    truncateSync(path.join(f.dir, name), Math.floor(f.full.C.bytes / 2));
    await expectRefused(f, shell, /PREP_20240602_2040\.tar\.gz no coincide con PREP_20240602_2040\.tar\.gz\.sha256 \(truncado o alterado\)/);
  });

  it('refuses altered bytes even with a matching .sha256', async () => {
    const name = deliver(f, f.full.C.file);
    const file = path.join(f.dir, name);
    const bytes = readFileSync(file);
    bytes[100] ^= 0xff;
    writeFileSync(file, bytes);
    writeFileSync(`${file}.sha256`, `${createHash('sha256').update(bytes).digest('hex')}  ${name}\n`);
    await expectRefused(f, shell, /la firma PREP_20240602_2040\.tar\.gz\.sig no es válida con .*allowed_signers \(llave ajena o paquete alterado\)/);
  });

  it('refuses a package signed with a foreign key', async () => {
    const name = deliver(f, f.full.C.file);
    writeFileSync(path.join(f.dir, `${name}.sig`), signBytes(f.foreign, readFileSync(path.join(f.dir, name))));
    await expectRefused(f, shell, /\.sig no es válida/);
  });

  it.each([
    ['a ".." entry', [{ path: '../fuera.json', type: 'file' as const, data: Buffer.from('{}') }], /contiene una entrada que sale de la publicación \(\.\.\/fuera\.json\)/],
    ['an absolute entry', [{ path: '/tmp/fuera.json', type: 'file' as const, data: Buffer.from('{}') }], /contiene una entrada que sale de la publicación/],
    ['a symlink entry', [{ path: 'json/enlace', type: 'symlink' as const, linkTarget: '/etc' }], /contiene enlaces o dispositivos/],
  ])('refuses %s even when signed', async (_label, entries, why) => {
    deliverCrafted(f, 'PREP_20240602_2040.tar.gz', entries);
    await expectRefused(f, shell, why);
    expect(existsSync(path.join(f.root, 'fuera.json'))).toBe(false);
  });

  it('refuses a delta whose base release is gone, and one whose base is not the cut applied', async () => {
    deliver(f, path.join(f.store, deltaFileName(f.full.C.fileName, '20240602_2000')));
    await expectRefused(f, shell, /es incremental desde 20240602_2000, pero el corte aplicado es 20240602_2020; el siguiente corte trae un paquete completo/);
    deliver(f, path.join(f.store, deltaFileName(f.full.C.fileName, '20240602_2020')));
    const base = path.join(f.dir, 'releases', '20240602_2020');
    renameSync(base, `${base}-aside`);
    try {
      const before = state(f);
      const run = await runPrepApply(shell, f.kit, ['--dir', f.dir]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^prep-apply: la publicación base 20240602_2020 de .* ya no está en .*; el siguiente corte trae un paquete completo\n$/);
      expect(state(f)).toEqual(before);
    } finally {
      renameSync(`${base}-aside`, base);
    }
  });

  it('refuses to run while another prep-apply holds the lock, and takes over a stale one', async () => {
    deliver(f, path.join(f.store, deltaFileName(f.full.C.fileName, '20240602_2020')));
    const lock = path.join(f.dir, '.prep-apply', 'lock');
    const holder = spawn('sleep', ['30']);
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), `${holder.pid}\n`);
      giveToNobody(f.dir);
      const before = state(f);
      const run = await runPrepApply(shell, f.kit, ['--dir', f.dir]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`prep-apply: otro prep-apply (pid ${holder.pid}) está aplicando en ${f.dir}; no se hizo nada\n`);
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
    expect(second.stderr).toBe(`prep-apply: otro prep-apply (pid ${pid}) está aplicando en ${f.dir}; no se hizo nada\n`);
    process.kill(-pid, 'SIGKILL');
    const killed = await running;
    expect(killed.signal).toBe('SIGKILL');
    expect(state(f)).toEqual(before);
    expect(leftovers(f).length).toBeGreaterThan(0);

    // The recovery run (--verify-all is still accepted) keeps two releases (--keep 2).
    const run = await runPrepApply(shell, f.kit, ['--dir', f.dir, '--keep', '2', '--verify-all']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(state(f)).toEqual({ current: 'releases/20240602_2100', applied: '20240602_2100\n' });
    expectCurrentEquals(f, path.join(f.root, 'site-3'));
    expect(leftovers(f)).toEqual([]);
    expect(readdirSync(path.join(f.dir, 'releases')).sort()).toEqual(['20240602_2040', '20240602_2100']);
  });

  it('an APPLIED edited to a far future cut freezes nothing: the next genuine cut applies', async () => {
    writeFileSync(path.join(f.dir, 'APPLIED'), '99999999_9999\n');
    deliver(f, f.full.E.file);
    const run = await runPrepApply(shell, f.kit, ['--dir', f.dir]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/se aplicó el corte 20240602_2120 \(paquete completo/);
    expect(state(f)).toEqual({ current: 'releases/20240602_2120', applied: '20240602_2120\n' });
    expectCurrentEquals(f, path.join(f.root, 'site-4'));
  });

  it('a package swapped in the upload folder after every check changes nothing: its own verified copy is applied', async () => {
    // The race of issue 22, made deterministic: a `cp` that, when it hard-links the base release into
    // staging (after every check, before the old prep-apply extracted the upload folder's file), first
    // replaces the delta there with one carrying a defaced index.html and the same signed MANIFEST.json.
    // The prep-apply of commit 7d20992 published DEFACED with exit 0; this one applies its own copy.
    const name = deliver(f, path.join(f.laterStore, deltaFileName(f.full.F.fileName, '20240602_2120')));
    const defaced = defacedCopyOf(f, path.join(f.laterStore, name), f.root);
    const shim = swappingShim(f, 'cp', '*-al*', path.join(f.dir, name), defaced);
    const run = await runPrepApply(shell, f.kit, ['--dir', f.dir], { pathPrefix: shim });
    expect(existsSync(path.join(shim, 'swapped'))).toBe(true);
    expect(readFileSync(path.join(f.dir, name))).toEqual(readFileSync(defaced));
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(readFileSync(path.join(f.dir, 'current', 'index.html'), 'utf8')).toBe('<!doctype html><title>PREP</title>\n');
    expectCurrentEquals(f, path.join(f.root, 'site-5'));
  });

  it('a package swapped in the upload folder while its signature is checked changes nothing either', async () => {
    const name = deliver(f, f.full.G.file);
    const defaced = defacedCopyOf(f, f.full.G.file, f.root);
    const shim = swappingShim(f, 'ssh-keygen', '*-Y*verify*', path.join(f.dir, name), defaced);
    const run = await runPrepApply(shell, f.kit, ['--dir', f.dir], { pathPrefix: shim });
    expect(existsSync(path.join(shim, 'swapped'))).toBe(true);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(readFileSync(path.join(f.dir, 'current', 'index.html'), 'utf8')).toBe('<!doctype html><title>PREP</title>\n');
    expectCurrentEquals(f, path.join(f.root, 'site-6'));
    expect(leftovers(f)).toEqual([]);
  });

  it('disk full during extraction: exit 1, nothing switched, nothing left', async () => {
    const small = path.join(f.root, 'small');
    mkdirSync(small, { mode: 0o755 });
    // Room for the package and prep-apply's copy of it, not for its ~300 extracted files (a tmpfs file takes at least a page).
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${Math.ceil((2 * f.full.C.bytes + 320 * 1024) / 4096) * 4}k,mode=0755,uid=${NOBODY},gid=${NOBODY}`, 'tmpfs', small]);
    expect(mounted.status).toBe(0);
    const g = { ...f, dir: small };
    deliver(g, f.full.C.file);
    const run = await runPrepApply(shell, f.kit, ['--dir', small]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^prep-apply: falló la extracción de PREP_20240602_2040\.tar\.gz \(disco lleno o archivo dañado\); no se aplicó\n$/);
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
    mkdirSync(path.join(site, 'resultados'));
    writeFileSync(path.join(site, 'resultados', 'año.json'), '{"año":2024}');
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
    expect(readFileSync(path.join(dir, 'current', 'resultados', 'año.json'), 'utf8')).toBe('{"año":2024}');

    // A `current` that is a real folder (say, an old hand-made copy) is never moved into or replaced.
    rmSync(path.join(dir, 'current'));
    rmSync(path.join(dir, 'APPLIED'));
    mkdirSync(path.join(dir, 'current'));
    writeFileSync(path.join(dir, 'current', 'index.html'), 'a mano');
    giveToNobody(dir);
    const refused = await runPrepApply(SHELLS[0], kit, ['--dir', dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`prep-apply: ${dir}/current es una carpeta o un archivo, no un enlace; muévalo (prep-apply hace de current un enlace a releases/<corte>)\n`);
    expect(readdirSync(path.join(dir, 'current'))).toEqual(['index.html']);
  });
});

/** A small PREP-like site with UTF-8 file names; `k` changes main.json and año.json. */
function utf8Site(dir: string, k: number): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'resultados', 'distrito-añil'), { recursive: true });
  mkdirSync(path.join(dir, 'json'), { recursive: true });
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>PREP</title>\n');
  writeFileSync(path.join(dir, 'índice.html'), '<!doctype html><title>Índice</title>\n');
  writeFileSync(path.join(dir, 'json', 'main.json'), JSON.stringify({ version: k }));
  writeFileSync(path.join(dir, 'resultados', 'año.json'), JSON.stringify({ año: 2024, corte: k }));
  writeFileSync(path.join(dir, 'resultados', 'distrito-añil', 'sección 1 «centro».json'), '{"votos":7}');
  return dir;
}

describe.each(SHELLS)('prep-apply with UTF-8 file names under $name', (shell) => {
  let root: string;
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('applies índice.html and resultados/año.json as named, full then delta, under LC_ALL=C (where tar -t prints \\303\\255)', async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'prep-apply-utf8-'));
    openUpTo(root);
    const keys = await makeKeyPair(root, 'firma');
    const signer = signerFromKeyData(readFileSync(keys.privateKeyPath), undefined, 'firma');
    const store = path.join(root, 'store');
    const build = (k: number, cut: typeof CUT_A) =>
      buildPackage({ sourceDir: utf8Site(path.join(root, `site-${k}`), k), cut, institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'tar.gz', storeDir: store, signer, delta: true });
    const first = await build(0, CUT_A);
    const second = await build(1, CUT_B);
    // What the old prep-apply tripped on: GNU tar escapes these names in C.
    expect(spawnSync('tar', ['-tzf', first.file], { encoding: 'utf8', env: { LC_ALL: 'C' } }).stdout).toContain('\\303\\255ndice.html');
    const dir = path.join(root, 'difusor');
    mkdirSync(dir, { mode: 0o755 });
    const kit = await writeTestKit(path.join(root, 'kit'), dir, signer);
    const put = (file: string) => {
      for (const suffix of ['', '.sha256', '.sig']) copyFileSync(file + suffix, path.join(dir, path.basename(file) + suffix));
      writeFileSync(path.join(dir, 'LATEST'), `${path.basename(file)}\n`);
      giveToNobody(dir);
    };
    const env = { LC_ALL: 'C', LANG: 'C' };
    put(first.file);
    const full = await runPrepApply(shell, kit, ['--dir', dir], { env });
    expect(full).toMatchObject({ code: 0, stderr: '' });
    expect(full.stdout).toMatch(/se aplicó el corte 20240602_2000 \(paquete completo, 5 archivos\)/);
    expect(readFileSync(path.join(dir, 'current', 'índice.html'), 'utf8')).toBe('<!doctype html><title>Índice</title>\n');
    expect(readFileSync(path.join(dir, 'current', 'resultados', 'año.json'), 'utf8')).toBe('{"año":2024,"corte":0}');
    expect(existsSync(path.join(dir, 'current', 'resultados', 'distrito-añil', 'sección 1 «centro».json'))).toBe(true);

    put(path.join(store, deltaFileName(second.fileName, '20240602_2000')));
    const delta = await runPrepApply(shell, kit, ['--dir', dir], { env });
    expect(delta).toMatchObject({ code: 0, stderr: '' });
    expect(delta.stdout).toMatch(/se aplicó el corte 20240602_2020 \(incremental desde 20240602_2000, 5 archivos\)/);
    expect(readFileSync(path.join(dir, 'current', 'resultados', 'año.json'), 'utf8')).toBe('{"año":2024,"corte":1}');
    const inode = (cut: string) => statSync(path.join(dir, 'releases', cut, 'índice.html')).ino;
    expect(inode('20240602_2020')).toBe(inode('20240602_2000'));
    expect(readFileSync(path.join(dir, 'releases', '20240602_2000', 'resultados', 'año.json'), 'utf8')).toBe('{"año":2024,"corte":0}');
  });
});

describe.each(SHELLS)('WITHDRAWN under $name', (shell) => {
  const w = {} as { root: string; dir: string; kit: string; keyPath: string; foreignKeyPath: string; pkgs: BuiltPackage[] };
  const cuts = [CUT_A, CUT_B, CUT_C, CUT_D];

  /** LATEST names package i (0..3) of cuts 20:00, 20:20, 20:40, 21:00. */
  const deliverCut = (i: number) => {
    const file = w.pkgs[i].file;
    for (const suffix of ['', '.sha256', '.sig']) copyFileSync(file + suffix, path.join(w.dir, path.basename(file) + suffix));
    writeFileSync(path.join(w.dir, 'LATEST'), `${path.basename(file)}\n`);
    giveToNobody(w.dir);
  };
  /** WITHDRAWN listing `ids`, signed by the real ssh-keygen with `key` (or unsigned). */
  const withdraw = (ids: string[], key: string | null) => {
    const file = path.join(w.dir, 'WITHDRAWN');
    writeFileSync(file, ids.map((id) => `${id}\n`).join(''));
    rmSync(`${file}.sig`, { force: true });
    if (key) signWithSshKeygen(key, file);
    giveToNobody(w.dir);
  };
  const apply = () => runPrepApply(shell, w.kit, ['--dir', w.dir]);

  beforeAll(async () => {
    w.root = mkdtempSync(path.join(os.tmpdir(), 'prep-apply-withdrawn-'));
    openUpTo(w.root);
    const keys = await makeKeyPair(w.root, 'firma');
    w.keyPath = keys.privateKeyPath;
    w.foreignKeyPath = (await makeKeyPair(w.root, 'ajena')).privateKeyPath;
    const signer = signerFromKeyData(readFileSync(keys.privateKeyPath), undefined, 'firma');
    w.pkgs = [];
    for (const [i, cut] of cuts.entries()) {
      const site = path.join(w.root, `site-${i}`);
      writeSite(site, 2, 3, (n) => (n === -1 ? i : 0));
      w.pkgs.push(await buildPackage({ sourceDir: site, cut, institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'tar.gz', storeDir: path.join(w.root, 'store'), signer }));
    }
    w.dir = path.join(w.root, 'difusor');
    mkdirSync(w.dir, { mode: 0o755 });
    w.kit = await writeTestKit(path.join(w.root, 'kit'), w.dir, signer);
  });
  afterAll(() => rmSync(w.root, { recursive: true, force: true }));

  it('a signed WITHDRAWN listing the newer cut takes current back to the older one and lowers the mark', async () => {
    for (const i of [0, 1]) {
      deliverCut(i);
      expect(await apply()).toMatchObject({ code: 0, stderr: '' });
    }
    expect(markOf(w)).toBe('20240602_2020\n');
    withdraw(['20240602_2020'], w.keyPath);
    deliverCut(0);
    const run = await apply();
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^prep-apply: se volvió al corte 20240602_2000 \(paquete completo, 8 archivos\) en .* porque se retiraron los cortes posteriores \(20240602_2020\); current cambió con un renombrado atómico\n$/);
    expect(state(w)).toEqual({ current: 'releases/20240602_2000', applied: '20240602_2000\n' });
    expect(markOf(w)).toBe('20240602_2000\n');
    expect(readFileSync(path.join(w.dir, 'current', 'json', 'main.json'), 'utf8')).toBe('{"version":0}');
  });

  it('refuses a withdrawn cut even though it is newer and genuinely signed, also once WITHDRAWN is gone from the upload folder', async () => {
    deliverCut(1);
    await expectRefused(w, shell, /^prep-apply: el corte 20240602_2020 fue retirado \(lo dice WITHDRAWN, firmado\): no se publica; espere el siguiente corte\n$/);
    rmSync(path.join(w.dir, 'WITHDRAWN'));
    rmSync(path.join(w.dir, 'WITHDRAWN.sig'));
    await expectRefused(w, shell, /el corte 20240602_2020 fue retirado/);
    // The next cut applies as usual.
    deliverCut(2);
    expect(await apply()).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/se aplicó el corte 20240602_2040/) });
    expect(markOf(w)).toBe('20240602_2040\n');
  });

  it.each([
    ['unsigned', () => withdraw(['20240602_2040'], null), /\(WITHDRAWN llegó sin WITHDRAWN\.sig y no se tomó en cuenta\)/],
    ['signed with a foreign key', () => withdraw(['20240602_2040'], w.foreignKeyPath), /\(la firma de WITHDRAWN no es válida con .*allowed_signers y no se tomó en cuenta\)/],
    [
      'edited after signing',
      () => {
        withdraw(['20240602_2100'], w.keyPath);
        writeFileSync(path.join(w.dir, 'WITHDRAWN'), '20240602_2040\n');
      },
      /\(la firma de WITHDRAWN no es válida/,
    ],
    [
      'a link to a signed list elsewhere',
      () => {
        const elsewhere = path.join(w.root, 'WITHDRAWN');
        writeFileSync(elsewhere, '20240602_2040\n');
        signWithSshKeygen(w.keyPath, elsewhere);
        rmSync(path.join(w.dir, 'WITHDRAWN'), { force: true });
        symlinkSync(elsewhere, path.join(w.dir, 'WITHDRAWN'));
        copyFileSync(`${elsewhere}.sig`, path.join(w.dir, 'WITHDRAWN.sig'));
        giveToNobody(w.dir);
      },
      /\(WITHDRAWN no es un archivo regular de hasta 64 KiB y no se tomó en cuenta\)/,
    ],
  ])('a WITHDRAWN %s moves nothing back', async (_label, make, why) => {
    make();
    deliverCut(0);
    const run = await expectRefused(w, shell, /^prep-apply: se rechaza volver atrás: LATEST nombra el corte 20240602_2000, anterior al aplicado 20240602_2040 /);
    expect(run.stderr).toMatch(why);
    expect(readlinkSync(path.join(w.dir, 'current'))).toBe('releases/20240602_2040');
    rmSync(path.join(w.dir, 'WITHDRAWN'), { force: true });
    rmSync(path.join(w.dir, 'WITHDRAWN.sig'), { force: true });
  });

  it('goes back only as far as the newer cuts applied are all withdrawn', async () => {
    deliverCut(3);
    expect(await apply()).toMatchObject({ code: 0, stderr: '' });
    withdraw(['20240602_2020', '20240602_2100'], w.keyPath);
    // 20:40 was applied and is not withdrawn: 20:00 stays refused.
    deliverCut(0);
    await expectRefused(w, shell, /^prep-apply: se rechaza volver atrás: LATEST nombra el corte 20240602_2000, anterior al aplicado 20240602_2100\n$/);
    deliverCut(2);
    const run = await apply();
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/se volvió al corte 20240602_2040 \(.*\) en .* porque se retiraron los cortes posteriores \(20240602_2100\)/);
    expect(state(w)).toEqual({ current: 'releases/20240602_2040', applied: '20240602_2040\n' });
    expect(leftovers(w)).toEqual([]);
  });
});
