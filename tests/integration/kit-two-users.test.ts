// The kit's two accounts, for real on this machine: the folder is set up by the kit's own instalar.sh
// (useradd of the SFTP upload account and the applying account, the root-owned sticky 1775 folder,
// releases/, current, APPLIED and .prep-apply/ owned by the applying account). Packages are delivered
// as the upload account (plain file writes), applied as the applying account under dash, bash and
// busybox sh, and everything the upload account tries against what is published or kept is refused.
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cutAt } from '../../src/core/cut.js';
import { buildPackage } from '../../src/package/build-package.js';
import { deltaFileName } from '../../src/package/delta.js';
import type { BuiltPackage } from '../../src/package/types.js';
import { signerFromKeyData } from '../../src/signing/load-signing-key.js';
import { makeKeyPair } from '../helpers/keys.js';
import { modeOf, openUpTo, runPrepApply, SHELLS, writeSite, writeTestKit } from '../helpers/prep-apply.js';

// Fixed names, created by instalar.sh itself the first time and reused after (it is idempotent).
const UPLOAD = 'prepkit-up';
const APPLY = 'prepkit-apply';
const TZ = 'America/Mexico_City';
const CUTS = ['2024-06-02T20:00:00-06:00', '2024-06-02T20:20:00-06:00', '2024-06-02T20:40:00-06:00'].map((t) => cutAt(Date.parse(t), TZ));

let root: string;
let kit: string;
let dir: string;
let installed: string;
let pkgs: BuiltPackage[];
let store: string;

