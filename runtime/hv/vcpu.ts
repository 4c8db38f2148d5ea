/**
 * A virtual CPU of a PV guest: the IA-32 CPU plus what Xen adds around it — the hypercall
 * trap, exception and event bounce frames onto the guest kernel stack, the virtual interrupt
 * flag (the upcall mask), the trap table, timers, and block/wake.
 *
 * Sources: xen/arch/x86/x86_64/compat/entry.S (compat_create_bounce_frame), pv/traps.c,
 * pv/iret.c, pv/callback.c; semantics summarized in xen-abi.md §4 and §11.
 */
import { CS, ESP, GP, IF, IOPL, NT, PFV, RF, SSR, TF, VM } from '../cpu/constants.ts';
import { Cpu, CpuFault, type ExceptionInfo } from '../cpu/index.ts';
import type { Domain } from './domain.ts';
import { SI, VI, VT } from './shared.ts';
import { VIRQ_TIMER } from './evtchn.ts';
import { hypercall } from './hypercall.ts';
import { tryEmulatePtWrite } from './ptwr.ts';

/** Selectors of the flat segments Xen provides (arch-x86/xen-x86_32.h). */
export const FLAT_RING1_CS = 0xe019;
export const FLAT_RING1_DS = 0xe021;
export const FLAT_RING3_CS = 0xe02b;
export const FLAT_RING3_DS = 0xe033;
/** First GDT entry Xen reserves (page 14 of the GDT, 512 entries a page). */
export const FIRST_RESERVED_GDT_ENTRY = 14 * 512;
export const HYPERCALL_VECTOR = 0x82;

/** trap_info.flags bit 2: the handler runs with events disabled (an "interrupt gate"). */
const TI_DISABLE_EVENTS = 4;

/** Virtual-time speed: guest instructions per virtual microsecond (100 MIPS-equivalent). */
export const VIRTUAL_INSNS_PER_US = 100;

export interface TrapEntry {
  flags: number;
  cs: number;
  eip: number;
}

export class VCpu {
  readonly cpu: Cpu;
  /** Guest trap table (set_trap_table), indexed by vector. */
  readonly traps: (TrapEntry | undefined)[] = new Array(256);
  eventCs = 0;
  eventEip = 0;
  failsafeCs = 0;
  failsafeEip = 0;
  /** Ring-1 stack for bounces from ring 3 (stack_switch). */
  kernelSs = 0;
  kernelSp = 0;
  /** vCPU is up (vCPU 0 at boot; others after VCPUOP_up). */
  up: boolean;
  /** Has a register context (vCPU 0 from the builder; others from VCPUOP_initialise). */
  initialised: boolean;
  /** Waiting in SCHEDOP_block / SCHEDOP_poll. */
  blocked = false;
  /** SCHEDOP_poll: the ports that end the wait. */
  pollPorts: number[] | undefined;
  /** Called once when the vCPU next wakes (cancels a poll timeout). */
  onWake: (() => void) | undefined;
  /** One-shot timer deadline (system time ns), 0 = none. */
  singleshot = 0;
  /** Periodic VIRQ_TIMER period (ns, 0 = stopped) and next expiry. */
  periodNs = 10_000_000;
  periodicNext = 0;
  cpuTimeNs = 0;
  /** Credit-scheduler bookkeeping owned by the scheduler. */
  sched: unknown;
  /** Virtual-clock accounting for the slice in progress. */
  private sliceStartIcount = 0;
  private sliceStartNs = 0;
  private running = false;
  private inHypercall = false;
  /** Guest GDT frames (set_gdt) and entry count. */
  gdtFrames: number[] = [];
  gdtEntries = 0;

  constructor(
    readonly domain: Domain,
    readonly id: number,
  ) {
    const host = domain.host;
    this.cpu = new Cpu(
      host.mem,
      {
        exception: (_cpu, info) => this.onException(info),
        rdtsc: () => BigInt(Math.floor(this.now())),
        descriptor: (_cpu, sel) => this.descriptor(sel),
      },
      host.code,
    );
    this.up = id === 0;
    this.initialised = id === 0;
    this.periodicNext = host.clock.now() + this.periodNs;
  }

