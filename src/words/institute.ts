// The institute as a sentence names it, with its article: "el IEM", "del IEM", "al IEM". Its short
// name comes from the registry (`institute`); without one, "el Instituto".

export interface InstituteWords {
  /** "el IEM" */
  el: string;
  /** "del IEM" */
  del: string;
  /** "al IEM" */
  al: string;
}

export function instituteWords(short?: string): InstituteWords {
  const name = short?.trim() || 'Instituto';
  return { el: `el ${name}`, del: `del ${name}`, al: `al ${name}` };
}

/** "Instituto Electoral de Michoacán (IEM)", or "IEM" when the registry has no full name. */
export function instituteTitle(registry: { institute: string; instituteName?: string }): string {
  const full = registry.instituteName?.trim();
  return !full || full === registry.institute ? registry.institute : `${full} (${registry.institute})`;
}

/** "el Instituto Electoral de Michoacán (IEM)", or "el IEM": as a sentence names it the first time. */
export function instituteInFull(registry: { institute: string; instituteName?: string }): string {
  return `el ${instituteTitle(registry)}`;
}

/** The first letter in capitals: "el IEM revisará…" → "El IEM revisará…". */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
