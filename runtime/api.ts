/**
 * The Hypervisor API: the one public surface of runtime/ (../shared/DESIGN.md §2). The
 * controller and the CLI reach a host only through `HypervisorApi` — in process through
 * `LocalHypervisor` (a wrapper around a `Host`), or across a socket through `RemoteHypervisor`
 * (client.ts), which speaks to `server.ts`. Both behave the same, errors included: every
 * failure is a `HypervisorError` with a stable `code`, never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Host, HostError, type DomainInfo as HostDomainInfo, type HostOptions } from './host.ts';
import { XEN_MAJOR, XEN_MINOR } from './hv/hc/version.ts';
import { validateInterfaces, type FrameLink, type InterfaceSpec, type VifInfo } from './devices/net/index.ts';

export type { FrameLink, InterfaceSpec, PortMapping, VifInfo, VifCounters } from './devices/net/index.ts';
/** The segment's addressing (devices/net/README.md): a guest's IP is its MAC's last three octets. */
export { ipForMac, GATEWAY_IP, GATEWAY_MAC, SEGMENT_NETMASK } from './devices/net/index.ts';
import { blockDevicesOf, DiskRefusedError, type DiskSpec } from './devices/block/index.ts';

// ---- types ------------------------------------------------------------------------------------

export type ShutdownRequest = 'poweroff' | 'reboot' | 'suspend';

/** The host as `xl info` shows it. */
export interface HostInfo {
  /** Xenoform's version (package.json) */
  version: string;
  /** The Xen ABI version the hypervisor implements, e.g. "4.19" */
  xenVersion: string;
  memoryTotalMiB: number;
  memoryFreeMiB: number;
  pcpus: number;
  clock: 'wall' | 'virtual';
  /** host system time since it started, seconds */
  uptimeS: number;
  /** guest domains (Domain-0 not counted) */
  domains: number;
  /** process id of the host (Domain-0) */
  pid: number;
}

/** One row of `xl list`. */
export interface DomainRow {
  name: string;
  id: number;
  memoryMiB: number;
  vcpus: number;
  /** xl's six letters r b p s c d, e.g. "-b----" */
  state: string;
  /** CPU time, seconds */
  cpuTimeS: number;
}

/** What the host reports about one domain. */
export interface DomainInfo {
  domid: number;
  name: string;
  state: string;
  memoryKiB: number;
  maxMemoryKiB: number;
  vcpus: number;
  cpuTimeNs: number;
  /** SCHEDOP_shutdown reason once shut down: poweroff, reboot, suspend, crash, watchdog, soft_reset */
  shutdownReason?: string;
  /** why the hypervisor crashed it, when it did */
  crashReason?: string;
  weight: number;
  cap: number;
}

export interface CreateSpec {
  name: string;
  /** a path on the host (read by the host) or the image bytes */
  kernel: string | Uint8Array;
  memoryMiB: number;
  maxMemoryMiB?: number;
  vcpus?: number;
  maxVcpus?: number;
  cmdline?: string;
  /** credit scheduler weight, 1–65535 (default 256) */
  weight?: number;
  /** percent of one CPU, 0 = no cap */
  cap?: number;
  /** create paused (xl create -p) */
  paused?: boolean;
  /** network interfaces: [{mac: '00:16:3e:xx:xx:xx', ports?: [{host, guest}]}] (the gateway forwards the ports) */
  interfaces?: InterfaceSpec[];
  /** disk images served to the guest: [{source, target: 'xvda', mode: 'rw'|'ro', sizeMiB?}] */
  disks?: DiskSpec[];
}

/** xentop's columns for one domain (I/O counters stay 0 until devices exist). */
export interface DomainStats {
  domid: number;
  name: string;
  state: string;
  cpuNs: number;
  memoryKiB: number;
  maxMemoryKiB: number;
  vcpus: number;
  nets: number;
  netTxKiB: number;
  netRxKiB: number;
  vbds: number;
  vbdOo: number;
  vbdRd: number;
  vbdWr: number;
  vbdRsect: number;
  vbdWsect: number;
  /** each interface: MAC, IP, backend state, counters (the domain's view: tx = sent) */
  vifs?: VifInfo[];
}

