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

/** Where a YAML syntax error really is, and what it means, for a person who is not a YAML parser. */
export interface PlainSyntaxError {
  offset: number;
  message: string;
}

/**
 * The first syntax error of the file, in plain words and at the line to fix. Only the first: after
 * one, the parser's further complaints are mostly echoes of it. Duplicate keys are not syntax errors
 * here (validate.ts reports each of them).
 */
export function firstSyntaxError(text: string, errors: readonly YamlSyntaxError[]): PlainSyntaxError | null {
  const first = errors.filter((e) => e.code !== 'DUPLICATE_KEY').sort((a, b) => a.offset - b.offset)[0];
  if (first === undefined) return null;
  const at = (offset: number, message: string) => ({ offset, message });
  const flow = /^Flow (sequence|mapping)/.exec(first.message);
  if (flow) {
    const [open, close] = flow[1] === 'sequence' ? ['[', ']'] : ['{', '}'];
    const opened = text.lastIndexOf(open, first.offset);
    return at(opened < 0 ? first.offset : opened, `a ${flow[1] === 'sequence' ? 'list' : 'mapping'} opened with "${open}" is not closed with "${close}" (on the same line, or on indented lines after it)`);
  }
  switch (first.code) {
    case 'TAB_AS_INDENT':
      return at(first.offset, 'a tab is used to indent this line; YAML indents with spaces only');
    case 'BAD_INDENT':
      return at(firstNonSpace(text, first.offset), 'this line is indented differently from the fields above it; fields of one block start at the same column');
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY': {
      // A plain value holding ": " (`name: La Voz: Morelia`), or a line indented deeper than its
      // field's siblings, which YAML reads as that value's continuation. Point at the ": ".
      const colon = text.slice(first.offset).search(/:( |$)/m);
      const colonAt = colon < 0 ? first.offset : first.offset + colon;
      if (lineStart(text, colonAt) === lineStart(text, first.offset)) {
        return at(colonAt, 'this value contains ": " (a colon and a space); put the whole value in quotes, e.g. name: "La Voz: Morelia"');
      }
      return at(firstNonSpace(text, lineStart(text, colonAt)), 'this line is indented deeper than the field above it, so YAML reads it as part of that value; line it up with the other fields');
    }
    case 'MISSING_CHAR':
      if (/closing "?quote/i.test(first.message) || /Missing closing/.test(first.message)) {
        return at(first.offset, `a quote opened here is never closed (${first.message})`);
      }
      if (/without - indicator/.test(first.message)) {
        return at(firstNonSpace(text, first.offset), 'this line is indented differently from the list items above it; each item starts with "- " at the same column');
      }
      if (/followed by map values/.test(first.message)) {
        return at(first.offset, 'expected "field: value" here: the colon (with a space after it) is missing');
      }
      return at(first.offset, first.message);
    default:
      return at(first.offset, first.message);
  }
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', Math.max(0, offset - 1)) + 1;
}

/** The first character of the line holding `offset` that is not a space. */
function firstNonSpace(text: string, offset: number): number {
  const start = lineStart(text, offset);
  let i = start;
  while (text[i] === ' ') i += 1;
  return text[i] === '\n' || i >= text.length ? start : i;
}
