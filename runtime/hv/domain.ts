/**
 * A domain: its memory (pseudo-physical → machine map), vCPUs, event channels, grant table,
 * shared_info page and lifecycle (xl's r/b/p/s/c/d states and SCHEDOP_shutdown reasons).
 */
import type { MachineMemory } from '../mem/machine.ts';
import type { FrameTable } from '../mem/frames.ts';
import type { CodeCache } from '../cpu/decoder.ts';
import type { Clock } from './clock.ts';
import { EventChannels } from './evtchn.ts';
import { FramePage, SI } from './shared.ts';
import { VCpu } from './vcpu.ts';

export const SHUTDOWN_POWEROFF = 0;
export const SHUTDOWN_REBOOT = 1;
export const SHUTDOWN_SUSPEND = 2;
export const SHUTDOWN_CRASH = 3;
export const SHUTDOWN_WATCHDOG = 4;
export const SHUTDOWN_SOFT_RESET = 5;
export const SHUTDOWN_NAMES = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'] as const;
export type ShutdownName = (typeof SHUTDOWN_NAMES)[number];

/** What a domain needs from its host. */
export interface HostContext {
  readonly mem: MachineMemory;
  readonly frames: FrameTable;
  readonly clock: Clock;
  readonly code: CodeCache;
  domain(id: number): Domain | undefined;
  /** Event channels of any domain, Domain-0 (the toolstack) included. */
  evtchnOf(id: number): EventChannels | undefined;
  /** A vCPU became runnable (event, timer, unpause). */
  wake(v: VCpu): void;
  /** The domain shut down (any reason), crashed, or is being destroyed. */
  domainStateChanged(d: Domain): void;
  /** Run `fn` at system time `at` (ns); returns a function that cancels it. */
  timer(at: number, fn: () => void): () => void;
  /** Output on the hypervisor console from a domain (console_io): Xen logs it per domain. */
  hvConsole(d: Domain, bytes: Uint8Array): void;
  /** Diagnostics about a domain (crash reasons, refused operations), for the host's log. */
  log(d: Domain, message: string): void;
}

export interface DomainConfig {
  name: string;
  /** Initial reservation and maximum, in pages (4 KiB). */
  pages: number;
  maxPages: number;
  vcpus: number;
  maxVcpus?: number;
  /** Credit scheduler weight (1–65535) and cap (percent of one CPU, 0 = none). */
  weight?: number;
  cap?: number;
}

export class Domain {
  /** Pseudo-physical frame → machine frame (-1 = none: ballooned out or beyond nr_pages). */
  p2m: Int32Array;
  readonly sharedInfo: FramePage;
  readonly evtchn: EventChannels;
  readonly vcpus: VCpu[] = [];
  /** xl pause count: the domain runs only at 0. */
  pauseCount = 0;
  /** SCHEDOP_shutdown reason once the domain has shut down (or crashed). */
  shutdownReason: number | undefined;
  /** Being destroyed: no longer runs, resources going. */
  dying = false;
  weight: number;
  cap: number;
  maxPages: number;
  /** vm_assist bits (VMASST_TYPE_*). */
  vmAssist = 0;
  /** Filled in by the domain builder. */
  startInfoMfn = 0;
  consoleMfn = 0;
  consolePort = 0;
  storeMfn = 0;
  storePort = 0;
  readonly createdAt: number;
  /** Last crash explanation (for `describe` and the host log). */
  crashReason: string | undefined;
  /** Per-domain state other subsystems attach (page types, grant table, devices). */
  readonly ext = new Map<string, unknown>();

  constructor(
    readonly host: HostContext,
    readonly id: number,
    public name: string,
    cfg: DomainConfig,
  ) {
    this.maxPages = cfg.maxPages;
    this.weight = cfg.weight ?? 256;
    this.cap = cfg.cap ?? 0;
    this.p2m = new Int32Array(cfg.maxPages).fill(-1);
    this.createdAt = host.clock.now();
    // shared_info: a hypervisor page shared with the guest; we account it to the domain. Its
    // machine address travels in a 32-bit field (start_info.shared_info), so it lives below
    // 4 GiB, as Xen's xenheap pages for 32-bit guests do.
    const si = host.frames.allocateBelow(id, 1 << 20);
    this.sharedInfo = new FramePage(host.mem, si);
    this.sharedInfo.zero();
    const self = this;
    this.evtchn = new EventChannels({
      domid: id,
      get sharedInfo() {
        return self.sharedInfo;
      },
      get nrVcpus() {
        return self.vcpus.length;
      },
      kick: (v) => self.vcpus[v]?.kick(),
      peer: (d) => host.evtchnOf(d),
    });
    for (let v = 0; v < cfg.vcpus; v++) this.vcpus.push(new VCpu(this, v));
    // Every vCPU starts with events masked (xen-abi.md §2).
    for (let v = 0; v < 32; v++) this.sharedInfo.setU8(SI.VCPU_INFO + v * SI.VCPU_INFO_SIZE + 1, 1);
    this.updateWallclock();
  }