  get isRunnable(): boolean {
    return this.up && !this.blocked;
  }

  // SchedUnit (the credit scheduler's view of a vCPU).
  get domainId(): number {
    return this.domain.id;
  }

  get vcpuId(): number {
    return this.id;
  }

  get runnable(): boolean {
    return this.isRunnable && this.domain.runnable;
  }

  /** System time as this vCPU sees it now (mid-slice on a virtual clock). */
  now(): number {
    const clock = this.domain.host.clock;
    if (clock.kind === 'virtual' && this.running) return this.sliceStartNs + (this.cpu.icount - this.sliceStartIcount) * (1000 / VIRTUAL_INSNS_PER_US);
    return clock.now();
  }

  // ---- shared_info helpers -------------------------------------------------------------

  private get vi(): number {
    return SI.VCPU_INFO + this.id * SI.VCPU_INFO_SIZE;
  }

  get upcallMask(): number {
    return this.domain.sharedInfo.u8At(this.vi + VI.UPCALL_MASK);
  }

  set upcallMask(v: number) {
    this.domain.sharedInfo.setU8(this.vi + VI.UPCALL_MASK, v);
  }

  get upcallPending(): boolean {
    return this.domain.sharedInfo.u8At(this.vi + VI.UPCALL_PENDING) !== 0;
  }

  /**
   * Publish vcpu_time_info under its version seqlock. TSC runs at 1 GHz (= system time in ns),
   * so tsc_to_system_mul = 2^31 with shift 1 gives ((Δtsc << 1) × 2^31) >> 32 = Δtsc.
   */
  updateTime(): void {
    const si = this.domain.sharedInfo;
    const t = this.vi + VI.TIME;
    const now = Math.floor(this.now());
    const ver = si.u32(t + VT.VERSION);
    si.setU32(t + VT.VERSION, (ver + 1) | 1);
    si.setU64(t + VT.TSC_TIMESTAMP, now);
    si.setU64(t + VT.SYSTEM_TIME, now);
    si.setU32(t + VT.TSC_TO_SYSTEM_MUL, 0x80000000);
    si.setU8(t + VT.TSC_SHIFT, 1);
    si.setU8(t + VT.FLAGS, 0);
    si.setU32(t + VT.VERSION, ((ver + 1) | 1) + 1);
  }

  // ---- running --------------------------------------------------------------------------

  /**
   * Run for up to `budget` instructions. Fires the periodic timer if due, delivers a pending
   * upcall, then executes. Returns the instructions retired.
   */
  runSlice(budget: number): number {
    const host = this.domain.host;
    const start = this.cpu.icount;
    this.sliceStartIcount = start;
    this.sliceStartNs = host.clock.now();
    this.running = true;
    try {
      this.firePeriodic();
      this.updateTime();
      this.deliverUpcall();
      if (this.isRunnable && this.domain.runnable) this.cpu.run(budget);
    } finally {
      this.running = false;
    }
    return this.cpu.icount - start;
  }

  /** The periodic timer runs only while the vCPU runs (xen-abi.md §11). */
  firePeriodic(): void {
    if (this.periodNs === 0) return;
    const now = this.now();
    if (now >= this.periodicNext) {
      this.periodicNext = now + this.periodNs;
      this.domain.evtchn.sendVirq(VIRQ_TIMER, this.id);
    }
  }

  /** An event is pending for this vCPU: wake it from block/poll, interrupt it if running. */
  kick(): void {
    if (this.blocked) {
      if (this.pollPorts && !this.pollPorts.some((p) => this.domain.evtchn.isPending(p)) && !this.upcallPendingUnmasked()) {
        return;
      }
      this.unblock();
    }
    // An event raised while this vCPU is in a hypercall (its own send, or a backend answering
    // it synchronously) is delivered on the way back to the guest; otherwise interrupt it.
    if (this.running && !this.inHypercall) this.cpu.requestStop();
  }

