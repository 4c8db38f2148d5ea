// What every verb shares: global options, the state dir, output.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { PACKAGE_ROOT } from '../source/paths.ts';

export interface GlobalOptions {
  stateDir?: string;
}

/** The package version (package.json), for --version. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(resolve(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** --state-dir, else $XENOFORM_STATE_DIR, else ./.xenoform (../shared/DESIGN.md §3). */
export function resolveStateDir(cmd: Command): string {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  return resolve(opts.stateDir ?? process.env.XENOFORM_STATE_DIR ?? '.xenoform');
}

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';

/** Checks an -o value against the formats a verb supports. */
export function outputFormat(value: string | undefined, allowed: OutputFormat[], fallback: OutputFormat): OutputFormat {
  const v = (value ?? fallback) as OutputFormat;
  if (!allowed.includes(v)) throw new UsageError(`unsupported output format ${JSON.stringify(value)} (use one of: ${allowed.join(', ')})`);
  return v;
}

/** Writes to stdout; a closed pipe (`| head`) ends quietly. */
export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') || text === '' ? text : text + '\n');
}

export function err(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : text + '\n');
}

/** Collects a repeatable option: `--allow-path a --allow-path b`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
