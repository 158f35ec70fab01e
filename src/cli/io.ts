// What the CLI's pieces share: the terminal (CliIO), and what main.ts hands each lazily loaded
// command action (ActionEnv). Types and tiny helpers only, so loading it costs nothing.
import type { Clock } from '../core/clock.js';
import type { CommandEnv, GlobalOptions } from '../commands/context.js';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stdout is a terminal (colour, symbols). */
  isTTY: boolean;
  /** The terminal's width when stdout is one (help is wrapped to it). */
  columns?: number;
  /** Whether stderr is a terminal; defaults to `isTTY`. */
  stderrIsTTY?: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
  clock: Clock;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

/** What a command's action gets from main.ts: the parsed global flags and where to write. */
export interface ActionEnv {
  io: CliIO;
  ctx: CommandEnv;
  globals: GlobalOptions;
  /** Colour on stdout (a TTY without NO_COLOR). */
  colour: boolean;
  out(lines: string[] | string): void;
  err(lines: string[] | string): void;
}

/** A command's positional arguments (in order) and its flags, as commander parsed them. */
export interface ActionInput {
  args: string[];
  opts: Record<string, unknown>;
}

/** One command's glue: calls the command, renders its result, returns the exit code. */
export type Action = (input: ActionInput, env: ActionEnv) => Promise<number>;

// Typographic characters cron mail shows as `M-bM-^@M-&`: plain ASCII when not on a terminal.
const ASCII_OF: Record<string, string> = {
  '\u2026': '...',
  '\u2192': '->',
  '\u2190': '<-',
  '\u2014': '-',
  '\u2013': '-',
  '\u2018': "'",
  '\u2019': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u00d7': 'x',
  '\u2265': '>=',
  '\u2264': '<=',
  '\u2500': '-',
};
const TYPOGRAPHIC = new RegExp(`[${Object.keys(ASCII_OF).join('')}]`, 'g');

/** The text with typographic punctuation spelled in ASCII (letters with accents are kept). */
export function asciiPunctuation(text: string): string {
  return text.replace(TYPOGRAPHIC, (c) => ASCII_OF[c]);
}

/** The width the build wraps the static help at: commander's own when the output is no terminal. */
export const STATIC_HELP_WIDTH = 80;

/**
 * Which help an invocation asks for and nothing else: '' for the program's (`--help`, `-h`, `help`), a
 * command's name (`help cut`, `cut --help`, `cut -h`); undefined for anything else (commander decides).
 */
export function helpKey(args: string[]): string | undefined {
  const isFlag = (a: string) => a === '--help' || a === '-h';
  if (args.length === 1 && (isFlag(args[0]) || args[0] === 'help')) return '';
  if (args.length !== 2) return undefined;
  const name = args[0] === 'help' ? args[1] : isFlag(args[1]) ? args[0] : undefined;
  return name !== undefined && /^[a-z][a-z-]*$/.test(name) ? name : undefined;
}

// Human output within 100 columns: a line longer than that is wrapped at spaces, its continuation
// indented under its text. Colour codes take no columns. The JSON documents never pass here.

export const HUMAN_WIDTH = 100;

const ANSI_CODE = /\x1b\[[0-9;]*m/g;
/** Columns a text takes on a terminal: colour codes take none. */
export const visibleLength = (text: string): number => text.replace(ANSI_CODE, '').length;

/** One line wrapped to `width`: words longer than the width (a path, a URL) stay whole on their own line. */
export function wrapLine(line: string, width = HUMAN_WIDTH, indent?: number): string[] {
  if (visibleLength(line) <= width) return [line];
  const lead = /^ */.exec(line)![0];
  const more = ' '.repeat(indent ?? Math.min(lead.length + 2, Math.floor(width / 2)));
  const words = line.slice(lead.length).split(/ +/);
  const out: string[] = [];
  let current = lead;
  let empty = true;
  for (const word of words) {
    const candidate = empty ? `${current}${word}` : `${current} ${word}`;
    if (!empty && visibleLength(candidate) > width) {
      out.push(current);
      current = `${more}${word}`;
    } else {
      current = candidate;
    }
    empty = false;
  }
  out.push(current);
  return out;
}

/** Every line within `width` (each may hold newlines). */
export function fitLines(lines: readonly string[], width = HUMAN_WIDTH): string[] {
  return lines.flatMap((text) => text.split('\n')).flatMap((line) => wrapLine(line, width));
}

/** `1 difusor`, `2 difusores`, `3 problems`. */
export function plural(n: number, word: string): string {
  if (n === 1) return `${n} ${word}`;
  return `${n} ${word === 'difusor' ? 'difusores' : `${word}s`}`;
}
