/**
 * The xenstored core shared by ring connections and the local dom0 API:
 * the tree, the clients with their watches and transactions, and watch
 * delivery (tools/xenstored/watch.c, transaction.c, domain.c).
 */
import { xsFail } from './errors.ts';
import type { OpContext } from './ops.ts';
import { canon, rm } from './ops.ts';
import { isChild, parentOf } from './paths.ts';
import type { Caller, Perm } from './perms.ts';
import { PERM_READ, permFor } from './perms.ts';
import type { XsQuotas } from './quotas.ts';
import { DEFAULT_QUOTAS } from './quotas.ts';
import type { NodeStore, XsNode } from './tree.ts';
import { Tree } from './tree.ts';
import { Transaction } from './transaction.ts';

export interface Watch {
  /** Canonical path or @special name. */
  readonly node: string;
  readonly token: string;
  /** Characters to strip from event paths when the watch was relative. */
  readonly prefixLen: number;
}

/** One xenstored connection: a domain's ring, or dom0's local tools. */
export interface XsClient extends Caller {
  readonly implicitPath: string;
  watches: Watch[];
  transactions: Map<number, Transaction>;
  nextTxId: number;
  /** Queue a WATCH_EVENT for this client. */
  sendEvent(path: string, token: string): void;
}

export interface CoreOptions {
  quotas?: Partial<XsQuotas>;
  /** Does a domain exist? Used by SET_PERMS for the owner entry. Default: all do. */
  domainExists?: (domid: number) => boolean;
}

export class XenstoreCore {
  tree: Tree;
  readonly quotas: XsQuotas;
  readonly clients = new Set<XsClient>();
  readonly domainExists: (domid: number) => boolean;

  constructor(opts: CoreOptions = {}) {
    this.quotas = { ...DEFAULT_QUOTAS, ...opts.quotas };
    this.domainExists = opts.domainExists ?? (() => true);
    this.tree = new Tree();
    this.attach(this.tree);
  }

  /** Installs a tree (a fresh one, or one rebuilt by restore). */
  attach(tree: Tree): void {
    this.tree = tree;
    tree.onFire = (name, exact, node, oldPerms) => this.fireWatches(name, exact, node, oldPerms);
  }

  context(client: XsClient, store: NodeStore = this.tree): OpContext {
    return {
      store,
      caller: client,
      implicitPath: client.implicitPath,
      quotas: this.quotas,
      domainExists: this.domainExists,
    };
  }

  /** transaction_lookup(): tx_id 0 is no transaction; an unknown id is ENOENT. */
  lookupTransaction(client: XsClient, txId: number): Transaction | undefined {
    if (txId === 0) return undefined;
    return client.transactions.get(txId) ?? xsFail('ENOENT', `no transaction ${txId}`);
  }

  startTransaction(client: XsClient): number {
    if (!client.privileged && client.transactions.size >= this.quotas.transactions) {
      xsFail('ENOSPC', 'too many transactions');
    }
    let id = client.nextTxId >>> 0;
    while (id === 0 || client.transactions.has(id)) id = (id + 1) >>> 0;
    client.nextTxId = (id + 1) >>> 0;
    client.transactions.set(id, new Transaction(id, this.tree, client, this.quotas));
    return id;
  }

  /** Ends a transaction either way; the id is gone afterwards even when commit fails. */
  endTransaction(client: XsClient, tx: Transaction, commit: boolean): void {
    client.transactions.delete(tx.id);
    if (commit) tx.commit();
  }

  /** WATCH: registers; the caller acks and then sends the initial event. */
  addWatch(client: XsClient, path: string | undefined, token: string): Watch {
    const relative = path !== undefined && !path.startsWith('/') && !path.startsWith('@');
    const node = canon(this.context(client), path, true);
    if (client.watches.some((w) => w.node === node && w.token === token)) xsFail('EEXIST');
    if (!client.privileged && client.watches.length >= this.quotas.watches) xsFail('E2BIG', 'too many watches');
    const w: Watch = { node, token, prefixLen: relative ? client.implicitPath.length + 1 : 0 };
    client.watches.push(w);
    return w;
  }

  removeWatch(client: XsClient, path: string | undefined, token: string): void {
    const node = canon(this.context(client), path, true);
    const i = client.watches.findIndex((w) => w.node === node && w.token === token);
    if (i < 0) xsFail('ENOENT');
    client.watches.splice(i, 1);
  }

  /** RESET_WATCHES: drops every watch and transaction of the client. */
  resetClient(client: XsClient): void {
    client.watches = [];
    client.transactions.clear();
  }

  /**
   * fire_watches(): an event reaches a client only if it can read the node
   * (or, for a permission change, could read it before) or its parent
   * (watch_permitted()).
   */
  fireWatches(name: string, exact: boolean, node?: XsNode, oldPerms?: readonly Perm[]): void {
    for (const c of this.clients) {
      if (c.watches.length === 0 || !this.watchPermitted(c, name, node, oldPerms)) continue;
      for (const w of c.watches) {
        if (exact ? name === w.node : isChild(name, w.node)) c.sendEvent(name.slice(w.prefixLen), w.token);
      }
    }
  }

  private watchPermitted(c: XsClient, name: string, node?: XsNode, oldPerms?: readonly Perm[]): boolean {
    if (oldPerms && permFor(c, oldPerms) & PERM_READ) return true;
    const n = node ?? this.tree.get(name);
    if (!n) return false;
    if (permFor(c, n.perms) & PERM_READ) return true;
    const parent = this.tree.get(parentOf(name));
    return parent !== undefined && (permFor(c, parent.perms) & PERM_READ) !== 0;
  }

  /** @introduceDomain / @releaseDomain (fire_special_watches()). */
  fireSpecial(name: '@introduceDomain' | '@releaseDomain'): void {
    const node = this.tree.get(name);
    if (node) this.fireWatches(name, true, node);
  }

  /**
   * domain_tree_remove(): when a domain goes away its nodes go with it, and
   * permission entries naming it are dropped so a later domain reusing the id
   * inherits nothing (domain_adjust_node_perms()).
   */
  removeDomainNodes(domid: number, dom0: XsClient): void {
    const ctx = this.context(dom0);
    const owned: string[] = [];
    for (const name of this.tree.names()) if (this.tree.get(name)!.perms[0]?.id === domid) owned.push(name);
    owned.sort((a, b) => a.length - b.length);
    for (const name of owned) {
      if (name.startsWith('@') || name === '/' || !this.tree.has(name)) continue;
      rm(ctx, name);
    }
    for (const name of [...this.tree.names()]) {
      const n = this.tree.get(name)!;
      if (n.perms.length > 1 && n.perms.slice(1).some((p) => p.id === domid)) {
        const perms = [n.perms[0], ...n.perms.slice(1).filter((p) => p.id !== domid)];
        this.tree.set(name, { ...n, perms }, n.generation);
      }
    }
  }
}