/** Runs a command line as `user` (with its groups), as a plain unprivileged process. */
function as(user: string, script: string, ...args: string[]): { status: number | null; stderr: string } {
  const run = spawnSync('setpriv', ['--reuid', user, '--regid', user, '--init-groups', 'sh', '-c', script, 'sh', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  return { status: run.status, stderr: run.stderr };
}

function uidOf(user: string): number {
  return Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
}

/** What prep-push does over SFTP, as the upload account: the package, .sha256, .sig, then LATEST by a rename. */
function deliverAsUploader(file: string): string {
  const name = path.basename(file);
  for (const suffix of ['', '.sha256', '.sig']) {
    const put = as(UPLOAD, 'umask 022; cp -- "$1" "$2.part" && mv -f -- "$2.part" "$2"', file + suffix, path.join(dir, name + suffix));
    expect(put).toEqual({ status: 0, stderr: '' });
  }
  const latest = as(UPLOAD, 'umask 022; printf "%s\\n" "$1" > "$2/.LATEST.part" && mv -f -- "$2/.LATEST.part" "$2/LATEST"', name, dir);
  expect(latest).toEqual({ status: 0, stderr: '' });
  return name;
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'prep-kit-users-'));
  openUpTo(root);
  const keys = await makeKeyPair(root, 'firma');
  const login = await makeKeyPair(root, 'sftp');
  const signer = signerFromKeyData(readFileSync(keys.privateKeyPath), undefined, 'firma');
  store = path.join(root, 'store');
  pkgs = [];
  for (const [i, cut] of CUTS.entries()) {
    const site = path.join(root, `site-${i}`);
    writeSite(site, 3, 4, (n) => (n === -1 || n === i ? i : 0));
    pkgs.push(await buildPackage({ sourceDir: site, cut, institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'tar.gz', storeDir: store, signer, delta: true }));
  }
  spawnSync('chmod', ['-R', 'a+rX', store]);
  // The difusor's disk: the account sees /prep inside the jail root/jaula.
  dir = path.join(root, 'jaula', 'prep');
  kit = await writeTestKit(path.join(root, 'kit'), dir, signer, 'IEM', {
    difusor: { username: UPLOAD, remoteDir: '/prep' },
    applyUser: APPLY,
    loginKey: login.publicKey.split(' ').slice(0, 2).join(' '),
  });
  installed = path.join(root, 'opt');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('instalar.sh sets the folder up for two accounts, and can be run again', () => {
  const env = { PATH: process.env.PATH, DESTINO_KIT: installed, DESTINO_LLAVES: path.join(root, 'llaves'), BITACORA: path.join(root, 'bitacora') };
  for (let run = 0; run < 2; run += 1) {
    const setup = spawnSync('sh', [path.join(kit, 'instalar.sh')], { encoding: 'utf8', env });
    expect({ status: setup.status, stdout: setup.stdout }).toEqual({ status: 0, stdout: expect.stringContaining('== Listo.') });
    // The only complaint allowed: /tmp, above this test's jail, is world-writable (sshd would say so too).
    expect(setup.stderr.split('\n').filter((l) => l !== '' && !l.includes('/tmp no es de root o la pueden escribir otros'))).toEqual([]);
  }
  const group = spawnSync('id', ['-gn', UPLOAD], { encoding: 'utf8' }).stdout.trim();
  expect(spawnSync('id', ['-Gn', APPLY], { encoding: 'utf8' }).stdout.split(/\s+/)).toContain(group);
  expect(uidOf(UPLOAD)).not.toBe(uidOf(APPLY));
  const owner = (p: string) => ({ uid: lstatSync(p).uid, mode: lstatSync(p).mode & 0o7777 });
  expect(owner(path.join(root, 'jaula'))).toEqual({ uid: 0, mode: 0o755 });
  expect(owner(dir)).toEqual({ uid: 0, mode: 0o1775 });
  expect(statSync(dir).gid).toBe(Number(spawnSync('id', ['-g', UPLOAD], { encoding: 'utf8' }).stdout.trim()));
  expect(owner(path.join(dir, 'releases'))).toEqual({ uid: uidOf(APPLY), mode: 0o755 });
  expect(owner(path.join(dir, '.prep-apply'))).toEqual({ uid: uidOf(APPLY), mode: 0o700 });
  expect(owner(path.join(dir, 'APPLIED'))).toEqual({ uid: uidOf(APPLY), mode: 0o644 });
  expect(lstatSync(path.join(dir, 'current')).isSymbolicLink() && lstatSync(path.join(dir, 'current')).uid).toBe(uidOf(APPLY));
  expect(owner(path.join(installed, 'prep-apply'))).toEqual({ uid: 0, mode: 0o755 });
  expect(owner(path.join(installed, 'allowed_signers'))).toEqual({ uid: 0, mode: 0o644 });
  expect(readFileSync(path.join(root, 'llaves', UPLOAD), 'utf8')).toMatch(/^restrict ssh-ed25519 \S+ IEM-prep-push\n$/);
});

test('delivered as the upload account, applied as the applying account under dash, bash and busybox sh', async () => {
  const names = [pkgs[0].file, pkgs[1].file, path.join(store, deltaFileName(pkgs[2].fileName, '20240602_2020'))];
  for (const [i, shell] of SHELLS.entries()) {
    deliverAsUploader(names[i]);
    const run = await runPrepApply(shell, installed, ['--dir', dir], { user: APPLY });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(new RegExp(`se aplicó el corte ${CUTS[i].id}`));
    expect(readlinkSync(path.join(dir, 'current'))).toBe(`releases/${CUTS[i].id}`);
  }
  expect(readFileSync(path.join(dir, 'APPLIED'), 'utf8')).toBe('20240602_2040\n');
  const release = path.join(dir, 'releases', '20240602_2040');
  expect(statSync(path.join(release, 'index.html')).uid).toBe(uidOf(APPLY));
  expect(modeOf(path.join(release, 'json', 'main.json'))).toBe(0o644);
  // What the upload account left is its own: it can still replace LATEST and remove its packages.
  expect(statSync(path.join(dir, 'LATEST')).uid).toBe(uidOf(UPLOAD));
});

test('the upload account can neither write nor replace releases/, current, APPLIED or prep-apply state', () => {
  const release = path.join(dir, 'releases', '20240602_2040');
  const before = {
    index: readFileSync(path.join(release, 'index.html'), 'utf8'),
    current: readlinkSync(path.join(dir, 'current')),
    applied: readFileSync(path.join(dir, 'APPLIED'), 'utf8'),
    mark: readFileSync(path.join(dir, '.prep-apply', 'mark'), 'utf8'),
  };
  const attacks: Array<[string, string]> = [
    ['write into a published file', `printf 'defaced' > '${release}/index.html'`],
    ['add a file to a release', `printf 'x' > '${release}/extra.html'`],
    ['add a release', `mkdir '${dir}/releases/20990101_0000'`],
    ['add a staging folder', `mkdir '${dir}/releases/.staging-20990101_0000.1'`],
    ['remove releases/', `rm -rf '${dir}/releases'`],
    ['rename releases/', `mv '${dir}/releases' '${dir}/viejas'`],
    ['rename current', `mv '${dir}/current' '${dir}/antes'`],
    ['point current elsewhere', `ln -sfn /etc '${dir}/current'`],
    ['replace current by a rename', `ln -s /etc '${dir}/.otro' && mv -fT '${dir}/.otro' '${dir}/current'`],
    ['edit APPLIED', `printf '99999999_9999\\n' > '${dir}/APPLIED'`],
    ['replace APPLIED by a rename', `printf '99999999_9999\\n' > '${dir}/.a' && mv -f '${dir}/.a' '${dir}/APPLIED'`],
    ['remove APPLIED', `rm -f '${dir}/APPLIED' && test ! -e '${dir}/APPLIED'`],
    ['read the state', `ls '${dir}/.prep-apply'`],
    ['write the mark', `printf '20240602_2000\\n' > '${dir}/.prep-apply/mark'`],
    ['remove the state', `rm -rf '${dir}/.prep-apply'`],
    ['replace the state by a rename', `mkdir '${dir}/.estado' && mv -fT '${dir}/.estado' '${dir}/.prep-apply'`],
    ['take over the folder', `chmod 0777 '${dir}'`],
  ];
  const succeeded = attacks.filter(([, script]) => as(UPLOAD, script).status === 0).map(([what]) => what);
  expect(succeeded).toEqual([]);
  as(UPLOAD, `rm -rf '${dir}/.otro' '${dir}/.a' '${dir}/.estado'`);
  expect({
    index: readFileSync(path.join(release, 'index.html'), 'utf8'),
    current: readlinkSync(path.join(dir, 'current')),
    applied: readFileSync(path.join(dir, 'APPLIED'), 'utf8'),
    mark: readFileSync(path.join(dir, '.prep-apply', 'mark'), 'utf8'),
  }).toEqual(before);
  // Its own files it still manages: LATEST is replaced, an old package removed.
  expect(as(UPLOAD, `printf '%s\\n' PREP_20240602_2040.from-20240602_2020.tar.gz > '${dir}/.L' && mv -f '${dir}/.L' '${dir}/LATEST' && rm -f '${dir}/PREP_20240602_2000.tar.gz'`).status).toBe(0);
});
