// Shared reads of a release's local files: one read per file and run, whatever the number of
// difusores; files above the limit and failed reads are not kept.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { manifestFilesOf, manifestSha256Of, readReleaseFile, remoteManifestFilesOf, sha256Of, sharedPlanOf } from '../../src/publish/local-reads.js';
import { planRelease, type PlanFile } from '../../src/publish/plan.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'prep-push-local-reads-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a small file is read once per release; a new release (another manifest) reads it again', async () => {
  const file = path.join(dir, 'a.json');
  await writeFile(file, 'one');
  const manifest = Buffer.from('{"files":[]}');
  expect((await readReleaseFile(manifest, file, 100)).toString()).toBe('one');
  await writeFile(file, 'two');
  // The same release: the bytes already read (a release's files do not change during a run).
  expect((await readReleaseFile(manifest, file, 100)).toString()).toBe('one');
  expect((await readReleaseFile(Buffer.from('{"files":[]}'), file, 100)).toString()).toBe('two');
});

test('a file above the limit and a failed read are read again next time', async () => {
  const manifest = Buffer.from('{"files":[]}');
  const big = path.join(dir, 'big.bin');
  await writeFile(big, 'x'.repeat(10));
  await readReleaseFile(manifest, big, 5);
  await writeFile(big, 'y'.repeat(10));
  expect((await readReleaseFile(manifest, big, 5)).toString()).toBe('y'.repeat(10));
  const missing = path.join(dir, 'later.json');
  await expect(readReleaseFile(manifest, missing, 100)).rejects.toThrow(/ENOENT/);
  await writeFile(missing, 'now');
  expect((await readReleaseFile(manifest, missing, 100)).toString()).toBe('now');
});

test('a manifest is parsed once and a damaged one is null', () => {
  const manifest = Buffer.from(JSON.stringify({ files: [{ path: 'a.json', size: 3, sha256: 'ab' }] }));
  const first = manifestFilesOf(manifest);
  expect(first).toEqual([{ path: 'a.json', size: 3, sha256: 'ab' }]);
  expect(manifestFilesOf(manifest)).toBe(first);
  expect(manifestFilesOf(Buffer.from('{'))).toBeNull();
});

test('a manifest read from a difusor is parsed once per SHA-256; other bytes are parsed on their own', () => {
  const text = JSON.stringify({ files: [{ path: 'b.json', size: 1, sha256: 'cd' }] });
  const sha = sha256Of(Buffer.from(text));
  const first = remoteManifestFilesOf(text, sha);
  expect(first).toEqual([{ path: 'b.json', size: 1, sha256: 'cd' }]);
  expect(remoteManifestFilesOf(text, sha)).toBe(first);
  const other = JSON.stringify({ files: [{ path: 'c.json', size: 2, sha256: 'ef' }] });
  expect(remoteManifestFilesOf(other, sha256Of(Buffer.from(other)))).toEqual([{ path: 'c.json', size: 2, sha256: 'ef' }]);
  const manifest = Buffer.from(text);
  expect(manifestSha256Of(manifest)).toBe(sha);
});

test('a plan is shared by difusores holding the same releases, and made anew when what they hold differs', () => {
  const file = (p: string, sha256: string): PlanFile => ({ path: p, size: 3, sha256 });
  const files = [file('a.json', 'aa'), file('d/b.json', 'bb')];
  const current = [file('a.json', 'aa'), file('d/b.json', 'old')];
  const first = sharedPlanOf(files, [{ release: 'r1', files: current }], true);
  expect(first).toEqual(planRelease(files, [{ release: 'r1', files: current }], true));
  expect(first.link.map((f) => f.path)).toEqual(['a.json']);
  // Another difusor, the same parsed manifest (new LinkBase objects, as each difusor builds its own).
  expect(sharedPlanOf(files, [{ release: 'r1', files: current }], true)).toBe(first);
  // A difusor whose current release holds other files, another name, or no hard links.
  const other = sharedPlanOf(files, [{ release: 'r1', files: [file('d/b.json', 'bb')] }], true);
  expect(other.link.map((f) => f.path)).toEqual(['d/b.json']);
  expect(sharedPlanOf(files, [{ release: 'r0', files: current }], true).link).toEqual([{ path: 'a.json', from: 'r0/a.json', size: 3 }]);
  expect(sharedPlanOf(files, [{ release: 'r1', files: current }], false).link).toEqual([]);
  expect(sharedPlanOf(files, [], true).link).toEqual([]);
});
