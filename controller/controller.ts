// The manager: wires the manifest watch, the host's event stream and a periodic resync into one
// work queue of keys, and runs the Domain reconciler on it (controller-runtime's Manager +
// Controller). Watches only say *which* keys to look at; reconcile re-reads everything, so the
// outcome never depends on which events were seen (level-triggered, ../shared/DESIGN.md §3).
import { formatDiagnostic } from './errors.ts';
import { errorCode, ObservedDomains, type DomainEvent, type HypervisorApi } from './hypervisor.ts';
import { DEFAULT_TIMING, type Timing } from './machines/index.ts';
import { keyFor, realClock, runWorkers, WorkQueue, type Clock } from './queue/index.ts';
import { ConsoleFollowers } from './reconcilers/consoles.ts';
import { DesiredState } from './reconcilers/desired.ts';
import { DomainReconciler } from './reconcilers/domain.reconciler.ts';
import { watchManifests, type ManifestObject, type ManifestWatcher, type WatchOptions } from './source/index.ts';
import { StateStore } from './store/index.ts';
import type { Domain } from '../crds/index.ts';
import { ipForMac, type MigrationTarget, type NetworkApi } from '../runtime/api.ts';
import { runGateway, type RunningGateway } from './gateway/index.ts';
import { httpProbe, tcpProbe } from './gateway/probe.ts';
import { HostRegistry } from './hosts/registry.ts';
import { HostScheduler } from './hosts/scheduler.ts';
import { MigrationManager } from './migrations/manager.ts';
import type { Host } from '../crds/index.ts';

export interface ControllerOptions {
  manifestsDir: string;
  stateDir: string;
  hv: HypervisorApi;
  allowPaths?: string[];
  clock?: Clock;
  timing?: Timing;
  hostName?: string;
  /** enqueue every Domain this often (ms; default 60 s) */
  resyncMs?: number;
  /** reconcile workers (default 4); a key is never reconciled twice at once */
  concurrency?: number;
  /** the manifest watch (default: 10 ms debounce, 25 ms write stability; partial writes are re-read anyway) */
  watch?: WatchOptions;
  /** keep each domain's console in <state-dir>/logs (default true) */
  recordConsoles?: boolean;
  /** diagnostics (one line each) */
  log?: (line: string) => void;
  /** the local host's TCP agent, when it has one (up --host-listen): domains can migrate to it */
  localTarget?: MigrationTarget;
  /** the local host's event stream broke (the host died or restarted) */
  onHostLost?: (err: unknown) => void;
  /** each host's heartbeat period (ms, default 5 s) */
  heartbeatMs?: number;
  /**
   * Run the gateway onto the guests' segment (DESIGN.md §5): it forwards the declared
   * interfaces' ports from 127.0.0.1 and runs TCP/HTTP readiness probes. Default: on when the
   * hypervisor offers an uplink.
   */
  gateway?: boolean;
}

const LOCAL = 'local';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type DomainWatcher = (type: WatchEventType, obj: Domain) => void;

export interface ControllerMetrics {
  reconciles: number;
  reconcileErrors: number;
  reconcileSeconds: { sum: number; count: number };
  queue: ReturnType<WorkQueue['metrics']>;
  domains: number;
}

export class Controller {
  readonly clock: Clock;
  private readonly gw: RunningGateway | undefined;
  readonly queue: WorkQueue;
  readonly store: StateStore;
  readonly desired: DesiredState;
  readonly observed: ObservedDomains;
  readonly consoles: ConsoleFollowers;
  readonly reconciler: DomainReconciler;
  /** every host: `local` and the declared Hosts (controller/hosts) */
  readonly hosts: HostRegistry;
  /** live migrations between hosts (`xenoform migrate`) */
  readonly migrations: MigrationManager;
  private watcher?: ManifestWatcher;
  private workers?: Promise<void>;
  private resyncTimer?: () => void;
  private stopped = false;
  private sourceChain: Promise<unknown> = Promise.resolve();
  private watchers = new Set<DomainWatcher>();
  private known = new Set<string>();
  /** names watchers have seen (ADDED once, then MODIFIED) */
  private reported = new Set<string>();
  private lastSent = new Map<string, string>();
  private lastHostSent = new Map<string, string>();
  private hostWatchers = new Set<(type: WatchEventType, obj: Host) => void>();
  private stats = { reconciles: 0, errors: 0, seconds: 0 };
  private readonly log: (line: string) => void;

