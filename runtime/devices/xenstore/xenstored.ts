/**
 * xenstored for the emulated host: pure logic, no I/O of its own. The
 * hypervisor introduces each domain's store page and event channel, calls
 * handleRing() when the guest signals that channel, and the toolstack uses the
 * local API below as dom0 (privileged: domid 0, relative paths under
 * /local/domain/0).
 *
 * Calls from the hypervisor:
 *   writeDomainLayout(domid, info)        toolstack nodes (libxl layout), before the guest runs
 *   introduceDomain(domid, page, notify)  XS_INTRODUCE: the ring page and a "kick the guest" callback
 *   handleRing(domid)                     the guest notified its store event channel
 *   domainShutdown(domid)                 the domain shut down or crashed (@releaseDomain)
 *   releaseDomain(domid)                  the domain is destroyed: connection and nodes go
 */
import type { CoreOptions, Watch, XsClient } from './core.ts';
import { XenstoreCore } from './core.ts';
import { RingConnection } from './connection.ts';
import { XenstoreError, xsFail } from './errors.ts';
import type { DomainLayoutInfo } from './layout.ts';
import { writeDomainLayout } from './layout.ts';
import * as ops from './ops.ts';
import { domainPath } from './paths.ts';
import type { XenstoreDomainRecord, XenstoreTreeRecord } from './persist.ts';
import { domainRecordNodes, exportDomainTree, restoreTree, serializeTree } from './persist.ts';
import type { RingPage } from './ring.ts';
import type { Transaction } from './transaction.ts';

export type WatchCallback = (path: string, token: string) => void;

export interface IntroduceOptions {
  /** Write the libxl node layout first. */
  layout?: DomainLayoutInfo;
  /** Zero the ring indices as XS_INTRODUCE does (default true); false keeps them (restore of a live ring). */
  resetRing?: boolean;
}

const DOMID_FIRST_RESERVED = 0x7ff0;

/** dom0's tool connection: privileged; watch events go to callbacks. */
class LocalClient implements XsClient {
  readonly domid = 0;
  readonly privileged = true;
  readonly implicitPath = domainPath(0);
  watches: Watch[] = [];
  transactions = new Map<number, Transaction>();
  nextTxId = 1;
  readonly callbacks = new Map<string, WatchCallback>();
  readonly events: [string, string][] = [];
  sendEvent(path: string, token: string): void {
    this.events.push([path, token]);
  }
}

export class Xenstored {
  private readonly core: XenstoreCore;
  private readonly local = new LocalClient();
  private readonly conns = new Map<number, RingConnection>();
  private readonly dirty = new Set<RingConnection>();
  private depth = 0;
  private nextToken = 1;

  constructor(opts: CoreOptions = {}) {
    this.core = new XenstoreCore(opts);
    this.core.clients.add(this.local);
    // xen-init-dom0 (tools/helpers/xen-init-dom0.c) names dom0.
    this.write('/local/domain/0/domid', '0');
    this.write('/local/domain/0/name', 'Domain-0');
  }

  // ---- domains (called by the hypervisor) ----

  introduceDomain(domid: number, page: RingPage, notify: () => void, opts: IntroduceOptions = {}): void {
    if (!Number.isInteger(domid) || domid <= 0 || domid >= DOMID_FIRST_RESERVED) {
      xsFail('EINVAL', `cannot introduce domain ${domid}`);
    }
    this.run(() => {
      if (opts.layout) writeDomainLayout(this.dom0(), domid, opts.layout);
      const old = this.conns.get(domid);
      if (old) this.core.clients.delete(old);
      const conn = new RingConnection(domid, page, notify, this.core, this, opts.resetRing ?? true, (c) =>
        this.dirty.add(c),
      );
      this.conns.set(domid, conn);
      this.core.clients.add(conn);
      if (!old) this.core.fireSpecial('@introduceDomain');
      this.dirty.add(conn);
    });
  }

  /** The guest kicked its store event channel: read requests, write replies. */
  handleRing(domid: number): void {
    const conn = this.conns.get(domid);
    if (conn) this.run(() => conn.service());
  }

  /** The domain shut down (any reason): @releaseDomain fires once per shutdown (check_domains()). */
  domainShutdown(domid: number): void {
    const conn = this.conns.get(domid);
    if (!conn || conn.shutdownNoticed) return;
    conn.shutdownNoticed = true;
    this.run(() => this.core.fireSpecial('@releaseDomain'));
  }

