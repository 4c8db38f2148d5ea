/**
 * The host: one emulated machine (machine memory, physical CPUs), the hypervisor's domains,
 * and Domain-0's services (xenstored, console backends). It wires runtime/cpu, mem, hv, boot
 * and devices together and runs the vCPUs on the credit scheduler, on an injected clock.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { MachineMemory } from './mem/machine.ts';
import { FrameTable, OutOfMemoryError } from './mem/frames.ts';
import { CodeCache } from './cpu/decoder.ts';
import { VirtualClock, WallClock, type Clock } from './hv/clock.ts';
import { Domain, SHUTDOWN_NAMES, type DomainConfig, type HostContext } from './hv/domain.ts';
import { EventChannels } from './hv/evtchn.ts';
import { VIRTUAL_INSNS_PER_US, type VCpu } from './hv/vcpu.ts';
import { FramePage } from './hv/shared.ts';
import { CreditScheduler } from './hv/sched/credit.ts';
import { TimerQueue } from './hv/timers.ts';
import { Xenstored } from './devices/xenstore/xenstored.ts';
import { ConsoleBackend, ConsoleLog, HvConsoleBuffer } from './devices/console/backend.ts';
import { loadXenImage, type XenImage } from './boot/elf.ts';
import { buildDomain } from './boot/builder.ts';
import { pageTypesOf, type PageTypes } from './mem/pagetype.ts';
import { m2pOf } from './mem/m2p.ts';
import { grantTablesOf } from './hv/grant.ts';
import { reservationOf } from './hv/hc/memory.ts';
import { NetConfigError, NetworkDevices, type InterfaceSpec } from './devices/net/index.ts';
import { blockDevicesOf, type DiskSpec } from './devices/block/index.ts';

export interface HostOptions {
  /** Machine memory in bytes (default 64 GiB, backed lazily). */
  memoryBytes?: number;
  /** Physical CPUs for the scheduler (default 1). */
  pcpus?: number;
  /** 'wall' (default) or 'virtual' time, or a clock of the caller's. */
  clock?: 'wall' | 'virtual' | Clock;
}

export interface CreateDomainSpec {
  name: string;
  /** The kernel image (ELF bytes) or an already loaded image. */
  kernel: Uint8Array | XenImage;
  memoryMiB: number;
  maxMemoryMiB?: number;
  vcpus?: number;
  maxVcpus?: number;
  cmdline?: string;
  weight?: number;
  cap?: number;
  /** Create paused (xl create -p). */
  paused?: boolean;
  /** Network interfaces: vifs on the host's switch (devices/net/README.md). */
  interfaces?: InterfaceSpec[];
  /** Disks served by Domain-0's blkback (runtime/devices/block). */
  disks?: DiskSpec[];
}

/** What the host reports about one domain (xl list / xentop). */
export interface DomainInfo {
  domid: number;
  name: string;
  state: string;
  memoryKiB: number;
  maxMemoryKiB: number;
  vcpus: number;
  cpuTimeNs: number;
  shutdownReason: string | undefined;
  crashReason: string | undefined;
  weight: number;
  cap: number;
}

export class HostError extends Error {
  constructor(
    readonly code: 'ENOMEM' | 'EEXIST' | 'ENOENT' | 'EINVAL' | 'IMAGE',
    message: string,
  ) {
    super(message);
  }
}

interface DomainServices {
  console: ConsoleLog;
  backend: ConsoleBackend;
  hvConsole: HvConsoleBuffer;
}

export class Host implements HostContext {
  readonly mem: MachineMemory;
  readonly frames: FrameTable;
  readonly code: CodeCache;
  readonly clock: Clock;
  readonly xenstored: Xenstored;
  readonly events = new EventEmitter();
  readonly dom0Evtchn: EventChannels;
  readonly pageTypes: PageTypes;
  /** The virtual switch and the domains' vifs (devices/net). */
  readonly net: NetworkDevices;
  private readonly domains = new Map<number, Domain>();
  private readonly services = new Map<number, DomainServices>();
  private readonly sched: CreditScheduler;
  private readonly timers = new TimerQueue();
  private nextDomid = 1;
  private readonly reservedDomids = new Set<number>();
  /** who this host is to other hosts (image leases, migration streams) */
  readonly hostId = randomUUID();
  private readonly pcpus: number;
  private nextPcpu = 0;
  /** The vCPU running now (inside step). */
  private current: VCpu | undefined;
  /** Emulation speed estimate (instructions per wall ns), for sizing wall-clock slices. */
  private insnsPerNs = 0.05;
  private loop: { timer: NodeJS.Timeout | NodeJS.Immediate | undefined; idle: boolean } | undefined;
  readonly log: (d: Domain, message: string) => void;

