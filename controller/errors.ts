// Errors with a stable `code` (house rule 4) and the one-line formats the CLI prints. The CLI
// turns any thrown error into one line on stderr and an exit code; never a stack trace.

/** A problem at a place in a file: a manifest, an xl config. */
export interface Diagnostic {
  file: string;
  /** 1-based; 0 when the problem is the whole file */
  line: number;
  /** 1-based; 0 when unknown */
  col: number;
  /** field path such as `spec.disks[0].target`; '' when none */
  path: string;
  message: string;
  /** stable, PascalCase: YAMLSyntax, UnknownField, DuplicateName, PathOutsideRoots, … */
  code: string;
  severity: 'error' | 'warning';
  /** the object the problem belongs to, when known (so a controller keeps its last valid spec) */
  kind?: string;
  name?: string;
}

/** `file:line:col: path: message` (line/col/path left out when unknown), warnings marked. */
export function formatDiagnostic(d: Diagnostic): string {
  let place = d.file;
  if (d.line > 0) place += `:${d.line}`;
  if (d.line > 0 && d.col > 0) place += `:${d.col}`;
  const sev = d.severity === 'warning' ? 'warning: ' : '';
  return `${place}: ${sev}${d.path ? `${d.path}: ` : ''}${d.message}`;
}

export abstract class XenoformError extends Error {
  abstract readonly code: string;
  /** process exit code when this error ends a CLI command */
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command-line usage: exit 2. */
export class UsageError extends XenoformError {
  readonly code = 'Usage';
  override readonly exitCode = 2;
}

/** A file that cannot be read (missing, a directory, permissions). */
export class FileError extends XenoformError {
  readonly code = 'FileUnreadable';
  constructor(readonly file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
  }
}

/** Input refused with diagnostics (manifests, xl configs); the message is the first one. */
export class InvalidInputError extends XenoformError {
  readonly code: string;
  constructor(readonly diagnostics: Diagnostic[], code = 'InvalidInput') {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0] ?? diagnostics[0];
    super(first ? formatDiagnostic(first) + (errors.length > 1 ? ` (and ${errors.length - 1} more)` : '') : 'invalid input');
    this.code = code;
  }
}

/** An xl/xm config file that Xen's parser (or the mapping to a Domain) refuses. */
export class XlConfigError extends InvalidInputError {
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics, 'InvalidXlConfig');
  }
}

export class NotFoundError extends XenoformError {
  readonly code = 'NotFound';
}

/** A managing verb found no controller listening on the state dir's socket. */
export class NoControllerError extends XenoformError {
  readonly code = 'NoController';
  constructor(stateDir: string) {
    super(`no controller is running for state dir ${stateDir}; start one with: xenoform up [DIR]`);
  }
}

/** One line for any error: known ones as they are, others as "internal error: …". */
export function formatError(err: unknown): string {
  if (err instanceof XenoformError) return err.message;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return err.message; // fs errors name the file
    return `internal error: ${err.message}`;
  }
  return `internal error: ${String(err)}`;
}

export function exitCodeFor(err: unknown): number {
  return err instanceof XenoformError ? err.exitCode : 1;
}

/** Ends a command with `exitCode` after it has already reported why (validate, diff). */
export class SilentExit extends XenoformError {
  readonly code = 'Exit';
  override readonly exitCode: number;
  constructor(exitCode: number) {
    super('');
    this.exitCode = exitCode;
  }
}