  /** XS_RESUME: a later shutdown fires @releaseDomain again. */
  resumeDomain(domid: number): void {
    const conn = this.conns.get(domid);
    if (conn) conn.shutdownNoticed = false;
  }

  /**
   * The domain is gone: drop its connection (without events to it) and the
   * nodes it owns (xenstored), plus what the toolstack removes on destroy
   * (libxl__destroy_domid(), libxl__device_destroy()): /local/domain/<id>,
   * its /vm/<uuid> and dom0's backend/<type>/<id> directories. Then
   * @releaseDomain fires.
   */
  releaseDomain(domid: number): void {
    const conn = this.conns.get(domid);
    this.run(() => {
      if (conn) {
        conn.watches = [];
        this.core.clients.delete(conn);
        this.conns.delete(domid);
        this.dirty.delete(conn);
      }
      const ctx = this.dom0();
      const dom = domainPath(domid);
      const vm = this.readString(`${dom}/vm`);
      if (vm?.startsWith('/vm/')) ops.rmQuiet(ctx, vm);
      ops.rmQuiet(ctx, dom);
      for (const type of this.core.tree.get('/local/domain/0/backend')?.children ?? []) {
        ops.rmQuiet(ctx, `/local/domain/0/backend/${type}/${domid}`);
      }
      this.core.removeDomainNodes(domid, this.local);
      if (conn) this.core.fireSpecial('@releaseDomain');
    });
  }

  isIntroduced(domid: number): boolean {
    return this.conns.has(domid);
  }

  /** The ring's error field value if the connection was dropped as hostile, else undefined. */
  connectionError(domid: number): number | undefined {
    const c = this.conns.get(domid);
    return c?.ignored ? c.ring.error : undefined;
  }

  writeDomainLayout(domid: number, info: DomainLayoutInfo): void {
    this.run(() => writeDomainLayout(this.dom0(), domid, info));
  }

  // ---- local API for dom0 tools (throws XenstoreError) ----

  read(path: string, tx = 0): Uint8Array {
    return this.run(() => ops.read(this.dom0(tx), path));
  }

  /** The value as UTF-8 text, or undefined if the node does not exist. */
  readString(path: string, tx = 0): string | undefined {
    try {
      return new TextDecoder().decode(this.read(path, tx));
    } catch (e) {
      if (e instanceof XenstoreError && e.code === 'ENOENT') return undefined;
      throw e;
    }
  }

  write(path: string, value: string | Uint8Array, tx = 0): void {
    const v = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    this.run(() => ops.write(this.dom0(tx), path, v));
  }

  mkdir(path: string, tx = 0): void {
    this.run(() => ops.mkdir(this.dom0(tx), path));
  }

  rm(path: string, tx = 0): void {
    this.run(() => ops.rm(this.dom0(tx), path));
  }

  directory(path: string, tx = 0): string[] {
    return this.run(() => [...ops.directory(this.dom0(tx), path)]);
  }

  getPerms(path: string, tx = 0): string[] {
    return this.run(() => ops.getPerms(this.dom0(tx), path));
  }

  /** perms like ['n5', 'r0']: the first names the owner and everyone else's access. */
  setPerms(path: string, perms: readonly string[], tx = 0): void {
    this.run(() => ops.setPerms(this.dom0(tx), path, perms));
  }

  /** Watches a path (or @introduceDomain/@releaseDomain); fires once at once. Returns an unwatch function. */
  watch(path: string, cb: WatchCallback, token = `local-${this.nextToken++}`): () => void {
    if (this.local.callbacks.has(token)) xsFail('EEXIST', `watch token ${token} in use`);
    this.run(() => {
      const w = this.core.addWatch(this.local, path, token);
      this.local.callbacks.set(token, cb);
      this.local.sendEvent(w.node.slice(w.prefixLen), token);
    });
    return () => this.unwatch(path, token);
  }

  unwatch(path: string, token: string): void {
    this.run(() => this.core.removeWatch(this.local, path, token));
    this.local.callbacks.delete(token);
  }

  transactionStart(): number {
    return this.core.startTransaction(this.local);
  }

  /** Commits (or aborts); a conflicting commit throws XenstoreError EAGAIN. */
  transactionEnd(tx: number, commit = true): void {
    this.run(() => {
      const t = this.core.lookupTransaction(this.local, tx) ?? xsFail('ENOENT');
      this.core.endTransaction(this.local, t, commit);
    });
  }