  constructor(opts: HostOptions = {}) {
    this.mem = new MachineMemory(opts.memoryBytes ?? 64 * 2 ** 30);
    this.frames = new FrameTable(this.mem);
    this.code = new CodeCache(this.mem);
    this.clock = typeof opts.clock === 'object' ? opts.clock : opts.clock === 'virtual' ? new VirtualClock() : new WallClock();
    this.pcpus = opts.pcpus ?? 1;
    this.sched = new CreditScheduler({ pcpus: this.pcpus });
    this.xenstored = new Xenstored({ domainExists: (id) => id === 0 || this.domains.has(id) });
    this.dom0Evtchn = new EventChannels({
      domid: 0,
      sharedInfo: undefined,
      nrVcpus: 1,
      kick: () => undefined,
      peer: (d) => this.evtchnOf(d),
      maxPorts: 1 << 17,
    });
    this.pageTypes = pageTypesOf(this);
    this.log = (d, message) => this.events.emit('log', { domid: d.id, name: d.name, message });
    this.net = new NetworkDevices({
      xenstored: this.xenstored, dom0Evtchn: this.dom0Evtchn, grants: grantTablesOf(this), mem: this.mem,
      now: () => this.clock.now(),
      log: (domid, message) => this.events.emit('log', { domid, name: this.domains.get(domid)?.name ?? '', message }),
    });
  }

  // ---- HostContext -----------------------------------------------------------------------

  domain(id: number): Domain | undefined {
    return this.domains.get(id);
  }

  evtchnOf(id: number): EventChannels | undefined {
    return id === 0 ? this.dom0Evtchn : this.domains.get(id)?.evtchn;
  }

  wake(v: VCpu): void {
    if (!v.domain.runnable || !v.isRunnable) return;
    // A wake-up that should preempt (BOOST over the running vCPU) ends the current slice.
    if (this.sched.wake(v, this.clock.now()) && this.current && this.current !== v) this.current.cpu.requestStop();
    this.kickLoop();
  }

  timer(at: number, fn: () => void): () => void {
    const cancel = this.timers.add(at, fn);
    this.kickLoop();
    return cancel;
  }

  hvConsole(d: Domain, bytes: Uint8Array): void {
    this.services.get(d.id)?.hvConsole.write(bytes);
  }

  domainStateChanged(d: Domain): void {
    for (const v of d.vcpus) {
      if (d.runnable && v.isRunnable) this.sched.wake(v, this.clock.now());
      else this.sched.sleep(v);
    }
    if (d.isShutdown) {
      this.services.get(d.id)?.hvConsole.flush();
      this.xenstored.domainShutdown(d.id);
    }
    this.events.emit('domain', this.info(d));
    this.kickLoop();
  }

  // ---- domains ------------------------------------------------------------------------------