  private upcallPendingUnmasked(): boolean {
    return this.upcallPending && this.upcallMask === 0;
  }

  unblock(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.pollPorts = undefined;
    const w = this.onWake;
    this.onWake = undefined;
    w?.();
    this.domain.host.wake(this);
  }

  /** SCHEDOP_block: events re-enabled atomically; no sleep if one is already pending. */
  block(): void {
    this.upcallMask = 0;
    if (this.upcallPending) return;
    this.blocked = true;
    this.cpu.requestStop();
  }

  // ---- exceptions, hypercalls and bounces --------------------------------------------------

  private onException(info: ExceptionInfo): void {
    const cpu = this.cpu;
    if (info.soft && info.vector === HYPERCALL_VECTOR && cpu.cpl === 1) {
      this.inHypercall = true;
      try {
        hypercall(this);
      } finally {
        this.inHypercall = false;
      }
      if (!this.domain.isShutdown) this.deliverUpcall();
      return;
    }
    if (info.soft) {
      // INT n / INT3 / INTO: allowed only through a trap-table entry whose DPL admits the
      // caller; otherwise #GP with the IDT-style error code (vector << 3 | 2).
      const t = this.traps[info.vector];
      if (!t || (t.flags & 3) < cpu.cpl) {
        cpu.eip = info.faultEip;
        return this.bounceException(GP, (info.vector << 3) | 2);
      }
      return this.bounce(t, -1);
    }
    return this.bounceException(info.vector, info.errorCode);
  }

  /** Reflect a processor exception to the guest's handler, or crash the domain if it has none. */
  bounceException(vector: number, errorCode: number): void {
    // A write to one of the guest's own page tables under writable_pagetables is emulated
    // (ptwr), not reflected (xen-abi.md §7).
    if (vector === PFV && this.cpu.cpl === 1 && (errorCode & 3) === 3 && tryEmulatePtWrite(this, this.cpu.cr2, errorCode)) return;
    const t = this.traps[vector];
    if (vector === PFV) this.domain.sharedInfo.setU32(this.vi + VI.ARCH_CR2, this.cpu.cr2);
    if (!t || t.eip === 0 && t.cs === 0) {
      const what = vector === PFV ? `page fault at ${hex(this.cpu.cr2)} (error ${errorCode})` : `exception ${vector}${errorCode >= 0 ? ` (error ${errorCode})` : ''}`;
      this.domain.crash(`${what} at eip ${hex(this.cpu.eip)} with no handler`);
      return;
    }
    this.bounce(t, errorCode);
  }

  /** Build Xen's bounce frame and enter a guest handler (compat_create_bounce_frame). */
  bounce(t: TrapEntry, errorCode: number, forceMask = false): void {
    const cpu = this.cpu;
    let cs = t.cs & 0xffff;
    if ((cs & 0xfffc) === 0) {
      this.domain.crash(`trap handler with a null code selector`);
      return;
    }
    if ((cs & 3) === 0) cs |= 1; // a guest kernel never runs in ring 0
    const oldCs = cpu.sel[CS]!, oldEip = cpu.eip, oldEsp = cpu.r32[ESP]!, oldSs = cpu.sel[SSR]!;
    const mask = this.upcallMask;
    const eflags = (cpu.getFlags() & ~IF) | (mask ? 0 : IF);
    const fromUser = (oldCs & 3) === 3;
    try {
      cpu.setSegment(CS, cs);
      if (fromUser) {
        cpu.setSegment(SSR, this.kernelSs);
        cpu.r32[ESP] = this.kernelSp;
        cpu.push32(oldSs);
        cpu.push32(oldEsp);
      }
      cpu.push32(eflags);
      cpu.push32(oldCs | (mask << 16));
      cpu.push32(oldEip);
      if (errorCode >= 0) cpu.push32(errorCode);
    } catch (e) {
      if (!(e instanceof CpuFault)) throw e;
      this.domain.crash(`cannot write the exception frame to the guest stack at ${hex(cpu.r32[ESP]!)} (fault ${e.vector})`);
      return;
    }
    cpu.eip = t.eip >>> 0;
    cpu.setFlags((cpu.getFlags() & ~(TF | NT | RF | VM)) | IF);
    if (forceMask || t.flags & TI_DISABLE_EVENTS) this.upcallMask = 1;
    cpu.stopBlock = true;
  }

