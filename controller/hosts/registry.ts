// The host registry: one connection per Host (../shared/DESIGN.md §2 "Processes", §6). The
// implicit `local` host is the one `up` started or found (its unix socket); every declared Host
// is a `xenoform host --listen` agent reached with RemoteHypervisor over TCP and its bearer token.
// Per host: heartbeats (info() every few seconds) make its status (Kubernetes' node heartbeat and
// NodeReady condition), its event stream feeds the work queue (and an `xl list` cache,
// ObservedDomains), and both reconnect on failure. The registry also keeps the placements —
// which host each Domain was put on and how much memory it takes there — so that placement
// never gives the same MiB twice, even to domains reconciled at once.
import { readFile } from 'node:fs/promises';
import type { Host, HostPhase } from '../../crds/index.ts';
import { LOCAL_HOST } from '../../crds/index.ts';
import type { MigrationTarget, NetworkApi } from '../../runtime/api.ts';
import { RemoteHypervisor } from '../../runtime/client.ts';
import { errorCode, ObservedDomains, type DomainEvent, type DomainRow, type HostInfo, type HypervisorApi } from '../hypervisor.ts';
import type { Clock } from '../queue/index.ts';
import type { ManifestObject } from '../source/index.ts';
import type { HostCapacity } from './placement.ts';

export interface HostRegistryOptions {
  /** the local host's handle (`up` owns it: the registry never closes it) */
  local: HypervisorApi;
  /** the local host's TCP agent, if it serves one (a migration target then) */
  localTarget?: MigrationTarget;
  /** the local host's `xl list` cache, if the caller keeps one already */
  localObserved?: ObservedDomains;
  clock: Clock;
  /** info() this often per host (default 5 s, as kubelet's node status updates are seconds apart) */
  heartbeatMs?: number;
  /** a heartbeat not answered within this long fails (default 2 × heartbeatMs, at least 1 s) */
  heartbeatTimeoutMs?: number;
  /** the `xl list` cache's age limit per host (ms, default 1000) */
  listMaxAgeMs?: number;
  /** a handle on a remote host (default: RemoteHypervisor on http://ADDRESS with the token) */
  connect?: (address: string, token: string) => HypervisorApi;
  /** the token in a file, trimmed (default: fs) */
  readToken?: (file: string) => Promise<string>;
  /** a domain event from `host` */
  onDomainEvent?: (host: string, ev: DomainEvent) => void;
  /** `host`'s events were (re)attached or lost: whatever happened meanwhile, look again */
  onResync?: (host: string) => void;
  /** a host answered for the first time on a (new) handle: e.g. the gateway joins its switch */
  onConnected?: (host: string, hv: HypervisorApi) => void;
  /** a host's handle is gone (Host deleted, its address or token replaced) */
  onDisconnected?: (host: string) => void;
  /** a Host's status changed (API watchers) */
  onHostChange?: (host: string) => void;
  /** the local host's event stream broke (`up` restarts a host it started) */
  onLocalLost?: (err: unknown) => void;
  log?: (line: string) => void;
}

interface ReadyCondition {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  since: number;
}

interface Entry {
  name: string;
  local: boolean;
  /** the declaring manifest (absent for local) */
  object?: ManifestObject;
  address?: string;
  tokenFile?: string;
  token?: string;
  capacity: { memoryMiB?: number; cpus?: number };
  created: number;
  hv?: HypervisorApi;
  observed?: ObservedDomains;
  /** the handle the last onConnected was for */
  announced?: HypervisorApi;
  ready: ReadyCondition;
  info?: HostInfo;
  lastHeartbeat?: number;
  stream?: { close(): void };
  cancelBeat?: () => void;
  /** a heartbeat is armed to come early (after domain events) */
  soon?: boolean;
  closed: boolean;
}

/** How soon after a domain event the host's figures are refreshed (events come in bursts). */
const SOON_MS = 250;