  constructor(readonly opts: ControllerOptions) {
    this.clock = opts.clock ?? realClock;
    this.log = opts.log ?? (() => undefined);
    this.queue = new WorkQueue(this.clock);
    this.store = new StateStore(opts.stateDir, (m) => this.log(m));
    this.desired = new DesiredState({ dir: opts.manifestsDir, allowPaths: opts.allowPaths });
    this.observed = new ObservedDomains(opts.hv, () => this.clock.now(), 1000);
    this.hosts = new HostRegistry({
      local: opts.hv, localObserved: this.observed, localTarget: opts.localTarget, clock: this.clock, heartbeatMs: opts.heartbeatMs, log: (m) => this.log(m),
      // host events only enqueue keys (and keep each host's xl list cache current)
      onDomainEvent: (_host, ev) => { if (this.known.has(ev.name) || this.desired.get(ev.name)) this.enqueue(ev.name); },
      // whatever happened while we were not listening: look at everything again
      onResync: () => { for (const name of this.known) this.enqueue(name); },
      onLocalLost: (e) => this.opts.onHostLost?.(e),
      // every host's switch joins the gateway's segment (DESIGN.md §5)
      onConnected: (host, hv) => {
        const net = hv as Partial<NetworkApi>;
        if (host !== LOCAL && this.gw && typeof net.uplink === 'function') this.gw.attach(host, hv as unknown as NetworkApi);
      },
      onDisconnected: (host) => { if (host !== LOCAL) this.gw?.detach(host); },
      onHostChange: (host) => this.hostChanged(host),
    });
    this.consoles = new ConsoleFollowers((name) => this.hvForDomain(name), {
      logsDir: this.store.logsDir, record: opts.recordConsoles, now: () => this.clock.now(),
      onChange: (name) => this.enqueue(name), report: (m) => this.log(m),
    });
    const uplink = (opts.hv as Partial<NetworkApi>).uplink;
    if (opts.gateway !== false && typeof uplink === 'function') {
      this.gw = runGateway(opts.hv as unknown as NetworkApi, { hostName: LOCAL, log: (m) => this.log(m) });
    }
    const node = this.gw?.gateway.node;
    this.migrations = new MigrationManager({
      hosts: this.hosts, stateDir: opts.stateDir, now: () => new Date(this.clock.now()),
      enqueue: (name) => this.enqueue(name), log: (m) => this.log(m),
      event: (name, type, reason, message) => void this.store.events.record('Domain', name, [{ type, reason, message }], new Date(this.clock.now())).catch(() => undefined),
    });
    this.reconciler = new DomainReconciler({
      migrations: this.migrations,
      hv: opts.hv, store: this.store, desired: this.desired, observed: this.observed, consoles: this.consoles,
      clock: this.clock, timing: opts.timing ?? DEFAULT_TIMING, hostName: opts.hostName ?? LOCAL, hosts: new HostScheduler(this.hosts),
      onChange: (name, obj) => this.changed(name, obj),
      ...(node ? { probe: (kind, ip, port, path, timeoutMs) => (kind === 'tcp' ? tcpProbe(node, ip, port, timeoutMs) : httpProbe(node, ip, port, path, timeoutMs)) } : {}),
    });
  }

  /** The gateway's forwards follow the declared interfaces' ports (like a published port). */
  private async syncForwards(): Promise<void> {
    const gw = this.gw?.gateway;
    if (!gw) return;
    const want = new Map<number, { mac: string; port: number; name: string }>();
    for (const name of this.desired.names()) {
      const spec = this.desired.get(name)?.object?.object?.spec as { interfaces?: { mac?: string; ports?: { host: number; guest: number }[] }[] } | undefined;
      for (const n of spec?.interfaces ?? []) for (const p of n.ports ?? []) if (n.mac) want.set(p.host, { mac: n.mac, port: p.guest, name });
    }
    for (const f of gw.list()) {
      const w = want.get(f.hostPort);
      if (!w || ipForMac(w.mac) !== f.guestIp || w.port !== f.guestPort) await gw.unforward(f.hostPort).catch(() => undefined);
    }
    const have = new Set(gw.list().map((f) => f.hostPort));
    for (const [hostPort, w] of want) {
      if (have.has(hostPort)) continue;
      try {
        await gw.forward({ hostPort, guest: { mac: w.mac, port: w.port } });
      } catch (e) {
        this.log(`gateway: cannot forward 127.0.0.1:${hostPort} for Domain ${w.name}: ${(e as Error).message}`);
      }
    }
  }

