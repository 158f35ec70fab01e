// Reading difusores.yaml: the file's text, then a YAML document that remembers where every node
// sits, so validation (validate.ts) can point at FILE:LINE:COL. Nothing here judges the content.
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, type Document } from 'yaml';

/** The parsed file: the document tree (with source ranges) and the offset → line:col map. */
export interface RegistrySource {
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

/** A problem YAML itself found: where (byte offset) and what, before any validation. */
export interface YamlSyntaxError {
  offset: number;
  code: string;
  message: string;
}

export type RegistryText = { ok: true; text: string } | { ok: false; message: string };

/** Reads the registry file; a missing or unreadable file is a value, not an exception. */
export async function readRegistryText(filePath: string): Promise<RegistryText> {
  try {
    return { ok: true, text: await readFile(filePath, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = 'create it (see the example difusores.yaml in the README) or pass --config FILE';
    if (code === 'ENOENT') return { ok: false, message: `file not found; ${hint}` };
    if (code === 'EISDIR') return { ok: false, message: `is a folder, not a YAML file; ${hint}` };
    if (code === 'EACCES' || code === 'EPERM') {
      return { ok: false, message: 'cannot be read (permission denied); let the user running prep-push read it' };
    }
    return { ok: false, message: `cannot be read (${code ?? String(error)}); ${hint}` };
  }
}

/** Parses YAML text keeping source positions; syntax errors and duplicate keys come back as values. */
export function parseRegistryYaml(text: string): { source: RegistrySource; errors: YamlSyntaxError[] } {
  const lineCounter = new LineCounter();
  // uniqueKeys (the default) makes a repeated key an error instead of a silent overwrite.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const errors = doc.errors.map((e) => ({
    offset: e.pos[0],
    code: e.code,
    // yaml appends " at line L, column C:" and a code excerpt; our prefix already says where.
    message: e.message.replace(/ at line \d+, column \d+[\s\S]*$/, '').trim(),
  }));
  return { source: { doc, lineCounter }, errors };
}