/** Where a Domain was placed and what it takes there. */
export interface Placement {
  host: string;
  memoryMiB: number;
}

const defaultReadToken = async (file: string) => (await readFile(file, 'utf8')).trim();

export class HostRegistry {
  private entries = new Map<string, Entry>();
  private placements = new Map<string, Placement>();
  private readonly log: (line: string) => void;
  private readonly heartbeatMs: number;
  private stopped = false;

  constructor(private readonly o: HostRegistryOptions) {
    this.log = o.log ?? (() => undefined);
    this.heartbeatMs = o.heartbeatMs ?? 5000;
  }

  /** Starts following the local host; resolves after its first heartbeat. */
  async start(): Promise<void> {
    const e = this.newEntry(LOCAL_HOST, true);
    e.hv = this.o.local;
    if (this.o.localTarget) Object.assign(e, { address: this.o.localTarget.address, token: this.o.localTarget.token });
    e.observed = this.o.localObserved ?? new ObservedDomains(e.hv, () => this.o.clock.now(), this.o.listMaxAgeMs ?? 1000);
    this.entries.set(LOCAL_HOST, e);
    this.follow(e, e.hv);
    await this.beat(e);
  }

  private newEntry(name: string, local: boolean): Entry {
    return { name, local, capacity: {}, created: this.o.clock.now(), ready: { status: 'Unknown', reason: 'Connecting', message: 'no heartbeat yet', since: this.o.clock.now() }, closed: false };
  }

