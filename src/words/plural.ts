// Spanish counts that agree with their number: "1 bloqueo", "2 bloqueos", "1 revisión", "3 revisiones".

/**
 * The plural of one Spanish word by the usual rules: a vowel takes -s (corte → cortes), a consonant
 * -es (difusor → difusores), -z becomes -ces (vez → veces), and an accented last syllable in -n, -s
 * or -l loses its accent (revisión → revisiones, francés → franceses). Words outside these rules (one
 * already ending in an unstressed -s, such as "análisis") give their plural to `count` explicitly.
 */
export function pluralOf(word: string): string {
  if (word === '') return word;
  if (/[aeiouáéó]$/i.test(word)) return `${word}s`;
  if (/z$/i.test(word)) return `${word.slice(0, -1)}ces`;
  const unaccent: Record<string, string> = { á: 'a', é: 'e', í: 'i', ó: 'o', ú: 'u' };
  const accented = /([áéíóú])([nsl])$/i.exec(word);
  if (accented) return `${word.slice(0, -2)}${unaccent[accented[1].toLowerCase()]}${accented[2]}es`;
  return `${word}es`;
}

/**
 * `n` and the words that agree with it: `count(1, 'bloqueo')` → "1 bloqueo", `count(2, 'bloqueo')` →
 * "2 bloqueos". A phrase of several words gives its plural explicitly: `count(3, 'corte perdido',
 * 'cortes perdidos')`.
 */
export function count(n: number, singular: string, plural?: string): string {
  return `${spanishNumber(n)} ${n === 1 ? singular : (plural ?? pluralOf(singular))}`;
}

/**
 * A whole number as the RAE writes it: groups of three separated by a space only beyond four digits
 * ("1234", "12 345"), never a comma or a point, which read differently in Mexico and Spain.
 */
export function spanishNumber(n: number): string {
  const text = String(n);
  if (!/^-?\d+$/.test(text) || text.replace('-', '').length <= 4) return text.replace('.', ',');
  return text.replace(/\B(?=(\d{3})+$)/g, '\u00a0');
}
