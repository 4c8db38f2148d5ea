/**
 * The database operations with xenstored's semantics, written once against a
 * NodeStore so they run the same on the tree and inside a transaction
 * (do_read, do_write, do_mkdir, do_rm, send_directory, send_directory_part,
 * do_get_perms, do_set_perms, create_node, rm_node and get_node_chk_perm in
 * tools/xenstored/core.c). Failures throw XenstoreError with the errno name.
 */
import { xsFail, XenstoreError } from './errors.ts';
import { baseName, canonicalize, childPath, parentOf } from './paths.ts';
import type { Caller, Perm } from './perms.ts';
import { PERM_OWNER, PERM_READ, PERM_WRITE, parsePerms, permFor, permToString } from './perms.ts';
import type { XsQuotas } from './quotas.ts';
import type { NodeData, NodeStore, XsNode } from './tree.ts';
import { nodeSize } from './tree.ts';

const EMPTY = new Uint8Array(0);

export interface OpContext {
  store: NodeStore;
  caller: Caller;
  implicitPath: string;
  quotas: XsQuotas;
  /** Whether a domain exists (SET_PERMS refuses an owner that does not: ENOENT). */
  domainExists: (domid: number) => boolean;
}

function unprivileged(ctx: OpContext): boolean {
  return !ctx.caller.privileged;
}

export function canon(ctx: OpContext, path: string | undefined, allowSpecial = false): string {
  return canonicalize(path, {
    implicitPath: ctx.implicitPath,
    allowSpecial,
    pathMax: unprivileged(ctx) ? ctx.quotas.pathMax : undefined,
  });
}

/**
 * get_node() + get_node_chk_perm() + errno_from_parents(): the node if the
 * caller has all of `need`; otherwise EACCES, or ENOENT when the node is
 * missing and its nearest existing ancestor would grant the access (so a
 * domain cannot probe for nodes it may not see).
 */
export function getChecked(ctx: OpContext, name: string, need: number): XsNode {
  const node = ctx.store.get(name);
  if (node) {
    if ((permFor(ctx.caller, node.perms) & need) === need) return node;
    xsFail('EACCES');
  }
  let parent: XsNode | undefined;
  for (let p = name; p !== '/' && !parent; ) {
    p = parentOf(p);
    parent = ctx.store.get(p);
  }
  if (parent && permFor(ctx.caller, parent.perms) & need) xsFail('ENOENT');
  xsFail('EACCES');
}

function checkSize(ctx: OpContext, data: NodeData): void {
  if (unprivileged(ctx) && nodeSize(data) > ctx.quotas.nodeSize) xsFail('ENOSPC', 'node too large');
}

/**
 * create_node()/construct_node(): creates `name` and any missing ancestors.
 * New nodes inherit the nearest existing ancestor's permissions; an
 * unprivileged creator becomes their owner. Checks every quota before writing
 * anything, so a refusal leaves the store untouched.
 */
function createNode(ctx: OpContext, name: string, value: Uint8Array): XsNode {
  const missing: string[] = [];
  let at = name;
  let parent: XsNode | undefined;
  while (!parent) {
    missing.push(at);
    if (at === '/') xsFail('EINVAL', 'no root node');
    at = parentOf(at);
    parent = ctx.store.get(at);
  }
  const perms: Perm[] = parent.perms.map((p) => ({ ...p }));
  if (unprivileged(ctx)) {
    perms[0] = { id: ctx.caller.domid, access: perms[0].access };
    if (ctx.store.ownedCount(ctx.caller.domid) + missing.length > ctx.quotas.nodes) xsFail('ENOSPC', 'node quota');
  }
  // Top-down: each parent gains one child entry.
  const writes: [string, NodeData][] = [];
  let parentName = at;
  let parentData: NodeData = parent;
  for (let i = missing.length - 1; i >= 0; i--) {
    const child = missing[i];
    writes.push([parentName, { ...parentData, children: [...parentData.children, baseName(child)] }]);
    parentName = child;
    parentData = { value: i === 0 ? value : EMPTY, children: [], perms };
  }
  writes.push([parentName, parentData]);
  for (const [, d] of writes) checkSize(ctx, d);
  for (const [n, d] of writes) ctx.store.set(n, d);
  return ctx.store.get(name)!;
}

function catchNoEnt<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof XenstoreError && e.code === 'ENOENT') return undefined;
    throw e;
  }
}

export function read(ctx: OpContext, path: string | undefined): Uint8Array {
  return getChecked(ctx, canon(ctx, path), PERM_READ).value;
}

