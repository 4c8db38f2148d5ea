/**
 * The node database. A node is a value (bytes), an ordered list of child
 * names and a permission list; every change stamps it with a fresh generation
 * from one global counter, which is what transactions check for conflicts
 * (tools/xenstored/transaction.c, "notes regarding detection and handling of
 * transaction conflicts"). Nodes are immutable objects, replaced on change, so
 * a transaction can hold references to them without copying.
 */
import type { Perm } from './perms.ts';
import { PERM_NONE } from './perms.ts';

export interface XsNode {
  readonly value: Uint8Array;
  readonly children: readonly string[];
  readonly perms: readonly Perm[];
  readonly generation: number;
}

export type NodeData = Omit<XsNode, 'generation'>;

/** Sentinel generation of a node that does not exist (NO_GENERATION). */
export const NO_GENERATION = -1;

/** Where operations read and write nodes: the tree itself or a transaction. */
export interface NodeStore {
  get(name: string): XsNode | undefined;
  set(name: string, data: NodeData): void;
  remove(name: string): void;
  /** Nodes owned (perms[0].id) by a domain, as this store sees them. */
  ownedCount(domid: number): number;
  /** A node changed: fire (or, in a transaction, queue) watch events. */
  fire(name: string, exact: boolean, node?: XsNode, oldPerms?: readonly Perm[]): void;
}

export type FireHook = (name: string, exact: boolean, node?: XsNode, oldPerms?: readonly Perm[]) => void;

const EMPTY = new Uint8Array(0);
const DOM0_NONE: readonly Perm[] = Object.freeze([{ id: 0, access: PERM_NONE }]);

/** node_hdr (16 bytes) + xs_permissions (8 each) + data + NUL-separated children: calc_node_acc_size(). */
export function nodeSize(n: NodeData): number {
  let childLen = 0;
  for (const c of n.children) childLen += c.length + 1;
  return 16 + 8 * n.perms.length + n.value.length + childLen;
}

export class Tree implements NodeStore {
  private readonly nodes = new Map<string, XsNode>();
  private readonly owned = new Map<number, number>();
  private gen = 0;
  onFire: FireHook = () => {};

  /** setup_structure() in tools/xenstored/core.c: /, /tool/xenstored and the special nodes, owned by dom0. */
  constructor(empty = false) {
    if (empty) return;
    this.set('/', { value: EMPTY, children: ['tool'], perms: DOM0_NONE });
    this.set('/tool', { value: EMPTY, children: ['xenstored'], perms: DOM0_NONE });
    this.set('/tool/xenstored', { value: EMPTY, children: [], perms: DOM0_NONE });
    this.set('@releaseDomain', { value: EMPTY, children: [], perms: DOM0_NONE });
    this.set('@introduceDomain', { value: EMPTY, children: [], perms: DOM0_NONE });
  }

  get generation(): number {
    return this.gen;
  }

  /** A fresh generation (the global counter is bumped before each use). */
  nextGeneration(): number {
    return ++this.gen;
  }

  get(name: string): XsNode | undefined {
    return this.nodes.get(name);
  }

  has(name: string): boolean {
    return this.nodes.has(name);
  }

  set(name: string, data: NodeData, generation = this.nextGeneration()): void {
    const old = this.nodes.get(name);
    if (old) this.count(old.perms[0]?.id, -1);
    const node: XsNode = { value: data.value, children: data.children, perms: data.perms, generation };
    this.nodes.set(name, node);
    this.count(node.perms[0]?.id, +1);
  }

  remove(name: string): void {
    const old = this.nodes.get(name);
    if (!old) return;
    this.nodes.delete(name);
    this.count(old.perms[0]?.id, -1);
  }

  ownedCount(domid: number): number {
    return this.owned.get(domid) ?? 0;
  }

  fire(name: string, exact: boolean, node?: XsNode, oldPerms?: readonly Perm[]): void {
    this.onFire(name, exact, node, oldPerms);
  }

  /** Every node name, in no particular order. */
  names(): IterableIterator<string> {
    return this.nodes.keys();
  }

  /** Restores the generation counter (after a restore). */
  setGeneration(g: number): void {
    this.gen = Math.max(this.gen, g);
  }

  private count(domid: number | undefined, d: number): void {
    if (domid === undefined) return;
    const v = (this.owned.get(domid) ?? 0) + d;
    if (v) this.owned.set(domid, v);
    else this.owned.delete(domid);
  }
}
