/**
 * Save and restore of the database as versioned records with named fields:
 * the whole tree (host save/restore, like xenstored's live-update state in
 * tools/xenstored/xenstore_state.h) or one domain's /local/domain/<id> subtree
 * (carried with a migrating domain and re-rooted under its new domid).
 * Values are base64; nodes are listed parents first, children in order.
 */
import { canonicalize, childPath, parentOf, baseName, domainPath } from './paths.ts';
import type { Perm } from './perms.ts';
import { parsePerms, permToString } from './perms.ts';
import type { XsNode } from './tree.ts';
import { Tree } from './tree.ts';

export interface XenstoreNodeRecord {
  path: string;
  value: string;
  perms: string[];
}

export interface XenstoreTreeRecord {
  kind: 'xenstore-tree';
  version: 1;
  generation: number;
  nodes: XenstoreNodeRecord[];
}

export interface XenstoreDomainRecord {
  kind: 'xenstore-domain';
  version: 1;
  domid: number;
  /** Paths relative to /local/domain/<domid>; "" is that node itself. */
  nodes: XenstoreNodeRecord[];
}

export class XenstoreRecordError extends Error {
  override readonly name = 'XenstoreRecordError';
  readonly code = 'XENSTORE_RECORD_INVALID';
  constructor(message: string) {
    super(`invalid xenstore record: ${message}`);
  }
}

const b64 = (v: Uint8Array): string => Buffer.from(v).toString('base64');
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

function nodeRecord(path: string, n: XsNode): XenstoreNodeRecord {
  return { path, value: b64(n.value), perms: n.perms.map(permToString) };
}

/** Pre-order walk: a node, then each child's subtree in child order. */
function walk(tree: Tree, root: string, visit: (name: string, n: XsNode) => void): void {
  const stack = [root];
  while (stack.length) {
    const name = stack.pop()!;
    const n = tree.get(name);
    if (!n) continue;
    visit(name, n);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(childPath(name, n.children[i]));
  }
}

export function serializeTree(tree: Tree): XenstoreTreeRecord {
  const nodes: XenstoreNodeRecord[] = [];
  walk(tree, '/', (name, n) => nodes.push(nodeRecord(name, n)));
  for (const name of [...tree.names()].filter((x) => x.startsWith('@')).sort()) {
    nodes.push(nodeRecord(name, tree.get(name)!));
  }
  return { kind: 'xenstore-tree', version: 1, generation: tree.generation, nodes };
}

function checkNode(r: unknown): { path: string; value: Uint8Array; perms: Perm[] } {
  const o = r as Partial<XenstoreNodeRecord> | null;
  if (!o || typeof o.path !== 'string' || typeof o.value !== 'string' || !Array.isArray(o.perms)) {
    throw new XenstoreRecordError('node needs path, value and perms');
  }
  if (!o.perms.every((p) => typeof p === 'string') || o.perms.length === 0) {
    throw new XenstoreRecordError(`bad perms at ${o.path}`);
  }
  try {
    return { path: o.path, value: unb64(o.value), perms: parsePerms(o.perms as string[]) };
  } catch {
    throw new XenstoreRecordError(`bad perms at ${o.path}`);
  }
}

export function restoreTree(rec: XenstoreTreeRecord): Tree {
  if (rec?.kind !== 'xenstore-tree' || rec.version !== 1 || !Array.isArray(rec.nodes)) {
    throw new XenstoreRecordError('expected kind xenstore-tree, version 1');
  }
  const tree = new Tree(true);
  for (const raw of rec.nodes) {
    const { path, value, perms } = checkNode(raw);
    if (tree.has(path)) throw new XenstoreRecordError(`duplicate node ${path}`);
    if (path.startsWith('@') || path === '/') {
      tree.set(path, { value, children: [], perms });
      continue;
    }
    try {
      canonicalize(path, { implicitPath: '/', allowSpecial: false });
    } catch {
      throw new XenstoreRecordError(`bad path ${JSON.stringify(path)}`);
    }
    if (!path.startsWith('/')) throw new XenstoreRecordError(`relative path ${path}`);
    const parent = tree.get(parentOf(path));
    if (!parent) throw new XenstoreRecordError(`${path} listed before its parent`);
    tree.set(parentOf(path), { ...parent, children: [...parent.children, baseName(path)] }, parent.generation);
    tree.set(path, { value, children: [], perms });
  }
  if (!tree.has('/')) throw new XenstoreRecordError('no root node');
  tree.setGeneration(Number.isSafeInteger(rec.generation) ? rec.generation : 0);
  return tree;
}

export function exportDomainTree(tree: Tree, domid: number): XenstoreDomainRecord {
  const root = domainPath(domid);
  const nodes: XenstoreNodeRecord[] = [];
  walk(tree, root, (name, n) => nodes.push(nodeRecord(name.slice(root.length + 1), n)));
  return { kind: 'xenstore-domain', version: 1, domid, nodes };
}

/** Validated nodes of a domain record, re-rooted at `newDomid` with its domid in perms swapped. */
export function domainRecordNodes(
  rec: XenstoreDomainRecord,
  newDomid: number,
): { path: string; value: Uint8Array; perms: string[] }[] {
  if (rec?.kind !== 'xenstore-domain' || rec.version !== 1 || !Array.isArray(rec.nodes)) {
    throw new XenstoreRecordError('expected kind xenstore-domain, version 1');
  }
  const root = domainPath(newDomid);
  return rec.nodes.map((raw) => {
    const { path, value, perms } = checkNode(raw);
    const full = path === '' ? root : `${root}/${path}`;
    try {
      canonicalize(full, { implicitPath: '/', allowSpecial: false });
    } catch {
      throw new XenstoreRecordError(`bad path ${JSON.stringify(path)}`);
    }
    const swapped = perms.map((p) => permToString(p.id === rec.domid ? { ...p, id: newDomid } : p));
    const v = path === 'domid' ? new TextEncoder().encode(String(newDomid)) : value;
    return { path: full, value: v, perms: swapped };
  });
}
