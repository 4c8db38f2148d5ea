/**
 * Xenstore path rules (docs/misc/xenstore.txt; canonicalize(), get_parent()
 * and is_child() in tools/xenstored/core.c and watch.c):
 * - characters: ASCII alphanumerics and `-/_@`;
 * - absolute paths start with `/`, special watch paths with `@`, anything else
 *   is relative to the caller's /local/domain/<domid>;
 * - no `//`, no trailing `/` except the root itself, not empty;
 * - XENSTORE_ABS_PATH_MAX 3072 bytes (xs_wire.h); an unprivileged caller is also
 *   held to the path-max quota (XENSTORE_REL_PATH_MAX 2048) counted after its
 *   /local/domain/<id>/ prefix, as domain_max_chk(ACC_PATHLEN) does.
 */
import { xsFail } from './errors.ts';

export const XENSTORE_ABS_PATH_MAX = 3072;
export const XENSTORE_REL_PATH_MAX = 2048;

const VALID = /^[A-Za-z0-9\-/_@]*$/;
const LOCAL_PREFIX = /^\/local\/domain\/\d{1,5}\//;

export function domainPath(domid: number): string {
  return `/local/domain/${domid}`;
}

export interface CanonOptions {
  /** Base for relative paths: /local/domain/<domid>. */
  implicitPath: string;
  /** Accept `@special` names (WATCH, UNWATCH, GET_PERMS, SET_PERMS only). */
  allowSpecial: boolean;
  /** Path-length quota after the /local/domain/<id>/ prefix, or undefined (privileged). */
  pathMax?: number;
}

/** Returns the canonical absolute (or `@special`) name, or throws EINVAL. */
export function canonicalize(path: string | undefined, o: CanonOptions): string {
  if (path === undefined || !VALID.test(path)) xsFail('EINVAL', 'invalid path');
  if (path.startsWith('@') && !o.allowSpecial) xsFail('EINVAL', 'special path not allowed here');
  const name = path.startsWith('/') || path.startsWith('@') ? path : `${o.implicitPath}/${path}`;
  if ((name.endsWith('/') && name !== '/') || name.includes('//')) xsFail('EINVAL', 'malformed path');
  if (name.length > XENSTORE_ABS_PATH_MAX) xsFail('EINVAL', 'path too long');
  if (o.pathMax !== undefined) {
    const m = LOCAL_PREFIX.exec(name);
    if (name.length - (m ? m[0].length : 0) > o.pathMax) xsFail('EINVAL', 'path too long');
  }
  return name;
}

/** get_parent(): strips the last component; "/a" and "@x" have parent "/". */
export function parentOf(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash > 0 ? name.slice(0, slash) : '/';
}

export function baseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

export function childPath(parent: string, child: string): string {
  return parent === '/' ? `/${child}` : `${parent}/${child}`;
}

/** is_child(): `child` equals `parent` or lies below it; everything is below "/". */
export function isChild(child: string, parent: string): boolean {
  if (parent === '/') return true;
  if (!child.startsWith(parent)) return false;
  return child.length === parent.length || child[parent.length] === '/';
}
