// Typed errors: every failure prep-push reports is a value with a stable code, a message a person
// can act on, and an exit code the CLI turns into the process status.

/** What kind of failure this is, which decides the exit code (see the contract's table). */
export type ErrorKind =
  | 'usage' // bad flags, bad --cut, unknown id: exit 2
  | 'registry' // difusores.yaml is wrong: exit 2
  | 'source' // the publication folder is wrong (missing, empty, symlink...): exit 2
  | 'lock' // another run holds the state dir: exit 3
  | 'io' // the package could not be built or stored, the state dir is unwritable: exit 4
  | 'ledger'; // the journal is unreadable in a way we refuse to guess about: exit 4

export const EXIT_CODE_OF_KIND: Record<ErrorKind, number> = {
  usage: 2,
  registry: 2,
  source: 2,
  lock: 3,
  io: 4,
  ledger: 4,
};

export interface PrepPushErrorOptions {
  /** What the operator should do about it, one sentence. */
  hint?: string;
  cause?: unknown;
  /** Several located problems reported at once (e.g. every registry error of a file). */
  details?: string[];
}

export class PrepPushError extends Error {
  readonly kind: ErrorKind;
  readonly hint?: string;
  readonly details: string[];

  constructor(kind: ErrorKind, message: string, options: PrepPushErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PrepPushError';
    this.kind = kind;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }

  get exitCode(): number {
    return EXIT_CODE_OF_KIND[this.kind];
  }
}

export function isPrepPushError(value: unknown): value is PrepPushError {
  return value instanceof PrepPushError;
}