export interface HostStats {
  /** host system time of the sample, ns (two samples give CPU%) */
  timeNs: number;
  /** Domain-0 first */
  domains: DomainStats[];
}

export type DomainEventType = 'created' | 'state' | 'shutdown' | 'crashed' | 'destroyed';

/** A domain state change. */
export interface DomainEvent {
  type: DomainEventType;
  domid: number;
  name: string;
  state: string;
  /** shutdown: the SCHEDOP_shutdown reason; crashed: why */
  reason?: string;
  /** host system time, ns */
  timeNs: number;
  /** wall time, ISO 8601 */
  time: string;
  info: DomainInfo;
}

export interface ConsoleOptions {
  /** keep streaming live output until the domain is destroyed (or the stream closed) */
  follow?: boolean;
  /** start at this byte of the console's whole output (default 0: all that is still held) */
  since?: number;
}

/** An async stream that can be closed early; `ready` settles once it is attached. */
export interface Stream<T> extends AsyncIterable<T> {
  readonly ready: Promise<void>;
  close(): void;
}

export interface ConsoleStream extends Stream<Uint8Array> {
  /** position (in the console's whole output) of the next byte; exact after `ready` */
  readonly offset: number;
}

export interface ShutdownOptions {
  /** wait until the domain has shut down (or is gone) */
  wait?: boolean;
  /** give up waiting after this long (ETIMEDOUT) */
  timeoutMs?: number;
}

export interface StopHostOptions {
  /** save domains instead of shutting them down (not implemented yet) */
  save?: boolean;
  /** how long domains get to shut down before they are destroyed (default 30 s) */
  graceMs?: number;
}

export interface StopHostResult {
  /** domains that shut down by themselves within the grace period */
  shutdown: number[];
  /** domains destroyed when the grace period ended */
  destroyed: number[];
}

/** The host's switch, for the controller's gateway (DESIGN.md §5): an uplink port carrying Ethernet frames. */
export interface NetworkApi {
  uplink(): Promise<FrameLink>;
}

export interface HypervisorApi {
  info(): Promise<HostInfo>;
  /** `xl list`: Domain-0 first, then every domain */
  list(): Promise<DomainRow[]>;
  /** full information about one domain */
  domain(id: number): Promise<DomainInfo>;
  create(spec: CreateSpec): Promise<DomainInfo>;
  pause(id: number): Promise<DomainInfo>;
  unpause(id: number): Promise<DomainInfo>;
  /** ask the guest to shut down (control/shutdown); `reboot` is shutdown(id, 'reboot') */
  shutdown(id: number, reason: ShutdownRequest, opts?: ShutdownOptions): Promise<DomainInfo>;
  destroy(id: number): Promise<void>;
  /** the balloon target (memory/target), MiB, at most the domain's maximum */
  setMemoryTarget(id: number, mib: number): Promise<DomainInfo>;
  setSched(id: number, params: { weight?: number; cap?: number }): Promise<DomainInfo>;
  /**
   * Read a key of the domain's own xenstore subtree (a path relative to /local/domain/<id>, or
   * absolute inside it): the value, or undefined when the key does not exist. For readiness.
   */
  xenstoreRead(id: number, path: string): Promise<string | undefined>;
  stats(): Promise<HostStats>;
  console(id: number, opts?: ConsoleOptions): ConsoleStream;
  consoleWrite(id: number, bytes: Uint8Array): Promise<void>;
  events(): Stream<DomainEvent>;
  save(id: number, file: string, opts?: { checkpoint?: boolean }): Promise<void>;
  restore(file: string, opts?: { paused?: boolean }): Promise<DomainInfo>;
  migrate(id: number, target: string): Promise<void>;
  /** shut every domain down (gracefully, then destroy) and stop the host */
  stopHost(opts?: StopHostOptions): Promise<StopHostResult>;
  /** release this handle (a LocalHypervisor also stops its host's run loop) */
  close(): Promise<void>;
}

// ---- errors -----------------------------------------------------------------------------------

export type ApiErrorCode =
  | 'ENOENT' | 'EEXIST' | 'ENOMEM' | 'IMAGE' | 'EINVAL' | 'ENOSYS' | 'ETIMEDOUT'
  | 'EACCES' | 'EHOSTDOWN' | 'EOVERFLOW' | 'EPROTO' | 'EINTERNAL';

