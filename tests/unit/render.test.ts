import { makeStyle, table } from '../../src/cli/render.js';

describe('table', () => {
  test('columns line up whether or not cells are coloured', () => {
    const colour = makeStyle(true);
    const rows = [
      ['el-sol', colour.bad('blocked'), '3'],
      ['la-voz', 'active', '0'],
    ];
    const plain = table(['difusor', 'state', 'misses'], rows).map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''));
    expect(plain).toEqual([
      'difusor  state    misses',
      '-------  -------  ------',
      'el-sol   blocked  3',
      'la-voz   active   0',
    ]);
  });

  test('without colour no escape code is written', () => {
    expect(makeStyle(false).bad('FAILED')).toBe('FAILED');
  });
});