  /** Create and build a domain from a kernel (xl create). */
  createDomain(spec: CreateDomainSpec): Domain {
    if ([...this.domains.values()].some((d) => d.name === spec.name && !d.dying)) {
      throw new HostError('EEXIST', `a domain named "${spec.name}" already exists`);
    }
    let interfaces: InterfaceSpec[];
    try {
      interfaces = this.net.check(spec.interfaces);
    } catch (e) {
      throw e instanceof NetConfigError ? new HostError('EINVAL', `domain "${spec.name}": ${e.message}`) : e;
    }
    const image = spec.kernel instanceof Uint8Array ? loadImage(spec.kernel) : spec.kernel;
    const pages = Math.floor(spec.memoryMiB * 256);
    const maxPages = Math.floor((spec.maxMemoryMiB ?? spec.memoryMiB) * 256);
    if (pages < 1 || maxPages < pages) throw new HostError('EINVAL', `memory ${spec.memoryMiB} MiB must be positive and at most maxMemory`);
    if (pages + 1 > this.frames.freeFrames) {
      throw new HostError('ENOMEM', `domain "${spec.name}" needs ${spec.memoryMiB} MiB but the host has only ${Math.floor(this.frames.freeFrames / 256)} MiB of machine memory free`);
    }
    const id = this.allocDomid();
    blockDevicesOf(this).prepare(id, spec.name, spec.disks); // opens and locks the images, or refuses
    const cfg: DomainConfig = { name: spec.name, pages, maxPages, vcpus: spec.vcpus ?? 1, maxVcpus: spec.maxVcpus, weight: spec.weight, cap: spec.cap };
    let d: Domain | undefined;
    try {
      d = new Domain(this, id, spec.name, cfg);
      const mfns = this.frames.allocate(id, pages);
      mfns.forEach((mfn, pfn) => (d!.p2m[pfn] = mfn));
      const consolePort = d.evtchn.allocUnbound(0);
      const storePort = d.evtchn.allocUnbound(0);
      const layout = buildDomain(d, image, { cmdline: spec.cmdline, consolePort, storePort });
      this.domains.set(id, d);
      // Xen's view of the new memory: the M2P, the shared pages, and the bootstrap page tables
      // validated and pinned with vCPU 0's CR3 holding them (xc_dom_boot → MMUEXT_PIN_L3_TABLE).
      const m2p = m2pOf(this.mem);
      mfns.forEach((mfn, pfn) => m2p.set(mfn, pfn));
      for (const mfn of [d.sharedInfo.mfn, d.consoleMfn, d.storeMfn]) {
        if (!this.pageTypes.shareXenPage(d, mfn)) throw new HostError('EINVAL', `cannot share frame ${mfn} with domain ${id}`);
      }
      // Grant refs 0 and 1: the console and xenstore rings, granted to Domain-0 (xc_dom_gnttab_seed).
      const grants = grantTablesOf(this);
      grants.seed(d, 0, 0, d.consoleMfn);
      grants.seed(d, 1, 0, d.storeMfn);
      const pinned = this.pageTypes.pin(d, layout.l3Mfn, 3);
      if (pinned !== 0) throw new HostError('EINVAL', `the bootstrap page tables of "${spec.name}" do not validate (errno ${-pinned})`);
      const based = this.pageTypes.setBaseptr(d.vcpus[0]!, layout.l3Mfn);
      if (based !== 0) throw new HostError('EINVAL', `cannot load the bootstrap page tables of "${spec.name}" (errno ${-based})`);
      this.attachServices(d, pages);
      this.net.attach(id, interfaces);
      blockDevicesOf(this).connect(d);
    } catch (e) {
      blockDevicesOf(this).detach(id);
      this.net.detach(id);
      if (d) this.releaseFrames(d);
      this.domains.delete(id);
      if (e instanceof OutOfMemoryError) throw new HostError('ENOMEM', e.message);
      throw e;
    }
    this.sched.addDomain(id, d.weight, d.cap);
    for (const v of d.vcpus) this.sched.insert(v);
    if (spec.paused) d.pauseCount = 1;
    this.events.emit('domain', this.info(d));
    if (!spec.paused) this.wake(d.vcpus[0]!);
    return d;
  }