  /** Runs fn in a transaction, retrying on EAGAIN as libxl's retry_transaction loops do. */
  transaction<T>(fn: (tx: number) => T, maxAttempts = 16): T {
    for (let attempt = 1; ; attempt++) {
      const tx = this.transactionStart();
      let result: T;
      try {
        result = fn(tx);
      } catch (e) {
        this.transactionEnd(tx, false);
        throw e;
      }
      try {
        this.transactionEnd(tx, true);
        return result;
      } catch (e) {
        if (!(e instanceof XenstoreError && e.code === 'EAGAIN') || attempt >= maxAttempts) throw e;
      }
    }
  }

  /** Nodes owned by a domain (counted against its node quota). */
  ownedNodes(domid: number): number {
    return this.core.tree.ownedCount(domid);
  }

  // ---- save / restore ----

  serialize(): XenstoreTreeRecord {
    return serializeTree(this.core.tree);
  }

  /** Replaces the whole database (before domains are introduced; open transactions are dropped). */
  restore(rec: XenstoreTreeRecord): void {
    const tree = restoreTree(rec);
    for (const c of this.core.clients) c.transactions.clear();
    this.core.attach(tree);
  }

  exportDomain(domid: number): XenstoreDomainRecord {
    return exportDomainTree(this.core.tree, domid);
  }

  /** Recreates a domain's subtree under /local/domain/<domid> (a migrated domain's new id). */
  importDomain(rec: XenstoreDomainRecord, domid: number): void {
    const nodes = domainRecordNodes(rec, domid);
    this.run(() => {
      const ctx = this.dom0();
      ops.rmQuiet(ctx, domainPath(domid));
      for (const n of nodes) {
        ops.write(ctx, n.path, n.value);
        ops.setPerms(ctx, n.path, n.perms);
      }
    });
  }

  /**
   * A domain's connection state that its tree does not carry: the watches it registered, for
   * save and migration (a guest restored without suspending never registers them again; Linux
   * does so only in its xenbus resume). Paths under its own /local/domain/<id> come out as
   * "~…", so they can follow it to a new id (importWatches), as oxenstored's live-update
   * connection records keep them.
   */
  exportWatches(domid: number): { node: string; token: string; relative: boolean }[] {
    const c = this.conns.get(domid);
    const home = domainPath(domid);
    return (c?.watches ?? []).map((w) => ({
      node: w.node === home ? '~' : w.node.startsWith(home + '/') ? '~' + w.node.slice(home.length) : w.node,
      token: w.token,
      relative: w.prefixLen > 0,
    }));
  }

  /** Put a restored domain's watches back on its connection (exportWatches' records). */
  importWatches(domid: number, watches: readonly { node: string; token: string; relative: boolean }[]): void {
    const c = this.conns.get(domid);
    if (!c) return;
    const home = domainPath(domid);
    c.watches = watches.map((w): Watch => ({
      node: w.node.startsWith('~') ? home + w.node.slice(1) : w.node,
      token: w.token,
      prefixLen: w.relative ? c.implicitPath.length + 1 : 0,
    }));
  }

  // ---- internals ----

  private dom0(tx = 0): ops.OpContext {
    const t = this.core.lookupTransaction(this.local, tx);
    return this.core.context(this.local, t ?? this.core.tree);
  }

  /**
   * Runs an operation, then (outermost call only) delivers dom0 watch
   * callbacks and pushes queued output into the rings of affected domains.
   */
  private run<T>(fn: () => T): T {
    this.depth++;
    try {
      return fn();
    } finally {
      this.depth--;
      if (this.depth === 0) this.afterOperation();
    }
  }

  private afterOperation(): void {
    this.depth++;
    let firstError: unknown;
    try {
      for (let ev = this.local.events.shift(); ev; ev = this.local.events.shift()) {
        const cb = this.local.callbacks.get(ev[1]);
        try {
          cb?.(ev[0], ev[1]);
        } catch (e) {
          firstError ??= e;
        }
      }
      for (const c of this.dirty) {
        c.flush();
        c.maybeNotify();
      }
      this.dirty.clear();
    } finally {
      this.depth--;
    }
    if (this.local.events.length || this.dirty.size) this.afterOperation();
    if (firstError !== undefined) throw firstError;
  }
}
