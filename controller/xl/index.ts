// xl/xm config files → Domain objects: `xenoform import-xl` and `xenoform create` use this.
// Reading follows `xl create CONFIG KEY=VALUE…` (tools/xl/xl_vmcontrol.c): each KEY=VALUE
// argument is one more line appended to the file's text, so `xm create -c myconf vmid=1` works.
import { readFile } from 'node:fs/promises';
import type { Domain } from '../../crds/domain.types.ts';
import { FileError, UsageError, XlConfigError, type Diagnostic } from '../errors.ts';
import { parseXl, type XlSetting } from './parser.ts';
import { xlToDomain } from './to-domain.ts';

export { parseXl, strtol0, type XlSetting, type XlValue, type XlParseResult } from './parser.ts';
export { parseDiskSpec, type XlDisk } from './disk.ts';
export { xlToDomain, parseMac, toDns1123, type XlProblem } from './to-domain.ts';

export interface XlConfig {
  settings: XlSetting[];
  /** problems so far (parse errors); empty when the text parsed */
  diagnostics: Diagnostic[];
}

/** xl configs are small; refuse anything bigger unread. */
export const MAX_XL_CONFIG_BYTES = 1024 * 1024;

/**
 * Where line `line` of the combined text came from: a line of `file`, or one of the
 * KEY=VALUE arguments (reported as `<arg N: KEY=VALUE>`: xl itself would count on past the
 * file's last line, which points nowhere).
 */
function placeOf(file: string, fileLines: number, args: string[], line: number): { file: string; line: number } {
  if (line <= fileLines || line === 0) return { file, line };
  const i = Math.min(line - fileLines - 1, args.length - 1);
  const arg = args[i];
  return arg === undefined ? { file, line } : { file: `${file} <argument ${i + 1}: ${arg}>`, line: 1 };
}

/** Parses config text plus KEY=VALUE arguments; never throws. */
export function parseXlConfig(text: string, file: string, args: string[] = []): XlConfig {
  for (const a of args) if (!a.includes('=')) throw new UsageError(`argument ${JSON.stringify(a)} is not KEY=VALUE`);
  const body = text === '' || text.endsWith('\n') ? text : text + '\n';
  const fileLines = body.split('\n').length - 1;
  const combined = args.length ? body + args.join('\n') + '\n' : body;
  const parsed = parseXl(combined);
  const diagnostics: Diagnostic[] = parsed.errors.map((e) => {
    const at = placeOf(file, fileLines, args, e.line);
    return { file: at.file, line: at.line, col: e.col, path: '', message: e.message, code: 'XlSyntax', severity: 'error' };
  });
  if (diagnostics.length && parsed.likelyPython) {
    diagnostics.push({ file, line: 0, col: 0, path: '', code: 'XlPython', severity: 'warning', message: 'Config file looks like it contains Python code. Arbitrary Python is no longer supported. See https://wiki.xen.org/wiki/PythonInXlConfig' });
  }
  return { settings: parsed.settings, diagnostics };
}

export interface ImportedXl {
  domain: Domain;
  /** warnings: keys with no Domain field, values adjusted */
  warnings: Diagnostic[];
}

/**
 * Maps config text to a Domain. Throws XlConfigError (every diagnostic, warnings included)
 * when the text or a value is refused.
 */
export function xlTextToDomain(text: string, file: string, args: string[] = []): ImportedXl {
  const cfg = parseXlConfig(text, file, args);
  if (cfg.diagnostics.some((d) => d.severity === 'error')) throw new XlConfigError(cfg.diagnostics);
  const body = text === '' || text.endsWith('\n') ? text : text + '\n';
  const fileLines = body.split('\n').length - 1;
  const r = xlToDomain(cfg.settings);
  const diagnostics: Diagnostic[] = r.problems.map((p) => {
    const at = placeOf(file, fileLines, args, p.line);
    return { file: at.file, line: at.line, col: p.col, path: '', message: p.message, code: p.severity === 'error' ? 'XlInvalidValue' : 'XlIgnored', severity: p.severity };
  });
  diagnostics.sort((a, b) => (a.file === b.file ? a.line - b.line || a.col - b.col : a.file < b.file ? -1 : 1));
  if (!r.domain) throw new XlConfigError(diagnostics);
  return { domain: r.domain, warnings: diagnostics };
}

/** Reads an xl config file (plus KEY=VALUE arguments) and maps it to a Domain. */
export async function importXl(file: string, args: string[] = []): Promise<ImportedXl> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new FileError(file, err.code === 'ENOENT' ? 'unable to open configuration file: No such file or directory' : `unable to open configuration file: ${err.message}`);
  }
  if (buf.length > MAX_XL_CONFIG_BYTES) throw new FileError(file, `configuration file is too large (${buf.length} bytes; at most ${MAX_XL_CONFIG_BYTES})`);
  // flex reads bytes; the values we keep are paths and names, so decode as UTF-8 (latin-1 bytes
  // in comments still parse, as U+FFFD)
  return xlTextToDomain(buf.toString('utf8'), file, args);
}