  /**
   * Restore (runtime/migrate/restore.ts): a new domain on fresh frames that `populate` fills
   * (memory, page types, vCPUs, event channels), then Domain-0's console and xenstore
   * connections re-attached to the rings where they stood (no ring reset, no new layout:
   * `importStore` brings the subtree back), then `attachDevices`. Nothing is left on failure.
   */
  restoreDomain(cfg: DomainConfig, opts: {
    paused: boolean;
    populate: (d: Domain) => void;
    importStore: (d: Domain) => void;
    attachDevices: (d: Domain) => void;
    /** a reservation (reserveDomid) whose frames the incoming migration already holds */
    domid?: number;
  }): Domain {
    if ([...this.domains.values()].some((x) => x.name === cfg.name && !x.dying)) {
      throw new HostError('EEXIST', `a domain named "${cfg.name}" already exists`);
    }
    if (opts.domid === undefined && cfg.pages + 1 > this.frames.freeFrames) throw new HostError('ENOMEM', `domain "${cfg.name}" needs ${cfg.pages} pages; the host has ${this.frames.freeFrames} free`);
    if (opts.domid !== undefined && !this.reservedDomids.delete(opts.domid)) throw new HostError('EINVAL', `domain id ${opts.domid} is not reserved`);
    const id = opts.domid ?? this.allocDomid();
    let d: Domain | undefined;
    try {
      d = new Domain(this, id, cfg.name, cfg);
      this.domains.set(id, d);
      opts.populate(d);
      this.attachServices(d, cfg.pages, true);
      opts.importStore(d);
      opts.attachDevices(d);
    } catch (e) {
      blockDevicesOf(this).detach(id);
      this.net.detach(id);
      if (d) {
        d.evtchn.closeAll();
        if (this.services.has(id)) this.xenstored.releaseDomain(id);
        for (const v of d.vcpus) v.cpu.mmu.dispose();
        this.releaseFrames(d);
      }
      this.services.delete(id);
      this.domains.delete(id);
      if (e instanceof OutOfMemoryError) throw new HostError('ENOMEM', e.message);
      throw e;
    }
    this.sched.addDomain(id, d.weight, d.cap);
    for (const v of d.vcpus) this.sched.insert(v);
    if (opts.paused) d.pauseCount = 1;
    this.events.emit('domain', this.info(d));
    if (!opts.paused) for (const v of d.vcpus) if (v.isRunnable) this.wake(v);
    return d;
  }

  /**
   * Live migration's reservation (Clark et al. §4, stage 0): a domain id the incoming domain
   * will have, so its frames can be allocated (owned by that id) while pre-copy fills them.
   * restoreDomain({domid}) consumes it; releaseDomid gives it and its frames back.
   */
  reserveDomid(): number {
    const id = this.allocDomid();
    this.reservedDomids.add(id);
    return id;
  }

  releaseDomid(id: number, mfns: Iterable<number>): void {
    this.reservedDomids.delete(id);
    if (this.domains.has(id)) return; // restored: the domain owns them now
    for (const mfn of mfns) if (mfn >= 0 && this.frames.owner(mfn) === id) this.frames.release(mfn);
  }

  private allocDomid(): number {
    // Domain IDs count up and are not reused while the host lives, as Xen's do.
    while (this.domains.has(this.nextDomid) || this.reservedDomids.has(this.nextDomid)) this.nextDomid++;
    if (this.nextDomid >= 0x7ff0) throw new HostError('ENOMEM', 'out of domain IDs');
    return this.nextDomid++;
  }

  private attachServices(d: Domain, pages: number, restored = false): void {
    const consoleLog = new ConsoleLog();
    const consolePage = new FramePage(this.mem, d.consoleMfn);
    const dom0Console = this.dom0Evtchn.bindInterdomain(d.id, d.consolePort);
    const backend = new ConsoleBackend(consolePage, consoleLog, () => this.dom0Evtchn.send(dom0Console));
    this.dom0Evtchn.listen(dom0Console, () => backend.handle());
    const hvConsole = new HvConsoleBuffer((b) => consoleLog.write(b));
    this.services.set(d.id, { console: consoleLog, backend, hvConsole });

    const storePage = new FramePage(this.mem, d.storeMfn);
    const dom0Store = this.dom0Evtchn.bindInterdomain(d.id, d.storePort);
    this.dom0Evtchn.listen(dom0Store, () => this.xenstored.handleRing(d.id));
    this.xenstored.introduceDomain(d.id, storePage.view, () => this.dom0Evtchn.send(dom0Store), restored ? { resetRing: false } : {
      layout: {
        name: d.name,
        memoryKiB: pages * 4,
        maxMemoryKiB: d.maxPages * 4,
        vcpus: d.vcpus.length,
        store: { port: d.storePort, ringRef: d.storeMfn },
        console: { port: d.consolePort, ringRef: d.consoleMfn },
      },
    });
  }