/** The HTTP status each code travels as (server.ts) and comes back from (client.ts). */
export const HTTP_STATUS: Record<ApiErrorCode, number> = {
  EINVAL: 400, EACCES: 401, ENOENT: 404, EEXIST: 409, EOVERFLOW: 410, IMAGE: 422,
  EINTERNAL: 500, ENOSYS: 501, EPROTO: 502, EHOSTDOWN: 503, ETIMEDOUT: 504, ENOMEM: 507,
};

export class HypervisorError extends Error {
  constructor(readonly code: ApiErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
  }
  get status(): number {
    return HTTP_STATUS[this.code];
  }
}
export class NoSuchDomainError extends HypervisorError {
  constructor(id: number | string) {
    super('ENOENT', `no domain with id ${id}`);
  }
}
export class NameTakenError extends HypervisorError {
  constructor(message: string) { super('EEXIST', message); }
}
export class HostMemoryError extends HypervisorError {
  constructor(message: string) { super('ENOMEM', message); }
}
export class ImageRefusedError extends HypervisorError {
  constructor(message: string) { super('IMAGE', message); }
}
export class InvalidArgumentError extends HypervisorError {
  constructor(message: string) { super('EINVAL', message); }
}
export class NotImplementedError extends HypervisorError {
  constructor(what: string) { super('ENOSYS', `${what} is not implemented yet`); }
}
export class ApiTimeoutError extends HypervisorError {
  constructor(message: string) { super('ETIMEDOUT', message); }
}
export class UnauthorizedError extends HypervisorError {
  constructor(message = 'unauthorized: missing or wrong bearer token') { super('EACCES', message); }
}
export class HostUnavailableError extends HypervisorError {
  constructor(message: string) { super('EHOSTDOWN', message); }
}
export class StreamOverflowError extends HypervisorError {
  constructor(message: string) { super('EOVERFLOW', message); }
}

/** Rebuilds the error class of a code (for errors that crossed a socket). */
export function errorFromCode(code: string, message: string): HypervisorError {
  switch (code) {
    case 'ENOENT': return Object.assign(new NoSuchDomainError(0), { message });
    case 'EEXIST': return new NameTakenError(message);
    case 'ENOMEM': return new HostMemoryError(message);
    case 'IMAGE': return new ImageRefusedError(message);
    case 'EINVAL': return new InvalidArgumentError(message);
    case 'ENOSYS': return Object.assign(new NotImplementedError(''), { message });
    case 'ETIMEDOUT': return new ApiTimeoutError(message);
    case 'EACCES': return new UnauthorizedError(message);
    case 'EHOSTDOWN': return new HostUnavailableError(message);
    case 'EOVERFLOW': return new StreamOverflowError(message);
    case 'EPROTO': return new HypervisorError('EPROTO', message);
    default: return new HypervisorError('EINTERNAL', message);
  }
}

/** Any error as a HypervisorError (the server's one funnel). */
export function toHypervisorError(e: unknown): HypervisorError {
  if (e instanceof HypervisorError) return e;
  if (e instanceof HostError) return errorFromCode(e.code, e.message);
  return new HypervisorError('EINTERNAL', `internal error: ${e instanceof Error ? e.message : String(e)}`);
}

// ---- an async queue for streams ----------------------------------------------------------------

/** A push-driven async iterator with a bound: past `limit` items it fails with `overflow()`. */
export class AsyncQueue<T> implements AsyncIterableIterator<T>, Stream<T> {
  /** settles once the source is attached (a remote stream: when the response starts) */
  ready: Promise<void> = Promise.resolve();
  private items: T[] = [];
  private waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  private ended = false;
  private error: unknown;

  constructor(
    private readonly onClose: () => void = () => undefined,
    private readonly limit = Infinity,
    private readonly overflow: () => Error = () => new StreamOverflowError('stream overflowed'),
  ) {}

  get closed(): boolean {
    return this.ended;
  }

  push(item: T): void {
    if (this.ended) return;
    const w = this.waiters.shift();
    if (w) return w.resolve({ value: item, done: false });
    if (this.items.length >= this.limit) return this.fail(this.overflow());
    this.items.push(item);
  }