  /** What the gateway forwards now (for the API and `get -o wide`). */
  forwards(): { hostPort: number; guestIp: string; guestPort: number; active: number; total: number }[] {
    return this.gw?.gateway.list() ?? [];
  }

  /** Loads the state dir, reads the manifests, starts watching and reconciling. */
  async start(): Promise<void> {
    await this.store.events.load();
    await this.store.loadIntents();
    const records = await this.reconciler.loadAll();
    // a manifest broken while the controller was away still holds its domains (last valid spec)
    const byFile = new Map<string, ManifestObject[]>();
    for (const r of records) {
      if (!r.lastValid) continue;
      const o: ManifestObject = { kind: 'Domain', name: r.name, object: r.lastValid.object, file: r.lastValid.file, line: 0, col: 0, doc: 0, files: { 'spec.kernel': r.lastValid.kernel }, claims: [] };
      byFile.set(o.file, [...(byFile.get(o.file) ?? []), o]);
    }
    for (const [file, objs] of byFile) this.desired.seed(file, objs);
    for (const r of records) this.known.add(r.name);
    // migrations a previous controller left running are settled by their Domains' passes
    for (const name of this.migrations.load()) this.known.add(name);
    // what ran where before the restart still holds its memory there (placement counts it)
    for (const r of records) {
      const mem = (r.lastValid?.object.spec as { memory?: number } | undefined)?.memory;
      if (r.status?.host && r.status.domid !== undefined && mem !== undefined) this.hosts.place(r.name, r.status.host, mem);
    }

    this.watcher = watchManifests(this.opts.manifestsDir, (c) => {
      this.sourceChain = this.sourceChain
        .then(async () => this.afterSource(await this.desired.update(c.changed, c.removed)))
        .catch((e) => this.log(`manifests: ${(e as Error).message}`));
    }, { debounceMs: 10, stabilityMs: 25, ...this.opts.watch, onError: (e) => this.log(`watch: ${e.message}`) });
    await this.watcher.ready;
    this.sourceChain = this.sourceChain.then(async () => this.afterSource(await this.desired.loadAll()));
    await this.sourceChain;
    for (const name of this.known) this.enqueue(name);

    await this.hosts.start();
    this.hosts.sync(this.desired.hosts());
    this.workers = runWorkers(this.queue, (key) => this.reconcileKey(key), {
      concurrency: this.opts.concurrency ?? 4,
      onError: (key, e, retry) => this.log(`reconcile ${key}: ${(e as Error).message}${retry !== undefined ? ` (retry in ${Math.round(retry)} ms)` : ''}`),
    });
    const resync = () => {
      if (this.stopped) return;
      for (const name of this.known) this.enqueue(name);
      this.resyncTimer = this.clock.setTimer(this.opts.resyncMs ?? 60_000, resync);
    };
    this.resyncTimer = this.clock.setTimer(this.opts.resyncMs ?? 60_000, resync);
  }

  private afterSource(names: string[]): void {
    for (const d of this.desired.problems()) this.log(formatDiagnostic(d));
    for (const name of this.desired.names()) this.known.add(name);
    for (const name of names) this.enqueue(name);
    this.hosts.sync(this.desired.hosts());
    void this.syncForwards();
  }

  private async reconcileKey(key: string) {
    const t0 = performance.now();
    this.stats.reconciles++;
    try {
      return await this.reconciler.reconcile(key);
    } catch (e) {
      this.stats.errors++;
      if (errorCode(e) === 'EHOSTDOWN') for (const h of this.hosts.names()) this.hosts.observedFor(h)?.invalidate();
      throw e;
    } finally {
      this.stats.seconds += (performance.now() - t0) / 1000;
    }
  }

  enqueue(name: string): void {
    this.known.add(name);
    this.queue.add(keyFor('Domain', name));
  }

