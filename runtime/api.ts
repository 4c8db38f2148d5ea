/**
 * The Hypervisor API: the one public surface of runtime/ (../shared/DESIGN.md §2). The
 * controller and the CLI reach a host only through `HypervisorApi` — in process through
 * `LocalHypervisor` (a wrapper around a `Host`), or across a socket through `RemoteHypervisor`
 * (client.ts), which speaks to `server.ts`. Both behave the same, errors included: every
 * failure is a `HypervisorError` with a stable `code`, never a stack trace.
 */
import type { FrameLink, InterfaceSpec, VifInfo } from './devices/net/index.ts';

export type { FrameLink, InterfaceSpec, PortMapping, VifInfo, VifCounters } from './devices/net/index.ts';
/** The segment's addressing (devices/net/README.md): a guest's IP is its MAC's last three octets. */
export { ipForMac, GATEWAY_IP, GATEWAY_MAC, SEGMENT_NETMASK } from './devices/net/index.ts';
import type { DiskSpec, VbdStats } from './devices/block/index.ts';
import { HostError } from './host.ts';

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

/** xentop's columns for one domain; the VBD_* ones are blkback's (devices/block VbdStats). */
export interface DomainStats extends VbdStats {
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
  /** save domains instead of shutting them down; the host restores them at its next start */
  save?: boolean;
  /** how long domains get to shut down before they are destroyed (default 30 s) */
  graceMs?: number;
}

export interface StopHostResult {
  /** domains that shut down by themselves within the grace period */
  shutdown: number[];
  /** domains destroyed when the grace period ended */
  destroyed: number[];
  /** with save: domains saved for the host's next start */
  saved?: number[];
}

/** Where a live migration goes: another host's agent on TCP and the token it accepts. */
export interface MigrationTarget {
  /** HOST:PORT of the target's `xenoform host --listen` */
  address: string;
  token: string;
}

export interface MigrateOptions {
  /**
   * Bandwidth cap, MiB/s (default 0 = unlimited, as KubeVirt's bandwidthPerMigration). With a
   * cap, each round's rate is the last round's dirtying rate plus a constant, capped (Clark et
   * al., NSDI 2005 §5.1; xc_domain_save's adaptive rate).
   */
  maxRateMiBps?: number;
  /** pre-copy rounds before stop-and-copy at the latest (default 30, as xc_domain_save) */
  maxRounds?: number;
  /** stop when fewer dirty pages than this remain (default 50, as xc_domain_save) */
  minDirtyPages?: number;
  /** leave the domain paused on the target (xl migrate -p) */
  paused?: boolean;
  /** called after every round and phase change (over the socket: the response's NDJSON lines) */
  onProgress?: (p: MigrationProgress) => void;
}

export type MigrationPhase = 'reserving' | 'precopy' | 'stopcopy' | 'activating';

export interface MigrationProgress {
  phase: MigrationPhase;
  /** pre-copy round, from 1 (round 1 sends every touched page) */
  round: number;
  /** pages sent so far, all rounds */
  pagesSent: number;
  /** pages found dirty at the end of the last round (what the next round sends) */
  pagesDirty: number;
  /** how fast the guest dirtied pages during the last round, pages/s */
  dirtyRatePps: number;
  /** disk bytes copied so far (block migration) */
  diskBytesSent: number;
  elapsedMs: number;
}

export interface MigrationResult {
  /** the domain's id on the target */
  domid: number;
  name: string;
  rounds: number;
  pagesSent: number;
  bytesSent: number;
  /** the window in which the guest ran nowhere: source paused → target running */
  downtimeMs: number;
  totalMs: number;
  /** how its disks moved: none attached, shared directory (lock handed over), or copied */
  disks: 'none' | 'shared' | 'copied';
}

/** A migration arriving at this host (the target's side; xl shows it as NAME--incoming). */
export interface IncomingMigration {
  name: string;
  /** the domain being built on this host (paused until activation) */
  domid: number;
  /**
   * receiving: pre-copy under way (dropped if the source goes away); prepared: the whole state
   * is here and restored, paused, waiting for the source's commit — if the source vanishes now,
   * only the controller can tell which copy lives (commitIncoming / abortIncoming).
   */
  state: 'receiving' | 'prepared';
  /** the source host's address as it connected */
  from: string;
  sinceMs: number;
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
  /**
   * Live migration (xl migrate): iterative pre-copy to `target`, stop-and-copy, then
   * activation there. On any failure before the target has committed, the domain keeps
   * running here untouched and the target is cleaned up.
   */
  migrate(id: number, target: MigrationTarget, opts?: MigrateOptions): Promise<MigrationResult>;
  /** migrations arriving at this host */
  incoming(): Promise<IncomingMigration[]>;
  /** activate a prepared incoming domain whose source went away (the arbiter decided it lives) */
  commitIncoming(name: string): Promise<DomainInfo>;
  /** drop an incoming domain (the source's copy lives on) */
  abortIncoming(name: string): Promise<void>;
  /** shut every domain down (gracefully, then destroy) and stop the host */
  stopHost(opts?: StopHostOptions): Promise<StopHostResult>;
  /** release this handle (a LocalHypervisor also stops its host's run loop) */
  close(): Promise<void>;
}

// ---- errors -----------------------------------------------------------------------------------

export type ApiErrorCode =
  | 'ENOENT' | 'EEXIST' | 'ENOMEM' | 'IMAGE' | 'EINVAL' | 'ENOSYS' | 'ETIMEDOUT'
  | 'EACCES' | 'EHOSTDOWN' | 'EOVERFLOW' | 'EPROTO' | 'EBUSY' | 'EINTERNAL';

/** The HTTP status each code travels as (server.ts) and comes back from (client.ts). */
export const HTTP_STATUS: Record<ApiErrorCode, number> = {
  EINVAL: 400, EACCES: 401, ENOENT: 404, EEXIST: 409, EOVERFLOW: 410, IMAGE: 422,
  EBUSY: 429, EINTERNAL: 500, ENOSYS: 501, EPROTO: 502, EHOSTDOWN: 503, ETIMEDOUT: 504, ENOMEM: 507,
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

/** Too many migrations at once on a host (KubeVirt's parallelOutboundMigrationsPerNode). */
export class BusyError extends HypervisorError {
  constructor(message: string) { super('EBUSY', message); }
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
    case 'EBUSY': return new BusyError(message);
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

/** "127.0.0.1:8080", "[::1]:8080", "localhost:8080" → {host, port}; undefined for anything else. */
export function parseHostPort(addr: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]/]+)):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[3]) : NaN;
  return m && port <= 65535 ? { host: (m[1] ?? m[2])!, port } : undefined;
}

/** Kernel images larger than this are refused unread (a PV kernel is a few MiB at most). */
export const MAX_KERNEL_BYTES = 64 * 2 ** 20;
/** Console input accepted per call (the ring takes 1 KiB at a time; the rest waits). */
export const MAX_CONSOLE_WRITE = 64 * 1024;
/** Events or console chunks a reader may fall behind by before its stream fails (EOVERFLOW). */
export const STREAM_BACKLOG = 100_000;

// The local hypervisor (a wrapper around an in-process Host) lives in local.ts.
export { LocalHypervisor, type LocalHypervisorOptions } from './local.ts';