export function write(ctx: OpContext, path: string | undefined, value: Uint8Array): void {
  const name = canon(ctx, path);
  const node = catchNoEnt(() => getChecked(ctx, name, PERM_WRITE));
  let written: XsNode;
  if (node) {
    const data = { ...node, value };
    checkSize(ctx, data);
    ctx.store.set(name, data);
    written = ctx.store.get(name)!;
  } else {
    written = createNode(ctx, name, value);
  }
  ctx.store.fire(name, false, written);
}

/** MKDIR: creates the node if missing; an existing node is left alone (no event). */
export function mkdir(ctx: OpContext, path: string | undefined): void {
  const name = canon(ctx, path);
  if (catchNoEnt(() => getChecked(ctx, name, PERM_WRITE))) return;
  ctx.store.fire(name, false, createNode(ctx, name, EMPTY));
}

/**
 * RM: removes the node and its subtree. Missing is fine if the parent exists.
 * Events: each removed descendant fires watches set exactly on it; the root
 * fires watches on it and on its ancestors (delnode_sub()).
 */
export function rm(ctx: OpContext, path: string | undefined): void {
  const name = canon(ctx, path);
  const node = catchNoEnt(() => getChecked(ctx, name, PERM_WRITE));
  if (!node) {
    if (name !== '/' && ctx.store.get(parentOf(name))) return;
    xsFail('ENOENT');
  }
  if (name === '/') xsFail('EINVAL', 'cannot remove /');
  const parentName = parentOf(name);
  const parent = ctx.store.get(parentName);
  if (!parent) xsFail('EINVAL');
  const removeTree = (n: string, isRoot: boolean): void => {
    const cur = ctx.store.get(n);
    if (!cur) return;
    for (const c of cur.children) removeTree(childPath(n, c), false);
    ctx.store.remove(n);
    ctx.store.fire(n, !isRoot, cur);
  };
  removeTree(name, true);
  const base = baseName(name);
  ctx.store.set(parentName, { ...parent, children: parent.children.filter((c) => c !== base) });
}

/** xs_rm() as toolstacks use it: a missing node (or parent) is not an error. */
export function rmQuiet(ctx: OpContext, path: string): void {
  catchNoEnt(() => rm(ctx, path));
}

export function directory(ctx: OpContext, path: string | undefined): readonly string[] {
  return getChecked(ctx, canon(ctx, path), PERM_READ).children;
}

/**
 * DIRECTORY_PART path|offset: "<gencnt>\0" then the children from byte
 * `offset` of the NUL-separated list that fit in one payload; a final extra
 * NUL marks the end of the list (send_directory_part()).
 */
export function directoryPart(ctx: OpContext, path: string | undefined, offset: number, max: number): string {
  const node = getChecked(ctx, canon(ctx, path), PERM_READ);
  const gen = `${node.generation}\0`;
  const all = node.children.map((c) => `${c}\0`).join('');
  if (offset >= all.length) return `${gen}\0`;
  const room = max - gen.length - 1;
  let len = 0;
  let i = offset;
  while (i < all.length) {
    const end = all.indexOf('\0', i);
    const child = end - i;
    if (len + child >= room) break;
    len += child + 1;
    i = end + 1;
  }
  const body = all.slice(offset, offset + len);
  return offset + len === all.length ? `${gen}${body}\0` : `${gen}${body}`;
}

export function getPerms(ctx: OpContext, path: string | undefined): string[] {
  return getChecked(ctx, canon(ctx, path, true), PERM_READ).perms.map(permToString);
}

/**
 * SET_PERMS: needs WRITE and OWNER (the owner or dom0). An unprivileged
 * caller may not give the node away (EPERM).
 */
export function setPerms(ctx: OpContext, path: string | undefined, permStrings: readonly string[]): void {
  if (permStrings.length < 1) xsFail('EINVAL', 'no permissions');
  if (unprivileged(ctx) && permStrings.length > ctx.quotas.nodePerms) xsFail('ENOSPC', 'too many permissions');
  const perms = parsePerms(permStrings);
  if (!ctx.domainExists(perms[0].id)) xsFail('ENOENT', `owner domain ${perms[0].id} does not exist`);
  const name = canon(ctx, path, true);
  const node = getChecked(ctx, name, PERM_WRITE | PERM_OWNER);
  if (unprivileged(ctx) && perms[0].id !== node.perms[0].id) xsFail('EPERM', 'cannot change owner');
  const data = { ...node, perms };
  checkSize(ctx, data);
  ctx.store.set(name, data);
  ctx.store.fire(name, false, ctx.store.get(name), node.perms);
}