  /**
   * shared_info wallclock: the wall-clock time at system time 0, under its own version
   * seqlock (xen.h: wc_version odd while updating; wc_sec_hi carries seconds above 32 bits).
   */
  updateWallclock(): void {
    const si = this.sharedInfo;
    const epoch = this.host.clock.epochNs;
    const sec = Math.floor(epoch / 1e9);
    const ver = si.u32(SI.WC_VERSION);
    si.setU32(SI.WC_VERSION, (ver + 1) | 1);
    si.setU32(SI.WC_SEC, sec % 0x100000000);
    si.setU32(SI.WC_NSEC, Math.floor(epoch - sec * 1e9));
    si.setU32(SI.WC_SEC_HI, Math.floor(sec / 0x100000000));
    si.setU32(SI.WC_VERSION, ((ver + 1) | 1) + 1);
  }

  /** Pages currently backing the guest's pseudo-physical space (XENMEM_current_reservation). */
  get currentPages(): number {
    let n = 0;
    for (let p = 0; p < this.p2m.length; p++) if (this.p2m[p]! >= 0) n++;
    return n;
  }

  get isShutdown(): boolean {
    return this.shutdownReason !== undefined;
  }

  get paused(): boolean {
    return this.pauseCount > 0;
  }

  /** Whether vCPUs may run now. */
  get runnable(): boolean {
    return !this.paused && !this.isShutdown && !this.dying;
  }

  /** xl's six state letters: r b p s c d (xen-abi.md §9). */
  get stateLetters(): string {
    const running = this.runnable && this.vcpus.some((v) => v.isRunnable);
    const blocked = this.runnable && !running;
    const reason = this.shutdownReason;
    return [
      running ? 'r' : '-',
      blocked ? 'b' : '-',
      this.paused ? 'p' : '-',
      reason !== undefined && reason !== SHUTDOWN_CRASH ? 's' : '-',
      reason === SHUTDOWN_CRASH ? 'c' : '-',
      this.dying ? 'd' : '-',
    ].join('');
  }

  /** CPU time consumed by all vCPUs, ns. */
  get cpuTimeNs(): number {
    return this.vcpus.reduce((t, v) => t + v.cpuTimeNs, 0);
  }

  pause(): void {
    this.pauseCount++;
    for (const v of this.vcpus) v.cpu.requestStop();
    this.host.domainStateChanged(this);
  }

  unpause(): void {
    if (this.pauseCount === 0) return;
    this.pauseCount--;
    if (this.pauseCount === 0) for (const v of this.vcpus) if (v.isRunnable) this.host.wake(v);
    this.host.domainStateChanged(this);
  }

  /** SCHEDOP_shutdown (or the toolstack's view of a crash): stop every vCPU with a reason. */
  shutdown(reason: number): void {
    if (this.isShutdown || this.dying) return;
    this.shutdownReason = reason;
    for (const v of this.vcpus) v.cpu.requestStop();
    this.host.domainStateChanged(this);
  }

  /** domain_crash(): the guest did something it cannot recover from. Only this domain stops. */
  crash(why: string): void {
    if (this.isShutdown || this.dying) return;
    this.crashReason = why;
    this.host.log(this, `crashed: ${why}`);
    this.shutdown(SHUTDOWN_CRASH);
  }

  /** Machine frame of a pseudo-physical frame, or -1. */
  mfnOf(pfn: number): number {
    return pfn >= 0 && pfn < this.p2m.length ? this.p2m[pfn]! : -1;
  }

  /** Does this domain own machine frame `mfn`? */
  owns(mfn: number): boolean {
    return this.host.frames.owner(mfn) === this.id;
  }
}
