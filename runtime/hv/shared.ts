/**
 * Layouts of the pages the hypervisor shares with a 32-bit PV guest (xen-abi.md §2–§4, from
 * xen/include/public/xen.h, arch-x86/xen.h; offsets as gcc -m32 lays them out), and accessors
 * that write through machine memory so every write is dirty-logged and invalidates code.
 */
import type { MachineMemory } from '../mem/machine.ts';

export const PAGE = 4096;

/** struct shared_info (2344 bytes). */
export const SI = {
  VCPU_INFO: 0, // vcpu_info[32], 64 bytes each
  VCPU_INFO_SIZE: 64,
  EVTCHN_PENDING: 2048, // u32[32]
  EVTCHN_MASK: 2176, // u32[32]
  WC_VERSION: 2304,
  WC_SEC: 2308,
  WC_NSEC: 2312,
  ARCH_MAX_PFN: 2316,
  ARCH_PFN_TO_MFN_FRAME_LIST_LIST: 2320,
  ARCH_NMI_REASON: 2324,
  WC_SEC_HI: 2340,
} as const;

/** struct vcpu_info (64 bytes), offsets within it. */
export const VI = {
  UPCALL_PENDING: 0, // u8
  UPCALL_MASK: 1, // u8
  PENDING_SEL: 4, // u32
  ARCH_CR2: 8,
  TIME: 32, // vcpu_time_info
} as const;

/** struct vcpu_time_info (32 bytes). */
export const VT = {
  VERSION: 0,
  TSC_TIMESTAMP: 8, // u64
  SYSTEM_TIME: 16, // u64
  TSC_TO_SYSTEM_MUL: 24, // u32
  TSC_SHIFT: 28, // i8
  FLAGS: 29, // u8
} as const;

/** struct start_info (1112 bytes). */
export const START = {
  MAGIC: 0,
  NR_PAGES: 32,
  SHARED_INFO: 36,
  FLAGS: 40,
  STORE_MFN: 44,
  STORE_EVTCHN: 48,
  CONSOLE_MFN: 52,
  CONSOLE_EVTCHN: 56,
  PT_BASE: 60,
  NR_PT_FRAMES: 64,
  MFN_LIST: 68,
  MOD_START: 72,
  MOD_LEN: 76,
  CMD_LINE: 80,
  CMD_LINE_SIZE: 1024,
  FIRST_P2M_PFN: 1104,
  NR_P2M_FRAMES: 1108,
  SIZE: 1112,
} as const;

/** A machine frame seen as a little-endian page; writes mark it dirty and drop its code. */
export class FramePage {
  private readonly dv: DataView;
  private readonly u8: Uint8Array;
  private readonly base: number;

  constructor(
    private readonly mem: MachineMemory,
    readonly mfn: number,
  ) {
    const f = mem.frame(mfn);
    this.dv = f.dv;
    this.u8 = f.u8;
    this.base = f.base;
  }

  /** Bytes of the page (read-only use; writes must go through the setters). */
  get bytes(): Uint8Array {
    return this.u8.subarray(this.base, this.base + PAGE);
  }

  /** An accessor in the shape devices use ({u8, dv, base, markDirty}). */
  get view(): { u8: Uint8Array; dv: DataView; base: number; markDirty: () => void } {
    return { u8: this.u8, dv: this.dv, base: this.base, markDirty: () => this.mem.noteWrite(this.mfn) };
  }

  u8At(off: number): number {
    return this.u8[this.base + off]!;
  }

  u32(off: number): number {
    return this.dv.getUint32(this.base + off, true);
  }

  setU8(off: number, v: number): void {
    this.mem.noteWrite(this.mfn);
    this.u8[this.base + off] = v;
  }

  setU16(off: number, v: number): void {
    this.mem.noteWrite(this.mfn);
    this.dv.setUint16(this.base + off, v, true);
  }

  setU32(off: number, v: number): void {
    this.mem.noteWrite(this.mfn);
    this.dv.setUint32(this.base + off, v >>> 0, true);
  }

  setU64(off: number, v: number): void {
    this.mem.noteWrite(this.mfn);
    this.dv.setUint32(this.base + off, v % 0x100000000, true);
    this.dv.setUint32(this.base + off + 4, Math.floor(v / 0x100000000), true);
  }

  setBytes(off: number, data: Uint8Array): void {
    this.mem.noteWrite(this.mfn);
    this.u8.set(data, this.base + off);
  }

  /** Set bit `bit` of the u32 at `off`; returns its previous value (test_and_set_bit). */
  testAndSet(off: number, bit: number): boolean {
    const v = this.u32(off);
    if (v & (1 << bit)) return true;
    this.setU32(off, v | (1 << bit));
    return false;
  }

  clearBit(off: number, bit: number): void {
    const v = this.u32(off);
    if (v & (1 << bit)) this.setU32(off, v & ~(1 << bit));
  }

  testBit(off: number, bit: number): boolean {
    return (this.u32(off) & (1 << bit)) !== 0;
  }

  zero(): void {
    this.mem.noteWrite(this.mfn);
    this.u8.fill(0, this.base, this.base + PAGE);
  }
}
