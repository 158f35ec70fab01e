// Punctuation of text typed by people (a reason at `block`) when it is pasted into a sentence.

/** The text without its final full stop(s) and spaces: "Servidor caído." → "Servidor caído". */
export function withoutFinalStop(text: string): string {
  return text.trim().replace(/[\s.]+$/u, '');
}

/** The text ending with exactly one full stop, unless it ends with ? ! or …: never "..". */
export function withFinalStop(text: string): string {
  const bare = withoutFinalStop(text);
  return /[?!…]$/u.test(bare) ? bare : `${bare}.`;
}