  /** The domain's console log (ring output and console_io). */
  console(id: number): ConsoleLog | undefined {
    return this.services.get(id)?.console;
  }

  /** Send keyboard input to a domain's console. */
  consoleInput(id: number, data: Uint8Array): void {
    this.services.get(id)?.backend.input(data);
  }

  list(): DomainInfo[] {
    return [...this.domains.values()].map((d) => this.info(d));
  }

  info(d: Domain): DomainInfo {
    return {
      domid: d.id,
      name: d.name,
      state: d.stateLetters,
      memoryKiB: reservationOf(d) * 4,
      maxMemoryKiB: d.maxPages * 4,
      vcpus: d.vcpus.length,
      cpuTimeNs: d.cpuTimeNs,
      shutdownReason: d.shutdownReason === undefined ? undefined : SHUTDOWN_NAMES[d.shutdownReason],
      crashReason: d.crashReason,
      weight: d.weight,
      cap: d.cap,
    };
  }

  private get(id: number): Domain {
    const d = this.domains.get(id);
    if (!d) throw new HostError('ENOENT', `no domain with id ${id}`);
    return d;
  }

  pause(id: number): void {
    this.get(id).pause();
  }

  unpause(id: number): void {
    this.get(id).unpause();
  }

  /** A domain takes another name (an incoming migration's NAME--incoming becomes NAME); refused if taken. */
  rename(id: number, name: string): void {
    const d = this.get(id);
    if ([...this.domains.values()].some((x) => x !== d && x.name === name && !x.dying)) throw new HostError('EEXIST', `a domain named "${name}" already exists`);
    d.name = name;
    this.events.emit('domain', this.info(d));
  }

  /** Ask the guest to shut down (xl shutdown/reboot): write control/shutdown in xenstore. */
  requestShutdown(id: number, reason: 'poweroff' | 'reboot' | 'suspend'): void {
    const d = this.get(id);
    this.xenstored.write(`/local/domain/${d.id}/control/shutdown`, reason);
  }

  /** Set the balloon target (xl mem-set): memory/target in KiB. */
  setMemoryTarget(id: number, kib: number): void {
    const d = this.get(id);
    this.xenstored.write(`/local/domain/${d.id}/memory/target`, String(Math.floor(kib)));
  }

  setSchedParams(id: number, params: { weight?: number; cap?: number }): void {
    const d = this.get(id);
    if (params.weight !== undefined) d.weight = params.weight;
    if (params.cap !== undefined) d.cap = params.cap;
    this.sched.setDomain(id, params);
  }

  /** Destroy a domain now (xl destroy): it stops and its memory returns to the host. */
  destroy(id: number): void {
    const d = this.get(id);
    d.dying = true;
    for (const v of d.vcpus) {
      v.cpu.requestStop();
      this.sched.remove(v);
      v.cpu.mmu.dispose();
    }
    this.sched.removeDomain(id);
    this.net.detach(id);
    blockDevicesOf(this).detach(id);
    d.evtchn.closeAll();
    this.services.get(id)?.hvConsole.flush();
    this.xenstored.releaseDomain(id);
    this.releaseFrames(d);
    this.domains.delete(id);
    this.services.delete(id);
    this.events.emit('domain', { ...this.info(d), state: '-----d', destroyed: true });
  }

  /** Drop every reference the domain holds and give its frames back (page types decide when). */
  private releaseFrames(d: Domain): void {
    this.pageTypes.releaseDomain(d);
    d.p2m.fill(-1);
  }

  // ---- running ------------------------------------------------------------------------------

