// A difusor's logo (registry `logo`): what the public list accepts, by content rather than by name —
// a PNG or JPEG by its magic bytes, an SVG by its root element, at most 256 KB, no script in an SVG.
// Checked at `validate` and again when the list copies it (the file may change in between).
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export const LOGO_MAX_BYTES = 256 * 1024;

export type LogoType = 'png' | 'jpeg' | 'svg';

/** The file extension the public list gives each type (`logos/<id>.<ext>`). */
export const LOGO_EXTENSION: Record<LogoType, string> = { png: 'png', jpeg: 'jpg', svg: 'svg' };

export type LogoVerdict = { ok: true; type: LogoType; bytes: Buffer } | { ok: false; problem: string };

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);

/**
 * What an SVG must not hold to be published: it is only ever shown through <img> (where scripts do
 * not run), but a visitor who opens the file itself would run them, so they are refused outright.
 */
const SVG_REFUSED: Array<[RegExp, string]> = [
  [/<script[\s>/]/i, 'a <script> element'],
  [/<[^>]*\son[a-z]+\s*=/i, 'an event attribute (onload=, onclick=, ...)'],
  [/(?:href|src)\s*=\s*["']?\s*(?:javascript|data|vbscript):/i, 'a javascript:, data: or vbscript: link'],
  [/<foreignObject[\s>/]/i, 'a <foreignObject> element (embedded HTML)'],
  [/<!ENTITY/i, 'an entity declaration'],
  [/<(?:iframe|embed|object)[\s>/]/i, 'an embedded document'],
];

/** The root element of an SVG document: after an optional BOM, XML declaration, comments and DOCTYPE. */
function rootElementOf(text: string): string | null {
  let rest = text.replace(/^\uFEFF/, '');
  for (;;) {
    rest = rest.trimStart();
    const skip = /^(<\?xml[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>[]*(\[[\s\S]*?\])?\s*>)/i.exec(rest);
    if (!skip) break;
    rest = rest.slice(skip[0].length);
  }
  return /^<([A-Za-z][\w:.-]*)/.exec(rest)?.[1] ?? null;
}

function tooBig(size: number): string {
  return `is ${Math.ceil(size / 1024)} KB; a logo may be at most 256 KB (make it smaller, e.g. 400 px wide)`;
}

/** What the bytes are, or why they are not a logo the list can publish. */
export function judgeLogo(bytes: Buffer): LogoVerdict {
  if (bytes.length > LOGO_MAX_BYTES) return { ok: false, problem: tooBig(bytes.length) };
  if (bytes.length >= PNG_MAGIC.length && bytes.subarray(0, PNG_MAGIC.length).equals(PNG_MAGIC)) return { ok: true, type: 'png', bytes };
  if (bytes.subarray(0, JPEG_MAGIC.length).equals(JPEG_MAGIC)) return { ok: true, type: 'jpeg', bytes };
  const text = bytes.toString('utf8');
  const root = rootElementOf(text);
  if (root === 'svg' || root?.endsWith(':svg')) {
    const found = SVG_REFUSED.find(([pattern]) => pattern.test(text));
    if (found) return { ok: false, problem: `is an SVG holding ${found[1]}; the public list publishes only plain drawings (remove it, or send a PNG)` };
    return { ok: true, type: 'svg', bytes };
  }
  return { ok: false, problem: 'is not a PNG, JPEG or SVG file (judged by its content, not its name)' };
}

/**
 * Reads and judges a logo file: a regular file (a symlink is refused, never followed), read at most
 * one byte past the limit, so a huge or endless file costs nothing.
 */
export async function readLogo(file: string): Promise<LogoVerdict> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, problem: `${file} does not exist (relative paths start at the registry file's folder)` };
    if (code === 'ELOOP') return { ok: false, problem: `${file} is a symbolic link; point logo at the file itself` };
    return { ok: false, problem: `${file} cannot be read (${code ?? String(error)})` };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { ok: false, problem: `${file} is not a regular file` };
    if (stat.size > LOGO_MAX_BYTES) return { ok: false, problem: `${file} ${tooBig(stat.size)}` };
    const buffer = Buffer.alloc(Math.min(stat.size, LOGO_MAX_BYTES) + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    const verdict = judgeLogo(buffer.subarray(0, length));
    return verdict.ok ? verdict : { ok: false, problem: `${file} ${verdict.problem}` };
  } catch (error) {
    return { ok: false, problem: `${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
  } finally {
    await handle.close();
  }
}