  /** Enter the event callback if an upcall is pending and unmasked. */
  deliverUpcall(): void {
    if (!this.upcallPendingUnmasked() || this.domain.isShutdown) return;
    if ((this.eventCs & 0xfffc) === 0 && this.eventEip === 0) return; // no callback registered yet
    this.cpu.halted = false;
    this.bounce({ flags: 0, cs: this.eventCs, eip: this.eventEip }, -1, true);
  }

  /**
   * HYPERVISOR_iret: pop EAX, EIP, CS, EFLAGS [, ESP, SS] from the guest stack (pv/iret.c,
   * compat_iret). EFLAGS.IF becomes the inverse of the upcall mask; IOPL is not the guest's.
   */
  iret(): number {
    const cpu = this.cpu;
    const sp = cpu.r32[ESP]!;
    const ssb = cpu.segBase[SSR]!;
    let eax: number, eip: number, cs: number, eflags: number, esp = 0, ss = 0;
    try {
      eax = cpu.read32((ssb + sp) | 0);
      eip = cpu.read32((ssb + sp + 4) | 0);
      cs = cpu.read32((ssb + sp + 8) | 0) & 0xffff;
      eflags = cpu.read32((ssb + sp + 12) | 0);
      if ((cs & 3) === 3) {
        esp = cpu.read32((ssb + sp + 16) | 0);
        ss = cpu.read32((ssb + sp + 20) | 0) & 0xffff;
      }
    } catch (e) {
      if (!(e instanceof CpuFault)) throw e;
      this.domain.crash(`iret with an unreadable frame at ${hex(sp)}`);
      return 0;
    }
    if ((cs & 3) === 0) cs |= 1;
    if ((cs & 0xfffc) === 0) {
      this.domain.crash('iret to a null code selector');
      return 0;
    }
    this.upcallMask = eflags & IF ? 0 : 1;
    cpu.setSegment(CS, cs);
    if ((cs & 3) === 3) {
      cpu.setSegment(SSR, ss);
      cpu.r32[ESP] = esp;
    } else cpu.r32[ESP] = (sp + 16) | 0;
    cpu.setFlags((eflags & ~(IOPL | VM | NT)) | IF);
    cpu.eip = eip >>> 0;
    cpu.stopBlock = true;
    return eax;
  }

  /** Descriptors: Xen's reserved flat segments, then the guest's own GDT frames. */
  private descriptor(sel: number): [number, number] | undefined {
    if (sel & 4) return undefined; // LDTs are not supported
    const index = sel >> 3;
    if (index >= FIRST_RESERVED_GDT_ENTRY) {
      // Flat 4 GiB segments: base 0, limit 0xfffff pages, G=1, D=1, present.
      switch (index - FIRST_RESERVED_GDT_ENTRY) {
        case 3: return [0x0000ffff, 0x00cfba00]; // ring-1 code (DPL 1)
        case 4: return [0x0000ffff, 0x00cfb200]; // ring-1 data
        case 5: return [0x0000ffff, 0x00cffa00]; // ring-3 code (DPL 3)
        case 6: return [0x0000ffff, 0x00cff200]; // ring-3 data
        default: return undefined;
      }
    }
    if (index >= this.gdtEntries) return undefined;
    const mfn = this.gdtFrames[index >> 9];
    if (mfn === undefined) return undefined;
    const f = this.domain.host.mem.frame(mfn);
    const lo = f.dv.getInt32(f.base + (index & 511) * 8, true);
    const hi = f.dv.getInt32(f.base + (index & 511) * 8 + 4, true);
    // Xen's check_descriptor: no ring-0 code or data segments for a PV guest.
    if (hi & 0x1000 && ((hi >>> 13) & 3) === 0) return undefined;
    return [lo, hi];
  }
}

export function hex(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}