  /** No more items: readers get what is queued, then done. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onClose();
    for (const w of this.waiters.splice(0)) w.resolve({ value: undefined, done: true });
  }

  /** Readers get what is queued, then `e`. */
  fail(e: unknown): void {
    if (this.ended) return;
    this.error = e;
    this.ended = true;
    this.onClose();
    for (const w of this.waiters.splice(0)) w.reject(e);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.error !== undefined) {
      const e = this.error;
      this.error = undefined;
      return Promise.reject(e);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The reader stops early (break out of for-await). */
  return(): Promise<IteratorResult<T>> {
    this.items = [];
    this.error = undefined;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    void this.return();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/** Console bytes: `offset` is the position of the next byte in the console's whole output. */
export class ByteStream extends AsyncQueue<Uint8Array> implements ConsoleStream {
  offset = 0;

  override async next(): Promise<IteratorResult<Uint8Array>> {
    const r = await super.next();
    if (!r.done) this.offset += r.value.length;
    return r;
  }
}

// ---- the local hypervisor ----------------------------------------------------------------------

const VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

/** Kernel images larger than this are refused unread (a PV kernel is a few MiB at most). */
export const MAX_KERNEL_BYTES = 64 * 2 ** 20;
/** Console input accepted per call (the ring takes 1 KiB at a time; the rest waits). */
export const MAX_CONSOLE_WRITE = 64 * 1024;
/** Events or console chunks a reader may fall behind by before its stream fails (EOVERFLOW). */
export const STREAM_BACKLOG = 100_000;
const MAX_CMDLINE = 1023; // MAX_GUEST_CMDLINE 1024, NUL included (xen/include/public/xen.h)
const MAX_VCPUS = 32; // XEN_LEGACY_MAX_VCPUS: vcpu_info slots in shared_info

export interface LocalHypervisorOptions extends HostOptions {
  /** run the host on the Node event loop now (default: true for a wall clock) */
  start?: boolean;
}

export class LocalHypervisor implements HypervisorApi, NetworkApi {
  readonly host: Host;
  private readonly subscribers = new Set<AsyncQueue<DomainEvent>>();
  private readonly known = new Map<number, DomainInfo>();
  private readonly destroyedListeners = new Map<number, Set<() => void>>();
  private stopping: Promise<StopHostResult> | undefined;
  private isStopped = false;
  private resolveStopped!: () => void;
  /** settles once stopHost() has finished (server.ts exits then) */
  readonly stopped = new Promise<void>((r) => (this.resolveStopped = r));

  private readonly pcpus: number;

  constructor(host: Host, opts: { pcpus?: number } = {}) {
    this.host = host;
    this.pcpus = opts.pcpus ?? 1;
    host.events.on('domain', (i: HostDomainInfo & { destroyed?: boolean }) => this.onDomain(i));
  }

  /** A private host (wall clock by default), running on the event loop. */
  static create(opts: LocalHypervisorOptions = {}): LocalHypervisor {
    const hv = new LocalHypervisor(new Host(opts), { pcpus: opts.pcpus });
    if (opts.start ?? hv.host.clock.kind === 'wall') hv.host.start();
    return hv;
  }

  // -- events: the host's 'domain' notifications, turned into state changes ----------------------

  private onDomain(raw: HostDomainInfo & { destroyed?: boolean }): void {
    const info = toInfo(raw);
    const before = this.known.get(info.domid);
    let type: DomainEventType;
    let reason: string | undefined;
    if (raw.destroyed) {
      type = 'destroyed';
      this.known.delete(info.domid);
    } else {
      this.known.set(info.domid, info);
      if (!before) type = 'created';
      else if (info.shutdownReason && !before.shutdownReason) {
        type = info.shutdownReason === 'crash' ? 'crashed' : 'shutdown';
        reason = info.shutdownReason === 'crash' ? (info.crashReason ?? 'the guest reported a crash (SCHEDOP_shutdown crash)') : info.shutdownReason;
      } else if (info.state !== before.state) type = 'state';
      else return;
    }
    const now = this.host.clock.now();
    const ev: DomainEvent = { type, domid: info.domid, name: info.name, state: info.state, ...(reason ? { reason } : {}), timeNs: now, time: new Date().toISOString(), info };
    for (const q of this.subscribers) q.push(ev);
    if (type === 'destroyed') {
      for (const fn of this.destroyedListeners.get(info.domid) ?? []) fn();
      this.destroyedListeners.delete(info.domid);
    }
  }

  private onDestroyed(id: number, fn: () => void): () => void {
    let set = this.destroyedListeners.get(id);
    if (!set) this.destroyedListeners.set(id, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  // -- queries -------------------------------------------------------------------------------------

  private live(): void {
    if (this.isStopped) throw new HostUnavailableError('the host has stopped');
  }

  private domainOf(id: number) {
    checkId(id);
    const d = this.host.domain(id);
    if (!d || d.dying) throw new NoSuchDomainError(id);
    return d;
  }

  async info(): Promise<HostInfo> {
    const h = this.host;
    return {
      version: VERSION,
      xenVersion: `${XEN_MAJOR}.${XEN_MINOR}`,
      memoryTotalMiB: Math.floor(h.mem.totalFrames / 256),
      memoryFreeMiB: Math.floor(h.frames.freeFrames / 256),
      pcpus: this.pcpus,
      clock: h.clock.kind,
      uptimeS: h.clock.now() / 1e9,
      domains: h.list().length,
      pid: process.pid,
    };
  }

  async list(): Promise<DomainRow[]> {
    const rows: DomainRow[] = [dom0Row()];
    for (const d of this.host.list()) {
      rows.push({ name: d.name, id: d.domid, memoryMiB: Math.floor(d.memoryKiB / 1024), vcpus: d.vcpus, state: d.state, cpuTimeS: round1(d.cpuTimeNs / 1e9) });
    }
    return rows;
  }

  async domain(id: number): Promise<DomainInfo> {
    return toInfo(this.host.info(this.domainOf(id)));
  }

  async stats(): Promise<HostStats> {
    const dom0 = dom0Row();
    const domains: DomainStats[] = [
      { ...zeroIo(), domid: 0, name: dom0.name, state: dom0.state, cpuNs: dom0CpuNs(), memoryKiB: dom0.memoryMiB * 1024, maxMemoryKiB: dom0.memoryMiB * 1024, vcpus: 1 },
    ];
    for (const d of this.host.list()) {
      domains.push({ ...zeroIo(), ...blockDevicesOf(this.host).stats(d.domid), ...netStats(this.host, d.domid), domid: d.domid, name: d.name, state: d.state, cpuNs: Math.round(d.cpuTimeNs), memoryKiB: d.memoryKiB, maxMemoryKiB: d.maxMemoryKiB, vcpus: d.vcpus });
    }
    return { timeNs: this.host.clock.now(), domains };
  }

  // -- lifecycle -----------------------------------------------------------------------------------

  async create(spec: CreateSpec): Promise<DomainInfo> {
    this.live();
    checkSpec(spec);
    const kernel = typeof spec.kernel === 'string' ? await readKernel(spec.kernel) : spec.kernel;
    this.live();
    try {
      const d = this.host.createDomain({
        name: spec.name, kernel, memoryMiB: spec.memoryMiB, maxMemoryMiB: spec.maxMemoryMiB, vcpus: spec.vcpus,
        maxVcpus: spec.maxVcpus, cmdline: spec.cmdline, weight: spec.weight, cap: spec.cap, paused: spec.paused,
        interfaces: spec.interfaces,
        disks: spec.disks,
      });
      return toInfo(this.host.info(d));
    } catch (e) {
      if (e instanceof DiskRefusedError) throw e.code === 'DISK_SPEC' ? new InvalidArgumentError(e.message) : new ImageRefusedError(e.message);
      const err = e instanceof HostError || e instanceof HypervisorError
        ? toHypervisorError(e)
        // the loader and builder refuse images with plain errors (overlapping segments, …)
        : new ImageRefusedError(e instanceof Error ? e.message : String(e));
      if (err.code === 'IMAGE') throw new ImageRefusedError(`kernel ${typeof spec.kernel === 'string' ? spec.kernel : '(image bytes)'} refused: ${err.message}`);
      throw err;
    }
  }

  async pause(id: number): Promise<DomainInfo> {
    const d = this.domainOf(id);
    // xl pause counts (a second pause needs a second unpause); a shut-down domain stays as it is
    if (!d.isShutdown) this.host.pause(id);
    return toInfo(this.host.info(d));
  }

  async unpause(id: number): Promise<DomainInfo> {
    const d = this.domainOf(id);
    this.host.unpause(id);
    return toInfo(this.host.info(d));
  }

  async shutdown(id: number, reason: ShutdownRequest, opts: ShutdownOptions = {}): Promise<DomainInfo> {
    if (!['poweroff', 'reboot', 'suspend'].includes(reason)) throw new InvalidArgumentError(`shutdown reason must be poweroff, reboot or suspend, not ${JSON.stringify(reason)}`);
    const d = this.domainOf(id);
    if (opts.timeoutMs !== undefined && !(opts.timeoutMs >= 0)) throw new InvalidArgumentError('timeoutMs must be a non-negative number');
    if (!d.isShutdown) this.host.requestShutdown(id, reason);
    if (!opts.wait || d.isShutdown) return toInfo(this.host.info(d));
    return this.waitShutdown(id, opts.timeoutMs);
  }

  /** Resolves with the domain's info once it has shut down (or '-----d' once destroyed). */
  private waitShutdown(id: number, timeoutMs: number | undefined): Promise<DomainInfo> {
    return new Promise((resolve, reject) => {
      const q = this.subscribe();
      let timer: NodeJS.Timeout | undefined;
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          q.return();
          reject(new ApiTimeoutError(`domain ${id} did not shut down within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      void (async () => {
        for await (const ev of q) {
          if (ev.domid !== id || !['shutdown', 'crashed', 'destroyed'].includes(ev.type)) continue;
          clearTimeout(timer);
          q.return();
          return resolve(ev.info);
        }
      })().catch(reject);
    });
  }

  async destroy(id: number): Promise<void> {
    this.domainOf(id);
    this.host.destroy(id);
  }

  async setMemoryTarget(id: number, mib: number): Promise<DomainInfo> {
    const d = this.domainOf(id);
    if (!Number.isInteger(mib) || mib < 1) throw new InvalidArgumentError(`memory target must be a positive integer (MiB), not ${JSON.stringify(mib)}`);
    const maxMiB = Math.floor(d.maxPages / 256);
    if (mib > maxMiB) throw new InvalidArgumentError(`memory target ${mib} MiB is more than domain ${id}'s maximum of ${maxMiB} MiB`);
    this.host.setMemoryTarget(id, mib * 1024);
    return toInfo(this.host.info(d));
  }

  async xenstoreRead(id: number, path: string): Promise<string | undefined> {
    const d = this.domainOf(id);
    const base = `/local/domain/${d.id}`;
    const full = path.startsWith('/') ? path : `${base}/${path}`;
    if (full !== base && !full.startsWith(`${base}/`)) throw new InvalidArgumentError(`xenstore path ${path} is outside domain ${id}'s subtree ${base}`);
    if (full.includes('//') || full.split('/').includes('..')) throw new InvalidArgumentError(`xenstore path ${path} is not a plain path`);
    return this.host.xenstored.readString(full);
  }

  async setSched(id: number, params: { weight?: number; cap?: number }): Promise<DomainInfo> {
    const d = this.domainOf(id);
    if (params.weight !== undefined) checkInt('weight', params.weight, 1, 65535);
    if (params.cap !== undefined) checkInt('cap', params.cap, 0, 65535);
    this.host.setSchedParams(id, { weight: params.weight, cap: params.cap });
    return toInfo(this.host.info(d));
  }

  // -- console and events --------------------------------------------------------------------------

  console(id: number, opts: ConsoleOptions = {}): ConsoleStream {
    this.domainOf(id);
    const since = opts.since ?? 0;
    if (!Number.isInteger(since) || since < 0) throw new InvalidArgumentError(`since must be a non-negative integer, not ${JSON.stringify(opts.since)}`);
    const log = this.host.console(id)!;
    const cleanups: (() => void)[] = [];
    const q = new ByteStream(() => cleanups.forEach((f) => f()), STREAM_BACKLOG, () => new StreamOverflowError(`console reader of domain ${id} fell too far behind`));
    const held = log.contents();
    const heldFrom = log.total - held.length;
    q.offset = Math.min(Math.max(since, heldFrom), log.total);
    if (q.offset < log.total) q.push(held.subarray(q.offset - heldFrom));
    if (opts.follow) {
      cleanups.push(log.subscribe((b) => q.push(Uint8Array.from(b))));
      cleanups.push(this.onDestroyed(id, () => q.end()));
    } else q.end();
    return q;
  }

  async consoleWrite(id: number, bytes: Uint8Array): Promise<void> {
    this.domainOf(id);
    if (bytes.length > MAX_CONSOLE_WRITE) throw new InvalidArgumentError(`console input is limited to ${MAX_CONSOLE_WRITE} bytes per write`);
    this.host.consoleInput(id, bytes);
  }

  private subscribe(): AsyncQueue<DomainEvent> {
    const q: AsyncQueue<DomainEvent> = new AsyncQueue<DomainEvent>(
      () => this.subscribers.delete(q),
      STREAM_BACKLOG,
      () => new StreamOverflowError('event reader fell too far behind; list again and watch anew'),
    );
    this.subscribers.add(q);
    return q;
  }

  events(): Stream<DomainEvent> {
    const q = this.subscribe();
    if (this.isStopped) q.end();
    return q;
  }

  // -- the network -----------------------------------------------------------------------------------

  /** A new uplink port on the host's switch (the gateway's link to the segment). */
  async uplink(): Promise<FrameLink> {
    this.live();
    return this.host.net.uplink();
  }

  // -- not yet -------------------------------------------------------------------------------------

  async save(): Promise<void> {
    throw new NotImplementedError('save');
  }

  async restore(): Promise<DomainInfo> {
    throw new NotImplementedError('restore');
  }

  async migrate(): Promise<void> {
    throw new NotImplementedError('migrate');
  }

  // -- the host as a whole -------------------------------------------------------------------------

  stopHost(opts: StopHostOptions = {}): Promise<StopHostResult> {
    if (opts.save) return Promise.reject(new NotImplementedError('saving domains when the host stops (host stop --save)'));
    const graceMs = opts.graceMs ?? 30_000;
    if (!(graceMs >= 0)) return Promise.reject(new InvalidArgumentError('graceMs must be a non-negative number'));
    this.stopping ??= this.stopAll(graceMs);
    return this.stopping;
  }

  /** xendomains stop: ask every domain to power off, wait up to the grace period, destroy the rest. */
  private async stopAll(graceMs: number): Promise<StopHostResult> {
    const ids = this.host.list().map((d) => d.domid);
    const pending = new Set<number>();
    const q = this.subscribe();
    for (const id of ids) {
      const d = this.host.domain(id);
      if (!d || d.isShutdown) continue;
      try {
        this.host.requestShutdown(id, 'poweroff');
        pending.add(id);
      } catch {
        /* gone meanwhile */
      }
    }
    const graceful: number[] = [];
    if (pending.size) {
      const timer = setTimeout(() => q.end(), graceMs);
      for await (const ev of q) {
        if (!pending.has(ev.domid) || !['shutdown', 'crashed', 'destroyed'].includes(ev.type)) continue;
        pending.delete(ev.domid);
        graceful.push(ev.domid);
        if (pending.size === 0) break;
      }
      clearTimeout(timer);
    }
    q.return();
    const destroyed: number[] = [];
    for (const d of this.host.list()) {
      if (pending.has(d.domid)) destroyed.push(d.domid);
      this.host.destroy(d.domid);
    }
    this.host.stop();
    this.isStopped = true;
    for (const s of this.subscribers) s.end();
    this.resolveStopped();
    return { shutdown: graceful, destroyed };
  }

  async close(): Promise<void> {
    this.host.stop();
    for (const s of this.subscribers) s.end();
  }
}

// ---- helpers -----------------------------------------------------------------------------------

function toInfo(i: HostDomainInfo): DomainInfo {
  const out: DomainInfo = {
    domid: i.domid, name: i.name, state: i.state, memoryKiB: i.memoryKiB, maxMemoryKiB: i.maxMemoryKiB,
    vcpus: i.vcpus, cpuTimeNs: Math.round(i.cpuTimeNs), weight: i.weight, cap: i.cap,
  };
  if (i.shutdownReason !== undefined) out.shutdownReason = i.shutdownReason;
  if (i.crashReason !== undefined) out.crashReason = i.crashReason;
  return out;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

function dom0CpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** Domain-0 is the toolstack process itself: its RSS, one vCPU, its CPU time. */
function dom0Row(): DomainRow {
  return { name: 'Domain-0', id: 0, memoryMiB: Math.round(process.memoryUsage.rss() / 2 ** 20), vcpus: 1, state: 'r-----', cpuTimeS: round1(dom0CpuNs() / 1e9) };
}

/** xentop's NETS, NETTX(k), NETRX(k): the domain's interfaces and the KiB it sent and received. */
function netStats(host: Host, domid: number): { nets: number; netTxKiB: number; netRxKiB: number; vifs: VifInfo[] } {
  const t = host.net.totals(domid);
  return { nets: t.nets, netTxKiB: Math.floor(t.txBytes / 1024), netRxKiB: Math.floor(t.rxBytes / 1024), vifs: t.vifs };
}

function zeroIo() {
  return { nets: 0, netTxKiB: 0, netRxKiB: 0, vbds: 0, vbdOo: 0, vbdRd: 0, vbdWr: 0, vbdRsect: 0, vbdWsect: 0 };
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0) throw new InvalidArgumentError(`domain id must be a non-negative integer, not ${JSON.stringify(id)}`);
  if (id === 0) throw new InvalidArgumentError('Domain-0 is the host itself: the operation is not permitted on it');
}

function checkInt(what: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}, not ${JSON.stringify(v)}`);
  }
}

function checkSpec(s: CreateSpec): void {
  if (typeof s !== 'object' || s === null) throw new InvalidArgumentError('a domain spec must be an object');
  if (typeof s.name !== 'string' || s.name.length === 0 || s.name.length > 64 || /[\x00-\x1f\x7f/]/.test(s.name)) {
    throw new InvalidArgumentError(`domain name must be 1–64 printable characters without '/', not ${JSON.stringify(s.name)}`);
  }
  if (typeof s.kernel !== 'string' && !(s.kernel instanceof Uint8Array)) throw new InvalidArgumentError('kernel must be a path on the host or the image bytes');
  checkInt('memoryMiB', s.memoryMiB, 1, 2 ** 24);
  if (s.maxMemoryMiB !== undefined) checkInt('maxMemoryMiB', s.maxMemoryMiB, s.memoryMiB, 2 ** 24);
  if (s.vcpus !== undefined) checkInt('vcpus', s.vcpus, 1, MAX_VCPUS);
  if (s.maxVcpus !== undefined) checkInt('maxVcpus', s.maxVcpus, s.vcpus ?? 1, MAX_VCPUS);
  if (s.weight !== undefined) checkInt('weight', s.weight, 1, 65535);
  if (s.cap !== undefined) checkInt('cap', s.cap, 0, 65535);
  if (s.cmdline !== undefined && (typeof s.cmdline !== 'string' || Buffer.byteLength(s.cmdline) > MAX_CMDLINE || s.cmdline.includes('\0'))) {
    throw new InvalidArgumentError(`cmdline must be a string of at most ${MAX_CMDLINE} bytes without NUL`);
  }
  if (s.paused !== undefined && typeof s.paused !== 'boolean') throw new InvalidArgumentError('paused must be true or false');
  try {
    validateInterfaces(s.interfaces);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  if (s.disks !== undefined && !Array.isArray(s.disks)) throw new InvalidArgumentError('disks must be a list of {source, target, mode, sizeMiB?}');
}

/** Reads a kernel image from a host path: a regular file of sane size. */
async function readKernel(path: string): Promise<Uint8Array> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new ImageRefusedError(`cannot read kernel ${path}: ${why}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ImageRefusedError(`kernel ${path} is not a regular file`);
    if (st.size > MAX_KERNEL_BYTES) throw new ImageRefusedError(`kernel ${path} is ${st.size} bytes; images over ${MAX_KERNEL_BYTES} bytes are refused`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}
