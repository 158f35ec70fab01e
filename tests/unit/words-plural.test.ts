// Spanish counts agree with their number ("1 bloqueo", never "1 bloqueos"), and large numbers group as the RAE writes them.
import { count, pluralOf, spanishNumber } from '../../src/words/plural.js';

describe('pluralOf', () => {
  test.each([
    ['corte', 'cortes'],
    ['bloqueo', 'bloqueos'],
    ['difusor', 'difusores'],
    ['revisión', 'revisiones'],
    ['notificación', 'notificaciones'],
    ['vez', 'veces'],
    ['francés', 'franceses'],
    ['papá', 'papás'],
    ['café', 'cafés'],
    ['red', 'redes'],
  ])('%s → %s', (singular, plural) => {
    expect(pluralOf(singular)).toBe(plural);
  });
});

describe('count', () => {
  test.each([
    [0, 'bloqueo', undefined, '0 bloqueos'],
    [1, 'bloqueo', undefined, '1 bloqueo'],
    [2, 'bloqueo', undefined, '2 bloqueos'],
    [1, 'revisión', undefined, '1 revisión'],
    [3, 'revisión', undefined, '3 revisiones'],
    [1, 'corte perdido', 'cortes perdidos', '1 corte perdido'],
    [4, 'corte perdido', 'cortes perdidos', '4 cortes perdidos'],
    [12345, 'revisión', undefined, '12\u00a0345 revisiones'],
  ] as Array<[number, string, string | undefined, string]>)('%d %s', (n, singular, plural, expected) => {
    expect(count(n, singular, plural)).toBe(expected);
  });

  test('numbers: no separator up to four digits, a space beyond, a decimal comma', () => {
    expect([spanishNumber(1234), spanishNumber(12345), spanishNumber(1234567), spanishNumber(-98765), spanishNumber(2.5)]).toEqual([
      '1234',
      '12\u00a0345',
      '1\u00a0234\u00a0567',
      '-98\u00a0765',
      '2,5',
    ]);
  });
});
