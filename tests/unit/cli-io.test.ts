import { asciiPunctuation } from '../../src/cli/io.js';
import { closestName } from '../../src/core/did-you-mean.js';

describe('plain output for cron mail', () => {
  test('typographic punctuation becomes ASCII; accented letters stay', () => {
    expect(asciiPunctuation('sha256 8b5f…  miss count 1 → 0 — valid ── cut’s “x” 3×')).toBe(`sha256 8b5f...  miss count 1 -> 0 - valid -- cut's "x" 3x`);
    expect(asciiPunctuation('La Voz de Michoacán, Quadratín')).toBe('La Voz de Michoacán, Quadratín');
  });
});

describe('did you mean', () => {
  test.each([
    ['conect_timeout', ['connect_timeout_s', 'connect_timeout', 'retries'], 'connect_timeout'],
    ['remote_directory', ['remote_dir', 'host'], 'remote_dir'],
    ['hostkey', ['host_key', 'host'], 'host_key'],
    ['--sourc', ['--source', '--cut'], '--source'],
    ['colour', ['institute', 'timezone'], undefined],
  ])('%s among %j: %s', (typed, known, expected) => {
    expect(closestName(typed, known)).toBe(expected);
  });
});
