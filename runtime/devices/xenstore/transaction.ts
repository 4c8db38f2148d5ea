/**
 * Transactions as C xenstored runs them (tools/xenstored/transaction.c):
 * optimistic, with no copy of the database. The first time a transaction
 * touches a node it records the node's generation (or NO_GENERATION if it is
 * absent) and from then on sees its own overlay value. TRANSACTION_END "T"
 * commits only if every touched node still has the generation recorded, else
 * EAGAIN; watch events for nodes changed inside are queued and fire at commit.
 */
import { xsFail } from './errors.ts';
import type { Caller, Perm } from './perms.ts';
import type { XsQuotas } from './quotas.ts';
import type { NodeData, NodeStore, Tree, XsNode } from './tree.ts';
import { NO_GENERATION } from './tree.ts';

interface Accessed {
  /** Generation in the tree when first touched, or NO_GENERATION. */
  readonly baseGeneration: number;
  /** Permissions when first touched, for the watch permission check at commit. */
  readonly origPerms: readonly Perm[] | undefined;
  node: XsNode | undefined;
  modified: boolean;
  /** Queued watch event: undefined = none; exact events are widened by a non-exact one. */
  fireExact: boolean | undefined;
}

export class Transaction implements NodeStore {
  private readonly accessed = new Map<string, Accessed>();
  /** Set when an operation failed half-way; commit then refuses (ENOMEM, as xenstored). */
  failed = false;
  private nodeCreated = false;

  constructor(
    readonly id: number,
    private readonly tree: Tree,
    private readonly caller: Caller,
    private readonly quotas: XsQuotas,
  ) {}

  private touch(name: string): Accessed {
    let a = this.accessed.get(name);
    if (a) return a;
    if (!this.caller.privileged && this.accessed.size >= this.quotas.transactionNodes) {
      this.failed = true;
      xsFail('ENOSPC', 'transaction touches too many nodes');
    }
    const n = this.tree.get(name);
    a = {
      baseGeneration: n ? n.generation : NO_GENERATION,
      origPerms: n?.perms,
      node: n,
      modified: false,
      fireExact: undefined,
    };
    this.accessed.set(name, a);
    return a;
  }

  get(name: string): XsNode | undefined {
    return this.touch(name).node;
  }

  set(name: string, data: NodeData): void {
    const a = this.touch(name);
    if (!a.node) this.nodeCreated = true;
    a.node = { ...data, generation: this.tree.nextGeneration() };
    a.modified = true;
  }

  remove(name: string): void {
    const a = this.touch(name);
    a.node = undefined;
    a.modified = true;
  }

  ownedCount(domid: number): number {
    let n = this.tree.ownedCount(domid);
    for (const [name, a] of this.accessed) {
      if (!a.modified) continue;
      const base = this.tree.get(name);
      if (base?.perms[0]?.id === domid) n--;
      if (a.node?.perms[0]?.id === domid) n++;
    }
    return n;
  }

  fire(name: string, exact: boolean): void {
    const a = this.accessed.get(name);
    if (!a) {
      this.failed = true;
      return;
    }
    a.fireExact = a.fireExact === undefined ? exact : a.fireExact && exact;
  }

  /** Applies the transaction to the tree, or throws EAGAIN/ENOSPC/ENOMEM leaving it untouched. */
  commit(): void {
    if (this.failed) xsFail('ENOMEM', 'transaction failed earlier');
    for (const [name, a] of this.accessed) {
      const cur = this.tree.get(name);
      if ((cur ? cur.generation : NO_GENERATION) !== a.baseGeneration) xsFail('EAGAIN');
    }
    if (this.nodeCreated && !this.caller.privileged) {
      const owners = new Set<number>();
      for (const a of this.accessed.values()) if (a.modified && a.node) owners.add(a.node.perms[0].id);
      for (const d of owners) {
        if (d !== 0 && this.ownedCount(d) > this.quotas.nodes) xsFail('ENOSPC', 'node quota');
      }
    }
    for (const [name, a] of this.accessed) {
      if (!a.modified) continue;
      if (a.node) this.tree.set(name, a.node);
      else this.tree.remove(name);
    }
    for (const [name, a] of this.accessed) {
      if (a.fireExact !== undefined) this.tree.fire(name, a.fireExact, undefined, a.origPerms);
    }
    this.accessed.clear();
  }
}
