// The recycle planner: which names of an old release are removed, which folders dropped or made,
// which files kept in place and which placed, from the two manifests alone.
import { describe, expect, test } from '@jest/globals';
import type { PlanFile } from '../../src/publish/plan.js';
import { planRecycle } from '../../src/publish/recycle.js';

const f = (path: string, sha256: string, size = 10): PlanFile => ({ path, size, sha256 });

describe('planRecycle', () => {
  const old = [f('index.html', 'a'), f('json/main.json', 'b'), f('json/d01/1.json', 'c'), f('json/d02/2.json', 'd'), f('css/x.css', 'e')];

  test.each([
    {
      name: 'the same release: everything kept, nothing touched',
      next: old,
      remove: [],
      removeDirs: [],
      clear: [],
      makeDirs: [],
      kept: 5,
      place: [],
    },
    {
      name: 'a changed file is removed before it is placed again (never written through: it is a shared inode)',
      next: [f('index.html', 'a'), f('json/main.json', 'B'), f('json/d01/1.json', 'c'), f('json/d02/2.json', 'd'), f('css/x.css', 'e')],
      remove: ['json/main.json'],
      removeDirs: [],
      clear: [],
      makeDirs: [],
      kept: 4,
      place: ['json/main.json'],
    },
    {
      name: 'same sha256 but another size is a change',
      next: [f('index.html', 'a', 11)],
      remove: ['index.html', 'json/main.json', 'json/d01/1.json', 'json/d02/2.json', 'css/x.css'],
      removeDirs: ['css', 'json'],
      clear: [],
      makeDirs: [],
      kept: 0,
      place: ['index.html'],
    },
    {
      name: 'deleted files removed; a folder left empty removed; a new file in a new folder placed after its folder is made',
      next: [f('index.html', 'a'), f('json/main.json', 'b'), f('json/d01/1.json', 'c'), f('json/d03/deep/3.json', 'z')],
      remove: ['json/d02/2.json', 'css/x.css'],
      removeDirs: ['css', 'json/d02'],
      clear: ['json/d03/deep/3.json'],
      makeDirs: ['json/d03', 'json/d03/deep'],
      kept: 3,
      place: ['json/d03/deep/3.json'],
    },
    {
      name: 'a file becomes a folder: the file is removed, then the folder made',
      next: [f('index.html/inner.html', 'a')],
      remove: ['index.html', 'json/main.json', 'json/d01/1.json', 'json/d02/2.json', 'css/x.css'],
      removeDirs: ['css', 'json'],
      clear: ['index.html/inner.html'],
      makeDirs: ['index.html'],
      kept: 0,
      place: ['index.html/inner.html'],
    },
    {
      name: 'a folder becomes a file: the folder is removed, then the file placed',
      next: [f('index.html', 'a'), f('css', 'e')],
      remove: ['json/main.json', 'json/d01/1.json', 'json/d02/2.json', 'css/x.css'],
      removeDirs: ['css', 'json'],
      clear: ['css'],
      makeDirs: [],
      kept: 1,
      place: ['css'],
    },
    {
      name: 'a new file under an existing folder: its name is unlinked first anyway (a file put there by hand is never written through)',
      next: [...old, f('json/d01/new.json', 'n')],
      remove: [],
      removeDirs: [],
      clear: ['json/d01/new.json'],
      makeDirs: [],
      kept: 5,
      place: ['json/d01/new.json'],
    },
  ])('$name', ({ next, remove, removeDirs, clear, makeDirs, kept, place }) => {
    const plan = planRecycle(old, next);
    expect(plan.remove).toEqual(remove);
    expect(plan.removeDirs).toEqual(removeDirs);
    expect(plan.clear).toEqual(clear);
    expect(plan.makeDirs).toEqual(makeDirs);
    expect(plan.kept).toBe(kept);
    expect(plan.place.map((p) => p.path)).toEqual(place);
  });

  test('every placed name is removed or cleared first, and kept + placed is the new release', () => {
    const next = [f('index.html', 'A'), f('json/main.json', 'b'), f('new/1.json', 'q'), f('json/d02/2.json', 'd')];
    const plan = planRecycle(old, next);
    const removed = new Set([...plan.remove, ...plan.clear]);
    for (const p of plan.place) expect(removed.has(p.path)).toBe(true);
    expect(plan.kept + plan.place.length).toBe(next.length);
  });
});
