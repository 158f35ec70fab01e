import { describe, expect, test } from '@jest/globals';
import { dirsByDepth, isSafeRelativePath, parseManifestFiles, planRelease, type PlanFile } from '../../src/publish/plan.js';
import { currentMoveFor, isRollback, type CurrentMove, releaseOfLinkTarget, releasesToPrune } from '../../src/publish/layout.js';
import { publishModeOf, switchMethodOf } from '../../src/publish/capabilities.js';

const f = (path: string, sha256: string, size = 10): PlanFile => ({ path, size, sha256 });

describe('planRelease', () => {
  const previous = [f('index.html', 'a'), f('json/main.json', 'b'), f('json/d/01.json', 'c'), f('old.txt', 'd')];

  test.each([
    {
      name: 'first publish: everything uploaded',
      files: [f('index.html', 'a'), f('json/main.json', 'b')],
      bases: [],
      canLink: true,
      link: [],
      upload: ['index.html', 'json/main.json'],
    },
    {
      name: 'unchanged files linked from the same path, changed ones uploaded, deleted ones absent',
      files: [f('index.html', 'a'), f('json/main.json', 'B'), f('json/d/01.json', 'c')],
      bases: [{ release: '20240602_2020', files: previous }],
      canLink: true,
      link: [['index.html', '20240602_2020/index.html'], ['json/d/01.json', '20240602_2020/json/d/01.json']],
      upload: ['json/main.json'],
    },
    {
      name: 'same content under another path is linked too',
      files: [f('moved/old.txt', 'd')],
      bases: [{ release: 'r1', files: previous }],
      canLink: true,
      link: [['moved/old.txt', 'r1/old.txt']],
      upload: [],
    },
    {
      name: 'same sha256 but another size is not the same file',
      files: [f('index.html', 'a', 11)],
      bases: [{ release: 'r1', files: previous }],
      canLink: true,
      link: [],
      upload: ['index.html'],
    },
    {
      name: 'no hard links on the server: everything uploaded',
      files: [f('index.html', 'a')],
      bases: [{ release: 'r1', files: previous }],
      canLink: false,
      link: [],
      upload: ['index.html'],
    },
    {
      name: 'the first base wins; a later base fills the gaps (after a rollback)',
      files: [f('index.html', 'a'), f('new.json', 'z')],
      bases: [
        { release: 'r1', files: [f('index.html', 'a')] },
        { release: 'r2', files: [f('index.html', 'a'), f('other/new.json', 'z')] },
      ],
      canLink: true,
      link: [['index.html', 'r1/index.html'], ['new.json', 'r2/other/new.json']],
      upload: [],
    },
  ])('$name', ({ files, bases, canLink, link, upload }) => {
    const plan = planRelease(files, bases, canLink);
    expect(plan.link.map((l) => [l.path, l.from])).toEqual(link);
    expect(plan.upload.map((u) => u.path)).toEqual(upload);
  });

  test('folders come parents first, each once, grouped by depth', () => {
    const plan = planRelease([f('a/b/c/x', '1'), f('a/y', '2'), f('z/w', '3'), f('top', '4')], [], true);
    expect(plan.dirs).toEqual(['a', 'z', 'a/b', 'a/b/c']);
    expect(dirsByDepth(plan.dirs)).toEqual([['a', 'z'], ['a/b'], ['a/b/c']]);
  });
});

describe('manifests from a difusor', () => {
  test('a valid one gives its files', () => {
    const text = JSON.stringify({ cut: { id: 'x' }, files: [{ path: 'a/b.json', size: 3, sha256: 'ff' }] });
    expect(parseManifestFiles(text)).toEqual([{ path: 'a/b.json', size: 3, sha256: 'ff' }]);
  });
  test.each(['not json', '{}', '{"files":[{"path":"../etc/passwd","size":1,"sha256":"a"}]}', '{"files":[{"path":"a","size":"1","sha256":"a"}]}'])(
    'a damaged or hostile one is no base: %s',
    (text) => expect(parseManifestFiles(text)).toBeNull(),
  );
  test.each([
    ['a/b', true],
    ['/a', false],
    ['a/../b', false],
    ['a//b', false],
    ['./a', false],
    ['', false],
  ])('isSafeRelativePath(%j) is %s', (path, ok) => expect(isSafeRelativePath(path)).toBe(ok));
});

