// A registry problem (FILE:LINE:COL: path: message) and the list that collects them: a value merged
// in from `defaults` is reported once, at the defaults' line, naming every difusor that uses it.

import { type RegistrySource } from './load.js';
import { formatFieldPath, locateField, type FieldPath, type Position } from './locate.js';


export interface RegistryProblem {
  /** The registry path as the user gave it. */
  file: string;
  line: number;
  col: number;
  /** `difusores[2].host_key`, or `defaults.private_key (used by difusores[2] "el-sol")`. */
  path: string;
  message: string;
}

export function formatProblem(p: RegistryProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path}: ${p.message}`;
}

/**
 * Collects problems. Those caused by a value merged in from `defaults` are reported once at the
 * defaults' line, naming every difusor that uses it, instead of once per difusor.
 */
export class ProblemList {
  private readonly own: { at: Position; path: string; message: string }[] = [];
  private readonly fromDefaults = new Map<string, { at: Position; path: string; message: string; users: string[] }>();

  constructor(
    private readonly file: string,
    private readonly source: RegistrySource,
  ) {}

  add(at: Position, path: FieldPath, message: string): void {
    this.own.push({ at, path: formatFieldPath(path), message });
  }

  /** A problem that belongs to no field (a YAML syntax error): `label` stands where the path would. */
  addLabelled(at: Position, label: string, message: string): void {
    this.own.push({ at, path: label, message });
  }

  addFromDefaults(field: string, user: string, message: string): void {
    const key = `${field}\u0000${message}`;
    const known = this.fromDefaults.get(key);
    if (known) {
      known.users.push(user);
      return;
    }
    const path = ['defaults', field];
    this.fromDefaults.set(key, { at: locateField(this.source, path), path: formatFieldPath(path), message, users: [user] });
  }

  sorted(): RegistryProblem[] {
    const merged = [...this.fromDefaults.values()].map(({ at, path, message, users }) => {
      const named = users.length <= 3 ? users.join(', ') : `${users.slice(0, 3).join(', ')} and ${users.length - 3} more`;
      return { at, path: `${path} (used by ${named})`, message };
    });
    return [...this.own, ...merged]
      .map(({ at, path, message }) => ({ file: this.file, line: at.line, col: at.col, path, message }))
      .sort((a, b) => a.line - b.line || a.col - b.col);
  }
}
