/**
 * LocalHypervisor: the Hypervisor API (api.ts) over an in-process Host — what `boot`, `create`
 * and the host agent (server.ts) use. Errors are HypervisorErrors with stable codes.
 */
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Host, HostError, type DomainInfo as HostDomainInfo, type HostOptions } from './host.ts';
import { XEN_MAJOR, XEN_MINOR } from './hv/hc/version.ts';
import { validateInterfaces, type FrameLink, type VifInfo } from './devices/net/index.ts';
import { blockDevicesOf, DiskRefusedError } from './devices/block/index.ts';
import { restoreFromFile, saveToFile } from './migrate/files.ts';
import { MigrationAgent } from './migrate/agent.ts';
import { outgoing } from './migrate/send.ts';
import {
  ApiTimeoutError,
  AsyncQueue,
  BusyError,
  ByteStream,
  HostUnavailableError,
  HypervisorError,
  ImageRefusedError,
  InvalidArgumentError,
  MAX_CONSOLE_WRITE,
  MAX_KERNEL_BYTES,
  NoSuchDomainError,
  NotImplementedError,
  STREAM_BACKLOG,
  StreamOverflowError,
  toHypervisorError,
  type ConsoleOptions,
  type ConsoleStream,
  type CreateSpec,
  type DomainEvent,
  type DomainEventType,
  type DomainInfo,
  type DomainRow,
  type DomainStats,
  type HostInfo,
  type HostStats,
  type HypervisorApi,
  type IncomingMigration,
  type MigrateOptions,
  type MigrationResult,
  type MigrationTarget,
  type NetworkApi,
  type ShutdownOptions,
  type ShutdownRequest,
  type StopHostOptions,
  type StopHostResult,
  type Stream,
} from './api.ts';

const VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

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
  /** who this host is in a migration stream (a migration to oneself is refused) */
  get hostId(): string {
    return this.host.hostId;
  }
  private readonly migrations: MigrationAgent;

  constructor(host: Host, opts: { pcpus?: number } = {}) {
    this.host = host;
    this.pcpus = opts.pcpus ?? 1;
    this.migrations = new MigrationAgent(host);
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

  /** xl save (runtime/migrate): the image written atomically; the domain destroyed unless checkpoint. */
  async save(id: number, file: string, opts: { checkpoint?: boolean } = {}): Promise<void> {
    this.live();
    if (outgoing.has(this.domainOf(id))) throw new BusyError(`domain ${id} is being migrated; save it when the migration has ended`);
    await saveToFile(this.host, id, file, { checkpoint: opts.checkpoint === true });
  }

  /** xl restore: the domain continues where it was saved, under a new id. */
  async restore(file: string, opts: { paused?: boolean } = {}): Promise<DomainInfo> {
    this.live();
    const d = await restoreFromFile(this.host, file, { paused: opts.paused === true });
    return toInfo(this.host.info(d));
  }

  /** xl migrate: live migration to another host's agent (runtime/migrate/agent.ts). */
  async migrate(id: number, target: MigrationTarget, opts: MigrateOptions = {}): Promise<MigrationResult> {
    this.live();
    return this.migrations.migrate(this.domainOf(id), target, opts);
  }

  /** The target's side: a source host's agent connected (server.ts upgrade) — serve the stream. */
  acceptMigration(socket: Duplex, head: Buffer, from: string): void {
    if (this.isStopped) return void socket.destroy();
    this.migrations.accept(socket, head, from);
  }

  async incoming(): Promise<IncomingMigration[]> {
    return this.migrations.incoming();
  }

  async commitIncoming(name: string): Promise<DomainInfo> {
    return toInfo(this.host.info(this.migrations.commit(name)));
  }

  async abortIncoming(name: string): Promise<void> {
    this.migrations.abort(name);
  }

  // -- the host as a whole -------------------------------------------------------------------------

  stopHost(opts: StopHostOptions = {}): Promise<StopHostResult> {
    if (opts.save && !this.saveDir) return Promise.reject(new NotImplementedError('saving domains when the host stops without a state dir (host stop --save)'));
    const graceMs = opts.graceMs ?? 30_000;
    if (!(graceMs >= 0)) return Promise.reject(new InvalidArgumentError('graceMs must be a non-negative number'));
    this.stopping ??= this.stopAll(graceMs, opts.save === true);
    return this.stopping;
  }

  /**
   * Where `stopHost({save: true})` saves domains, one image per domain named after it; the
   * host process restores them at its next start (restoreSaved), as Xen's xendomains does
   * with XENDOMAINS_SAVE.
   */
  saveDir: string | undefined;

  /** xendomains start: bring back every domain saved when the host last stopped; each image goes once restored. */
  async restoreSaved(log: (line: string) => void = () => undefined): Promise<DomainInfo[]> {
    const dir = this.saveDir;
    if (!dir) return [];
    const files = await readdir(dir).catch(() => [] as string[]);
    const out: DomainInfo[] = [];
    for (const f of files.filter((x) => x.endsWith('.save')).sort()) {
      const file = join(dir, f);
      try {
        out.push(await this.restore(file));
        await rm(file, { force: true });
        log(`restored ${f.slice(0, -5)} from ${file}`);
      } catch (e) {
        log(`cannot restore ${file} (kept): ${(e as Error).message}`);
      }
    }
    return out;
  }

  /**
   * xendomains stop: save every domain (with `save`), or ask each to power off, wait up to the
   * grace period and destroy the rest. A domain that cannot be saved is shut down instead.
   */
  private async stopAll(graceMs: number, save: boolean): Promise<StopHostResult> {
    const saved: number[] = [];
    if (save && this.saveDir) {
      await mkdir(this.saveDir, { recursive: true, mode: 0o700 });
      for (const d of this.host.list()) {
        const dom = this.host.domain(d.domid);
        if (!dom || dom.isShutdown || dom.dying) continue;
        try {
          await saveToFile(this.host, d.domid, join(this.saveDir, `${d.name}.save`));
          saved.push(d.domid);
        } catch {
          /* shut down below instead */
        }
      }
    }
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
    return { shutdown: graceful, destroyed, ...(save ? { saved } : {}) };
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