  /** The API of the host a Domain runs on (or is placed on); the local host when it has none yet. */
  hvForDomain(name: string): HypervisorApi {
    const host = this.reconciler.object(name)?.status?.host ?? this.hosts.placementOf(name)?.host;
    return (host !== undefined ? this.hosts.hvFor(host) : undefined) ?? this.opts.hv;
  }

  private hostChanged(name: string): void {
    const obj = this.hosts.host(name);
    // a heartbeat alone is no change; what it found (domains, free memory) is
    const text = obj ? JSON.stringify({ ...obj, status: { ...obj.status, lastHeartbeat: undefined } }) : '';
    if (this.lastHostSent.get(name) === text) return;
    const existed = this.lastHostSent.has(name);
    if (obj) this.lastHostSent.set(name, text);
    else this.lastHostSent.delete(name);
    for (const w of this.hostWatchers) {
      try {
        w(obj ? (existed ? 'MODIFIED' : 'ADDED') : 'DELETED', obj ?? { apiVersion: 'xenoform.dev/v1alpha1', kind: 'Host', metadata: { name }, spec: {} });
      } catch { /* a watcher's problem is its own */ }
    }
  }

  /** Every Host, `local` first. */
  listHosts(): Host[] {
    return this.hosts.list();
  }

  getHost(name: string): Host | undefined {
    return this.hosts.host(name);
  }

  watchHosts(fn: (type: WatchEventType, obj: Host) => void): () => void {
    this.hostWatchers.add(fn);
    return () => this.hostWatchers.delete(fn);
  }

  private changed(name: string, obj: Domain | undefined): void {
    const existed = this.reported.has(name);
    if (obj) {
      // watchers hear of changes only, as a resourceVersion would tell them
      const text = JSON.stringify(obj);
      if (this.lastSent.get(name) === text) return;
      this.lastSent.set(name, text);
      this.reported.add(name);
    } else {
      this.known.delete(name);
      this.reported.delete(name);
      this.lastSent.delete(name);
    }
    for (const w of this.watchers) {
      try {
        if (obj) w(existed ? 'MODIFIED' : 'ADDED', obj);
        else w('DELETED', { apiVersion: 'xenoform.dev/v1alpha1', kind: 'Domain', metadata: { name }, spec: { kernel: '' } });
      } catch { /* a watcher's problem is its own */ }
    }
  }

  // ---- reads for the API ----------------------------------------------------------------------

  /** Every Domain: declared ones and those still being shut down after their manifest went. */
  list(): Domain[] {
    const names = new Set([...this.desired.names(), ...this.reconciler.recordedNames()]);
    return [...names].sort().map((n) => this.get(n)).filter((d): d is Domain => d !== undefined);
  }

  get(name: string): Domain | undefined {
    const obj = this.reconciler.object(name);
    if (obj) return obj;
    const entry = this.desired.get(name);
    if (!entry) return undefined;
    // declared but not reconciled yet, or never valid
    const src = entry.object?.object;
    return {
      apiVersion: 'xenoform.dev/v1alpha1', kind: 'Domain', metadata: src?.metadata ?? { name }, spec: src?.spec ?? { kernel: '' },
      status: { phase: 'Pending', ...(entry.errors.length ? { conditions: [{ type: 'InvalidSpec', status: 'True', reason: entry.errors[0]!.code, message: formatDiagnostic(entry.errors[0]!) }] } : {}) },
    };
  }

  /** The kernel path a Domain's spec resolves to (for diff). */
  resolvedKernel(name: string): string | undefined {
    return this.desired.get(name)?.object?.files['spec.kernel'] ?? this.reconciler.lastValidKernel(name);
  }

  watch(fn: DomainWatcher): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  metrics(): ControllerMetrics {
    return {
      reconciles: this.stats.reconciles, reconcileErrors: this.stats.errors,
      reconcileSeconds: { sum: this.stats.seconds, count: this.stats.reconciles },
      queue: this.queue.metrics(), domains: this.list().length,
    };
  }

  /** Resolves once nothing is queued or being reconciled (tests, benches). */
  async settled(timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      await this.sourceChain;
      if (this.queue.length === 0 && this.queue.metrics().processing === 0) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.resyncTimer?.();
    this.hosts.stop();
    await this.watcher?.close();
    this.queue.shutDown();
    await this.workers;
    this.consoles.stopAll();
    await this.gw?.stop();
  }
}
