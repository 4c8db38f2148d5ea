/**
 * Node permissions as xenstored keeps them (docs/misc/xenstore.txt
 * GET_PERMS/SET_PERMS; perm_for_conn() in tools/xenstored/core.c;
 * xenstore_strings_to_perms() in the xenstore library):
 * the first entry names the owner and the access every other domain gets;
 * later entries grant a specific domain `r`, `w`, `b` (both) or `n` (none).
 * The owner and privileged callers (dom0) get everything, including OWNER,
 * which SET_PERMS needs.
 */
import { xsFail } from './errors.ts';

export const PERM_NONE = 0;
export const PERM_READ = 1;
export const PERM_WRITE = 2;
export const PERM_OWNER = 8;

export interface Perm {
  readonly id: number;
  /** PERM_READ | PERM_WRITE bits. */
  readonly access: number;
}

export interface Caller {
  readonly domid: number;
  readonly privileged: boolean;
}

const LETTERS = ['n', 'r', 'w', 'b'] as const;

export function permToString(p: Perm): string {
  return `${LETTERS[p.access & 3]}${p.id}`;
}

/** Parses one `r5`-style entry; throws EINVAL on anything else. */
export function parsePerm(s: string): Perm {
  const i = LETTERS.indexOf(s[0] as (typeof LETTERS)[number]);
  if (i < 0 || !/^\d{1,5}$/.test(s.slice(1))) xsFail('EINVAL', `bad permission "${s}"`);
  const id = Number(s.slice(1));
  if (id > 0xffff) xsFail('EINVAL', `bad domid in permission "${s}"`);
  return { id, access: i };
}

export function parsePerms(list: readonly string[]): Perm[] {
  return list.map(parsePerm);
}

/** perm_for_conn(): the access bits a caller has on a node with these perms. */
export function permFor(caller: Caller, perms: readonly Perm[]): number {
  const all = PERM_READ | PERM_WRITE | PERM_OWNER;
  if (caller.privileged || perms[0]?.id === caller.domid) return all;
  for (let i = 1; i < perms.length; i++) if (perms[i].id === caller.domid) return perms[i].access;
  return perms[0]?.access ?? PERM_NONE;
}