describe('layout decisions', () => {
  test.each([
    ['releases/20240602_2020', '20240602_2020'],
    ['/prep/releases/20240602_2020', '20240602_2020'],
    ['releases/20240602_2020/', '20240602_2020'],
    ['releases/.staging-x', null],
    ['elsewhere/20240602_2020', null],
    ['20240602_2020', null],
  ])('readlink %j names release %j', (target, release) => expect(releaseOfLinkTarget(target)).toBe(release));

  test.each([
    [null, '20240602_2020', false],
    ['20240602_2020', '20240602_2030', false],
    ['20240602_2020', '20240602_2020', false],
    ['20240602_2030', '20240602_2020', true],
    ['20240602_2030-aviso', '20240602_2020', true],
    ['20240602_2030', '20240602_2030-aviso', false],
    ['hand-made', '20240602_2020', false],
  ])('current %j, publishing %j: rollback %s', (current, next, rollback) => expect(isRollback(current, next)).toBe(rollback));

  test.each([
    // Forward (or first) publishes switch whatever the flags.
    [null, '20240602_2000', false, false, 'switch'],
    ['20240602_2000', '20240602_2020', false, false, 'switch'],
    ['20240602_2000', '20240602_2020', false, true, 'switch'],
    // An older cut: refused, published beside current (cut --allow-older), or switched back (--allow-rollback).
    ['20240602_2020', '20240602_2000', false, false, 'refuse'],
    ['20240602_2020', '20240602_2000', false, true, 'keep'],
    ['20240602_2020', '20240602_2000', true, false, 'switch'],
    ['20240602_2020', '20240602_2000', true, true, 'switch'],
  ] as Array<[string | null, string, boolean, boolean, CurrentMove]>)('current %j, publishing %j, rollback %s, older %s: %s', (current, next, rollback, older, move) =>
    expect(currentMoveFor(current, next, { rollback, older })).toBe(move),
  );

  test.each([
    { releases: ['r1', 'r2', 'r3', 'r4'], keep: 0, protect: ['r1'], pruned: [] },
    { releases: ['r1', 'r2', 'r3', 'r4'], keep: 2, protect: ['r4'], pruned: ['r1', 'r2'] },
    { releases: ['r3', 'r1', 'r4', 'r2'], keep: 2, protect: ['r1'], pruned: ['r2'] },
    { releases: ['r1', '.staging-r2', 'r3'], keep: 1, protect: ['r3'], pruned: ['r1'] },
  ])('keep $keep of $releases (current $protect) prunes $pruned', ({ releases, keep, protect, pruned }) =>
    expect(releasesToPrune(releases, keep, protect)).toEqual(pruned),
  );

  test.each([
    [{ hardlink: true, posixRename: true, symlink: true, renameReplacesSymlink: true }, 'link+rename'],
    [{ hardlink: false, posixRename: true, symlink: true, renameReplacesSymlink: true }, 'upload+rename'],
    [{ hardlink: true, posixRename: false, symlink: true, renameReplacesSymlink: true }, 'link+unlink-rename'],
    [{ hardlink: true, posixRename: true, symlink: true, renameReplacesSymlink: false }, 'link+relink'],
  ])('capabilities %j give publish.mode %s', (caps, mode) => {
    const method = switchMethodOf(caps);
    expect(method).not.toBeNull();
    expect(publishModeOf(caps, method!)).toBe(mode);
  });

  test('no symlinks: no switch method (site mode refused)', () => {
    expect(switchMethodOf({ hardlink: true, posixRename: true, symlink: false, renameReplacesSymlink: false })).toBeNull();
  });
});