  /**
   * Run one scheduling decision: fire due timers, pick a vCPU, run it for its slice.
   * Returns false when nothing is runnable.
   */
  step(): boolean {
    const now = this.clock.now();
    this.timers.runDue(now);
    // All physical CPUs are served from one thread: take them in turn.
    let pick: ReturnType<CreditScheduler['pick']>;
    for (let k = 0; k < this.pcpus && !pick; k++) {
      pick = this.sched.pick(now, this.nextPcpu);
      this.nextPcpu = (this.nextPcpu + 1) % this.pcpus;
    }
    if (!pick) return false;
    const v = pick.unit as VCpu;
    const untilTimer = this.timers.nextAt() - now;
    const sliceNs = Math.max(50_000, Math.min(pick.sliceNs, untilTimer, 10_000_000));
    const virtual = this.clock instanceof VirtualClock;
    const budget = virtual ? Math.max(1, Math.floor((sliceNs * VIRTUAL_INSNS_PER_US) / 1000)) : Math.max(2000, Math.floor(sliceNs * this.insnsPerNs));
    const t0 = virtual ? 0 : process.hrtime.bigint();
    this.current = v;
    let ran: number;
    try {
      ran = v.runSlice(budget);
    } finally {
      this.current = undefined;
    }
    let ranNs: number;
    if (virtual) {
      ranNs = (ran * 1000) / VIRTUAL_INSNS_PER_US;
      (this.clock as VirtualClock).advance(ranNs);
    } else {
      ranNs = Number(process.hrtime.bigint() - (t0 as bigint));
      if (ran > 10_000 && ranNs > 0) this.insnsPerNs = 0.8 * this.insnsPerNs + 0.2 * (ran / ranNs);
    }
    v.cpuTimeNs += ranNs;
    this.sched.charge(v, ranNs, this.clock.now());
    if (!v.isRunnable || !v.domain.runnable) this.sched.sleep(v);
    return true;
  }

  /** When something next needs the CPU while idle (a timer or scheduler accounting). */
  private nextWakeAt(now: number): number {
    return Math.min(this.timers.nextAt(), this.sched.nextEventAt(now));
  }

  /** Virtual time only: run until `ns` of system time have passed (or `until` holds). */
  runFor(ns: number, until?: () => boolean): void {
    if (!(this.clock instanceof VirtualClock)) throw new Error('runFor needs a virtual clock');
    const clock = this.clock;
    const end = clock.now() + ns;
    while (clock.now() < end) {
      if (until?.()) return;
      if (!this.step()) {
        const next = Math.min(this.nextWakeAt(clock.now()), end);
        if (next === Infinity) return;
        clock.advanceTo(next);
      }
    }
  }

  /** Run on the Node event loop (wall clock), yielding to I/O every few milliseconds. */
  start(): void {
    if (this.loop) return;
    this.loop = { timer: undefined, idle: false };
    this.schedule(0);
  }

  stop(): void {
    if (!this.loop) return;
    const t = this.loop.timer;
    if (t) {
      clearTimeout(t as NodeJS.Timeout);
      clearImmediate(t as NodeJS.Immediate);
    }
    this.loop = undefined;
  }

  private schedule(delayNs: number): void {
    const loop = this.loop;
    if (!loop) return;
    if (loop.timer) {
      clearTimeout(loop.timer as NodeJS.Timeout);
      clearImmediate(loop.timer as NodeJS.Immediate);
    }
    loop.idle = delayNs > 0;
    loop.timer = delayNs > 0 ? setTimeout(() => this.tick(), Math.min(2 ** 31 - 1, Math.ceil(delayNs / 1e6))) : setImmediate(() => this.tick());
  }

  private tick(): void {
    if (!this.loop) return;
    this.loop.timer = undefined;
    const start = Date.now();
    let busy = true;
    while (Date.now() - start < 8) {
      busy = this.step();
      if (!busy) break;
    }
    if (busy) return this.schedule(0);
    const now = this.clock.now();
    const next = this.nextWakeAt(now);
    if (next === Infinity) {
      if (this.loop) this.loop.idle = true;
      return;
    }
    this.schedule(Math.max(0, next - now) || 1);
  }

  /** Something became runnable or a timer was armed: make sure the loop runs soon. */
  private kickLoop(): void {
    if (this.loop?.idle) this.schedule(0);
  }
}

function loadImage(bytes: Uint8Array): XenImage {
  try {
    return loadXenImage(bytes);
  } catch (e) {
    throw new HostError('IMAGE', (e as Error).message);
  }
}
