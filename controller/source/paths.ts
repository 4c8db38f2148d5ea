// Paths in manifests resolve relative to the manifest file's directory and must stay inside
// the allowed roots (../shared/DESIGN.md §3): lexically (no `..` escape) and, where the file
// exists, after following symlinks (realpath), so a link cannot point outside either.
import { existsSync, lstatSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's own directory (this file is controller/source/paths.ts). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Built guest kernels shipped with the package: always an allowed root. */
export const GUESTS_BUILD_DIR = resolve(PACKAGE_ROOT, 'guests', 'build');

export interface AllowedRoot {
  /** absolute, as given */
  path: string;
  /** realpath when it exists, else the absolute path */
  real: string;
}

export function makeRoots(paths: string[]): AllowedRoot[] {
  const seen = new Set<string>();
  const out: AllowedRoot[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    let real = abs;
    try { real = realpathSync(abs); } catch { /* not there (yet): lexical checks only */ }
    if (seen.has(abs + '\0' + real)) continue;
    seen.add(abs + '\0' + real);
    out.push({ path: abs, real });
  }
  return out;
}

export function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

export type ResolvedPath =
  | { ok: true; absolute: string; real: string | undefined; exists: boolean }
  | { ok: false; code: 'PathOutsideRoots' | 'PathNotFound' | 'PathNotFile'; message: string };

function describeRoots(roots: AllowedRoot[]): string {
  return roots.map((r) => r.path).join(', ');
}

/**
 * Resolves `value` (a path as written in the manifest `manifestFile`) and checks it against
 * `roots`. `mustExist`: a missing file is an error (kernels); otherwise the nearest existing
 * ancestor directory must itself resolve inside a root (so a disk image created later cannot
 * land outside through a symlinked directory).
 */
export function resolveManifestPath(value: string, manifestFile: string, roots: AllowedRoot[], mustExist: boolean): ResolvedPath {
  const absolute = resolve(dirname(resolve(manifestFile)), value);
  const hint = `allowed roots: ${describeRoots(roots)}; more with --allow-path`;
  if (!roots.some((r) => isInside(absolute, r.path) || isInside(absolute, r.real))) {
    return { ok: false, code: 'PathOutsideRoots', message: `path ${JSON.stringify(value)} resolves to ${absolute}, outside the allowed roots (${hint})` };
  }
  const exists = existsSync(absolute);
  if (!exists) {
    let dangling = false;
    try { realpathSync(absolute); } catch (e) { dangling = (e as NodeJS.ErrnoException).code === 'ENOENT' && isLink(absolute); }
    if (dangling) return { ok: false, code: 'PathNotFound', message: `path ${JSON.stringify(value)} is a symlink to a missing file` };
    if (mustExist) return { ok: false, code: 'PathNotFound', message: `file not found: ${absolute}` };
    let dir = dirname(absolute);
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    const realDir = realpathSync(dir);
    if (!roots.some((r) => isInside(realDir, r.real))) {
      return { ok: false, code: 'PathOutsideRoots', message: `path ${JSON.stringify(value)} would be created under ${realDir} (through a symlink), outside the allowed roots (${hint})` };
    }
    return { ok: true, absolute, real: undefined, exists: false };
  }
  const real = realpathSync(absolute);
  if (!roots.some((r) => isInside(real, r.real))) {
    return { ok: false, code: 'PathOutsideRoots', message: `path ${JSON.stringify(value)} is a symlink to ${real}, outside the allowed roots (${hint})` };
  }
  if (!statSync(real).isFile()) return { ok: false, code: 'PathNotFile', message: `not a regular file: ${absolute}` };
  return { ok: true, absolute, real, exists: true };
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