  /** The declared Hosts now (valid manifests): new ones connect, changed ones reconnect, gone ones close. */
  sync(declared: ManifestObject[]): void {
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const obj of declared) {
      if (obj.name === LOCAL_HOST) continue; // refused by the schema's rules already
      seen.add(obj.name);
      const spec = obj.object.spec as { address: string; capacity?: { memoryMiB?: number; cpus?: number } };
      const tokenFile = obj.files['spec.tokenFile']!;
      let e = this.entries.get(obj.name);
      if (e && (e.address !== spec.address || e.tokenFile !== tokenFile)) {
        this.close(e);
        e = undefined;
      }
      if (!e) {
        e = this.newEntry(obj.name, false);
        e.address = spec.address;
        e.tokenFile = tokenFile;
        this.entries.set(obj.name, e);
        e.object = obj;
        e.capacity = { ...spec.capacity };
        void this.beat(e);
      } else {
        e.object = obj;
        e.capacity = { ...spec.capacity };
      }
      this.o.onHostChange?.(obj.name);
    }
    for (const e of [...this.entries.values()]) {
      if (e.local || seen.has(e.name)) continue;
      this.close(e);
      this.entries.delete(e.name);
      this.o.onHostChange?.(e.name);
    }
  }

  private close(e: Entry): void {
    e.closed = true;
    e.cancelBeat?.();
    e.stream?.close();
    if (e.announced) this.o.onDisconnected?.(e.name);
    if (!e.local) void e.hv?.close().catch(() => undefined);
  }

  /** (Re)opens a remote host's handle with the token its file holds now. */
  private async connect(e: Entry): Promise<void> {
    let token: string;
    try {
      token = await (this.o.readToken ?? defaultReadToken)(e.tokenFile!);
    } catch (err) {
      throw Object.assign(new Error(`cannot read token file ${e.tokenFile}: ${(err as Error).message}`), { code: 'TokenUnreadable' });
    }
    if (e.closed) return;
    if (e.hv && token === e.token) return;
    if (e.hv) {
      e.stream?.close();
      if (e.announced) this.o.onDisconnected?.(e.name);
      e.announced = undefined;
      void e.hv.close().catch(() => undefined);
    }
    e.token = token;
    const hv = (this.o.connect ?? ((address, t) => new RemoteHypervisor({ url: `http://${address}`, token: t })))(e.address!, token);
    e.hv = hv;
    e.observed = new ObservedDomains(hv, () => this.o.clock.now(), this.o.listMaxAgeMs ?? 1000);
  }

  /** One heartbeat, then the next one armed. */
  private async beat(e: Entry): Promise<void> {
    if (e.closed || this.stopped) return;
    let next: ReadyCondition;
    try {
      if (!e.local && (!e.hv || e.ready.reason === 'Unauthorized' || e.ready.reason === 'TokenUnreadable')) await this.connect(e);
      const info = await this.withTimeout(e.hv!.info());
      if (e.closed) return;
      e.info = info;
      e.lastHeartbeat = this.o.clock.now();
      next = { status: 'True', reason: 'HostReady', message: `answers heartbeats (Xen ${info.xenVersion}, Xenoform ${info.version})`, since: 0 };
      if (e.announced !== e.hv) {
        // a remote host's events are followed once it answers (a refused token would only spin)
        e.announced = e.hv;
        if (!e.local) this.follow(e, e.hv!);
        this.o.onConnected?.(e.name, e.hv!);
      }
    } catch (err) {
      if (e.closed) return;
      next = notReady(e, err);
    }
    const changed = next.status !== e.ready.status || next.reason !== e.ready.reason;
    if (changed) {
      next.since = this.o.clock.now();
      if (next.status !== 'True') this.log(`host ${e.name}: NotReady (${next.reason}): ${next.message}`);
      else if (e.ready.status !== 'Unknown' || !e.local) this.log(`host ${e.name}: Ready (${next.message})`);
      if (next.status === 'True') this.o.onResync?.(e.name);
    } else {
      next.since = e.ready.since;
    }
    e.ready = next;
    // watchers hear of changes only (the controller compares the objects, heartbeat time aside)
    this.o.onHostChange?.(e.name);
    // one timer per host: an early beat may be armed already (or be running beside this one)
    if (!e.cancelBeat) this.arm(e, this.heartbeatMs);
  }

  /** A domain came or went: the host's figures (domains, free memory) are looked at again soon. */
  private beatSoon(e: Entry): void {
    if (e.soon || e.closed || this.stopped) return;
    e.soon = true;
    this.arm(e, SOON_MS);
  }

  private arm(e: Entry, ms: number): void {
    if (e.closed || this.stopped) return;
    e.cancelBeat?.();
    e.cancelBeat = this.o.clock.setTimer(ms, () => {
      e.cancelBeat = undefined;
      e.soon = false;
      void this.beat(e);
    });
  }

  private withTimeout<T>(p: Promise<T>): Promise<T> {
    const ms = this.o.heartbeatTimeoutMs ?? Math.max(1000, 2 * this.heartbeatMs);
    return new Promise<T>((resolve, reject) => {
      const cancel = this.o.clock.setTimer(ms, () => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'ETIMEDOUT' })));
      p.then((v) => { cancel(); resolve(v); }, (err) => { cancel(); reject(err); });
    });
  }

  /** A host's domain events → its `xl list` cache and the work queue; reattached with backoff. */
  private follow(e: Entry, hv: HypervisorApi): void {
    let delay = 100;
    const live = () => !e.closed && !this.stopped && e.hv === hv;
    const loop = async () => {
      while (live()) {
        const stream = hv.events();
        e.stream = stream;
        try {
          await stream.ready;
          e.observed?.invalidate();
          this.o.onResync?.(e.name);
          delay = 100;
          for await (const ev of stream as AsyncIterable<DomainEvent>) {
            e.observed?.apply(ev);
            this.o.onDomainEvent?.(e.name, ev);
            this.beatSoon(e);
          }
          if (!live()) return;
          throw new Error('the host closed its event stream');
        } catch (err) {
          if (!live()) return;
          e.observed?.invalidate();
          if (e.local) this.o.onLocalLost?.(err);
          this.log(`host ${e.name} events: ${(err as Error).message}; reconnecting`);
          this.o.onResync?.(e.name);
          // real time, as the socket's own retry would be: a fake clock must not stall reconnection
          await new Promise<void>((r) => setTimeout(r, delay).unref?.());
          delay = Math.min(delay * 2, 2000);
        }
      }
    };
    void loop();
  }

  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) this.close(e);
  }

  // ---- what the rest of the controller asks ---------------------------------------------------

  /** Every host's name, `local` first. */
  names(): string[] {
    return [...this.entries.keys()].sort((a, b) => (a === LOCAL_HOST ? -1 : b === LOCAL_HOST ? 1 : a < b ? -1 : a > b ? 1 : 0));
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The Hypervisor API of a host (undefined: unknown, or not connected yet). */
  hvFor(name: string): HypervisorApi | undefined {
    return this.entries.get(name)?.hv;
  }

  /** The `xl list` cache of a host. */
  observedFor(name: string): ObservedDomains | undefined {
    return this.entries.get(name)?.observed;
  }

  /** Hosts not heard from yet (connecting): what they run is not known. */
  connecting(): string[] {
    return this.names().filter((n) => this.entries.get(n)!.ready.status === 'Unknown');
  }

  /** Ready: the last heartbeat was answered. */
  isReady(name: string): boolean {
    return this.entries.get(name)?.ready.status === 'True';
  }

  /** Why a host is not Ready (reason, message), for a Domain's status. */
  readiness(name: string): { status: string; reason: string; message: string } | undefined {
    const e = this.entries.get(name);
    return e && { status: e.ready.status, reason: e.ready.reason, message: e.ready.message };
  }

  /** Where a live migration to `name` goes: its agent's address and token (undefined for local or unknown). */
  target(name: string): MigrationTarget | undefined {
    const e = this.entries.get(name);
    return e?.address && e.token !== undefined ? { address: e.address, token: e.token } : undefined;
  }

  /** A host's switch, for the gateway (RemoteHypervisor and the local handle offer uplink()). */
  networkFor(name: string): NetworkApi | undefined {
    const hv = this.hvFor(name) as Partial<NetworkApi> | undefined;
    return typeof hv?.uplink === 'function' ? (hv as unknown as NetworkApi) : undefined;
  }

  /**
   * Where the domain `name` runs now: each Ready host's `xl list` (relisted when older than its
   * age limit). `unknown` names the hosts that could not be asked: the domain may be there.
   */
  async locate(name: string): Promise<{ found?: { host: string; row: DomainRow }; unknown: string[] }> {
    const unknown: string[] = [];
    let found: { host: string; row: DomainRow } | undefined;
    await Promise.all(this.names().map(async (h) => {
      const e = this.entries.get(h)!;
      if (!e.observed || e.ready.status !== 'True') { unknown.push(h); return; }
      try {
        await e.observed.fresh();
      } catch {
        unknown.push(h);
        return;
      }
      const row = e.observed.get(name);
      if (row && (!found || h === LOCAL_HOST)) found = { host: h, row };
    }));
    return { found, unknown: unknown.sort() };
  }

  /** `xl list` of every host (a host that cannot answer gives its error instead). */
  async listAll(): Promise<{ host: string; rows?: DomainRow[]; error?: string }[]> {
    return Promise.all(this.names().map(async (host) => {
      const hv = this.hvFor(host);
      if (!hv) return { host, error: 'not connected' };
      try {
        return { host, rows: await hv.list() };
      } catch (err) {
        return { host, error: (err as Error).message };
      }
    }));
  }

  // ---- placements -----------------------------------------------------------------------------

  /** Records that Domain `domain` is placed on `host`, taking `memoryMiB` there. */
  place(domain: string, host: string, memoryMiB: number): void {
    const before = this.placements.get(domain);
    if (before?.host === host && before.memoryMiB === memoryMiB) return;
    this.placements.set(domain, { host, memoryMiB });
    if (before && before.host !== host) this.o.onHostChange?.(before.host);
    this.o.onHostChange?.(host);
  }

  /** The Domain no longer holds memory anywhere (stopped, deleted). */
  release(domain: string): void {
    const before = this.placements.get(domain);
    if (!before) return;
    this.placements.delete(domain);
    this.o.onHostChange?.(before.host);
  }

  placementOf(domain: string): Placement | undefined {
    return this.placements.get(domain);
  }

  /** What placement weighs, per host (placeDomain's input); `except` a Domain being placed again. */
  capacities(except?: string): HostCapacity[] {
    const own = except !== undefined ? this.placements.get(except) : undefined;
    return this.names().map((name) => {
      const e = this.entries.get(name)!;
      const alloc = this.allocated(name);
      if (own?.host === name) alloc.memoryMiB -= own.memoryMiB;
      return {
        name, ready: e.ready.status === 'True',
        capacityMiB: e.capacity.memoryMiB ?? e.info?.memoryTotalMiB ?? 0,
        allocatedMiB: alloc.memoryMiB,
        ...(e.info ? { reportedFreeMiB: e.info.memoryFreeMiB } : {}),
      };
    });
  }

  private allocated(host: string): { memoryMiB: number; domains: number } {
    let memoryMiB = 0;
    let domains = 0;
    for (const p of this.placements.values()) if (p.host === host) { memoryMiB += p.memoryMiB; domains++; }
    return { memoryMiB, domains };
  }

  // ---- Host objects for the API ---------------------------------------------------------------

  host(name: string): Host | undefined {
    const e = this.entries.get(name);
    if (!e) return undefined;
    const src = e.object?.object as Host | undefined;
    const phase: HostPhase = e.ready.status === 'True' ? 'Ready' : e.ready.status === 'False' ? 'NotReady' : 'Unknown';
    const i = e.info;
    return {
      apiVersion: 'xenoform.dev/v1alpha1',
      kind: 'Host',
      metadata: { ...(src?.metadata ?? {}), name, creationTimestamp: new Date(e.created).toISOString() },
      spec: src?.spec ?? {},
      status: {
        phase,
        conditions: [{ type: 'Ready', status: e.ready.status, reason: e.ready.reason, message: e.ready.message, lastTransitionTime: new Date(e.ready.since).toISOString() }],
        ...(i ? { info: { version: i.version, xenVersion: i.xenVersion, memoryTotalMiB: i.memoryTotalMiB, memoryFreeMiB: i.memoryFreeMiB, pcpus: i.pcpus, domains: i.domains } } : {}),
        capacity: { memoryMiB: e.capacity.memoryMiB ?? i?.memoryTotalMiB ?? 0, cpus: e.capacity.cpus ?? i?.pcpus ?? 0 },
        allocated: this.allocated(name),
        ...(e.lastHeartbeat !== undefined ? { lastHeartbeat: new Date(e.lastHeartbeat).toISOString() } : {}),
      },
    };
  }

  list(): Host[] {
    return this.names().map((n) => this.host(n)!);
  }
}

/** The Ready condition of a host whose heartbeat failed: why, in Kubernetes' CamelCase. */
function notReady(e: Entry, err: unknown): ReadyCondition {
  const code = errorCode(err);
  const msg = (err as Error)?.message ?? String(err);
  if (code === 'TokenUnreadable') return { status: 'False', reason: 'TokenUnreadable', message: msg, since: 0 };
  if (code === 'EACCES') return { status: 'False', reason: 'Unauthorized', message: `the host at ${e.address} refused the token from ${e.tokenFile}`, since: 0 };
  if (code === 'ETIMEDOUT') return { status: 'False', reason: 'Unresponsive', message: `the host${e.address ? ` at ${e.address}` : ''} did not answer: ${msg}`, since: 0 };
  if (code === 'EHOSTDOWN') return { status: 'False', reason: 'Unreachable', message: msg, since: 0 };
  return { status: 'False', reason: 'HeartbeatFailed', message: msg, since: 0 };
}
