/**
 * The IA-32 CPU: architectural state, lazy flags, memory access through the MMU, and the run
 * loop over pre-decoded blocks. It knows nothing of Xen: every exception and software
 * interrupt goes to the embedder's one callback (`CpuHooks.exception`).
 */
import { AF, CF, CR0_PE, CS, ESP, OF, PF, PFV, SF, SSR, ZF } from './constants.ts';
import { Mmu } from './mmu.ts';
import { CodeCache, decodeBlock } from './decoder.ts';
import { HOT_THRESHOLD, translate } from './translate.ts';
import type { Block, Insn } from './insn.ts';
import type { MachineMemory } from '../mem/machine.ts';
import { CpuFault } from './fault.ts';
import { LF_ADC1, LF_ADD, LF_SBB1, LF_SUB, LF_LOGIC, PARITY } from './lazyflags.ts';

export { CpuFault };

export interface ExceptionInfo {
  vector: number;
  /** -1 when the vector pushes no error code. */
  errorCode: number;
  /** Software interrupt (INT n, INT3, INTO): EIP already points past the instruction. */
  soft: boolean;
  /** The instruction that raised it (for faults, also the current EIP). */
  faultEip: number;
}

export interface CpuHooks {
  /**
   * Every exception and software interrupt. On return, execution continues at `cpu.eip`
   * (the faulting instruction for faults, the next one for traps) unless the embedder changed
   * it or called `cpu.halt()`.
   */
  exception(cpu: Cpu, info: ExceptionInfo): void;
  /** Time-stamp counter (RDTSC), from the injected clock. */
  rdtsc(cpu: Cpu): bigint;
  /** Port I/O in ring 0 (IN/OUT). Returns the value read. Optional: reads give all ones. */
  io?(cpu: Cpu, port: number, size: 8 | 16 | 32, write: boolean, value: number): number;
  /**
   * The 8-byte descriptor for a selector, or undefined if outside the table. Default: read the
   * GDT/LDT through linear memory. An embedder (Xen) supplies its own tables.
   */
  descriptor?(cpu: Cpu, selector: number): [number, number] | undefined;
}

export const STOP_BUDGET = 0;
export const STOP_HALT = 1;
export const STOP_REQUEST = 2;

export class Cpu {
  // ---- registers ---------------------------------------------------------------------------
  /** General registers (0–7) and the constant zero slot (8), with 16- and 8-bit views. */
  readonly r32 = new Int32Array(16);
  readonly r16 = new Uint16Array(this.r32.buffer);
  readonly r8 = new Uint8Array(this.r32.buffer);
  eip = 0;
  /** Materialized EFLAGS; the arithmetic bits in `lazy` are stale and computed on demand. */
  flags = 0x2;
  lazy = 0;
  lfOp = 0;
  lfA = 0;
  lfB = 0;
  lfRes = 0;
  lfSign = 0;

  /** Segment selectors (ES CS SS DS FS GS) and bases (index 6, 7 unused, always 0). */
  readonly sel = new Uint16Array(8);
  readonly segBase = new Int32Array(8);
  cpl = 0;

  cr0 = CR0_PE;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  efer = 0;
  readonly dr = new Int32Array(8);
  gdtBase = 0;
  gdtLimit = 0;
  idtBase = 0;
  idtLimit = 0;
  ldtSel = 0;
  ldtBase = 0;
  ldtLimit = 0;
  trSel = 0;

  /** Instructions retired since creation. */
  icount = 0;
  halted = false;
  /** Set by a handler to end the current block after this instruction. */
  stopBlock = false;
  /** Translated blocks report how many instructions completed, or which one faulted. */
  exitK = 0;
  faultK = 0;
  /** Use the translation tier for hot blocks (XENOFORM_CPU_TIER=interp turns it off). */
  translate = process.env.XENOFORM_CPU_TIER !== 'interp';
  private stopRequested = false;

  readonly mmu: Mmu;
  readonly hooks: CpuHooks;
  readonly code: CodeCache;

  constructor(mem: MachineMemory, hooks: CpuHooks, code?: CodeCache) {
    this.hooks = hooks;
    this.code = code ?? new CodeCache(mem);
    this.mmu = new Mmu(this, mem);
  }

  // ---- lazy flags (SDM Vol. 1 §3.4.3; Vol. 2 per-instruction "Flags Affected") ----------

  cf(): number {
    if ((this.lazy & CF) === 0) return this.flags & 1;
    switch (this.lfOp) {
      case LF_ADD: return (this.lfRes >>> 0) < (this.lfA >>> 0) ? 1 : 0;
      case LF_ADC1: return (this.lfRes >>> 0) <= (this.lfA >>> 0) ? 1 : 0;
      case LF_SUB: return (this.lfA >>> 0) < (this.lfB >>> 0) ? 1 : 0;
      case LF_SBB1: return (this.lfA >>> 0) <= (this.lfB >>> 0) ? 1 : 0;
      default: return 0;
    }
  }

  zf(): number {
    if ((this.lazy & ZF) === 0) return (this.flags >> 6) & 1;
    return this.lfRes === 0 ? 1 : 0;
  }

  sf(): number {
    if ((this.lazy & SF) === 0) return (this.flags >> 7) & 1;
    return (this.lfRes & this.lfSign) !== 0 ? 1 : 0;
  }

  of(): number {
    if ((this.lazy & OF) === 0) return (this.flags >> 11) & 1;
    switch (this.lfOp) {
      case LF_ADD:
      case LF_ADC1:
        return ((this.lfA ^ this.lfRes) & (this.lfB ^ this.lfRes) & this.lfSign) !== 0 ? 1 : 0;
      case LF_SUB:
      case LF_SBB1:
        return ((this.lfA ^ this.lfB) & (this.lfA ^ this.lfRes) & this.lfSign) !== 0 ? 1 : 0;
      default:
        return 0;
    }
  }

  pf(): number {
    if ((this.lazy & PF) === 0) return (this.flags >> 2) & 1;
    return PARITY[this.lfRes & 0xff]! >> 2;
  }

  af(): number {
    if ((this.lazy & AF) === 0) return (this.flags >> 4) & 1;
    return this.lfOp === LF_LOGIC ? 0 : ((this.lfA ^ this.lfB ^ this.lfRes) >> 4) & 1;
  }

  /** EFLAGS with every lazy flag computed. */
  getFlags(): number {
    const lazy = this.lazy;
    if (lazy === 0) return this.flags;
    let f = this.flags & ~lazy;
    if (lazy & CF) f |= this.cf();
    if (lazy & PF) f |= this.pf() << 2;
    if (lazy & AF) f |= this.af() << 4;
    if (lazy & ZF) f |= this.zf() << 6;
    if (lazy & SF) f |= this.sf() << 7;
    if (lazy & OF) f |= this.of() << 11;
    this.flags = f;
    this.lazy = 0;
    return f;
  }

  /** Replace EFLAGS outright (bit 1 always reads 1). */
  setFlags(v: number): void {
    this.flags = (v & ~0x8028) | 0x2;
    this.lazy = 0;
  }

  /** Make CF concrete and the other arithmetic flags lazy (INC/DEC keep CF). */
  keepCarry(): void {
    if (this.lazy & CF) this.flags = (this.flags & ~CF) | this.cf();
  }

  // ---- memory (linear addresses; segment bases are added by the caller) ------------------

  read8(addr: number): number {
    const m = this.mmu;
    const idx = (addr >>> 12) & 0x3ff;
    if (m.tagR[idx] === addr >>> 12) return m.u8[idx]![m.base[idx]! + (addr & 0xfff)]!;
    return m.read8Slow(addr);
  }

  read16(addr: number): number {
    const m = this.mmu;
    const idx = (addr >>> 12) & 0x3ff;
    if (m.tagR[idx] === addr >>> 12 && (addr & 0xfff) < 0xfff) return m.dv[idx]!.getUint16(m.base[idx]! + (addr & 0xfff), true);
    return m.read16Slow(addr);
  }

  read32(addr: number): number {
    const m = this.mmu;
    const idx = (addr >>> 12) & 0x3ff;
    if (m.tagR[idx] === addr >>> 12 && (addr & 0xfff) < 0xffd) return m.dv[idx]!.getInt32(m.base[idx]! + (addr & 0xfff), true);
    return m.read32Slow(addr);
  }

  write8(addr: number, v: number): void {
    const m = this.mmu;
    const idx = (addr >>> 12) & 0x3ff;
    if (m.tagW[idx] === addr >>> 12) m.u8[idx]![m.base[idx]! + (addr & 0xfff)] = v;
    else m.write8Slow(addr, v);
  }

  write16(addr: number, v: number): void {
    const m = this.mmu;
    const idx = (addr >>> 12) & 0x3ff;
    if (m.tagW[idx] === addr >>> 12 && (addr & 0xfff) < 0xfff) m.dv[idx]!.setUint16(m.base[idx]! + (addr & 0xfff), v, true);
    else m.write16Slow(addr, v);
  }

  write32(addr: number, v: number): void {
    const m = this.mmu;
    const idx = (addr >>> 12) & 0x3ff;
    if (m.tagW[idx] === addr >>> 12 && (addr & 0xfff) < 0xffd) m.dv[idx]!.setInt32(m.base[idx]! + (addr & 0xfff), v, true);
    else m.write32Slow(addr, v);
  }

  /** Fault now if `size` bytes at `addr` cannot be written (read-modify-write instructions). */
  probeWrite(addr: number, size: number): void {
    const m = this.mmu;
    const idx = (addr >>> 12) & 0x3ff;
    if (m.tagW[idx] === addr >>> 12 && (addr & 0xfff) <= 4096 - size) return;
    m.probeWrite(addr);
    if ((addr & 0xfff) > 4096 - size) m.probeWrite(((addr | 0xfff) + 1) | 0);
  }

  // ---- stack -------------------------------------------------------------------------------

  push32(v: number): void {
    const sp = (this.r32[ESP]! - 4) | 0;
    this.write32((sp + this.segBase[SSR]!) | 0, v);
    this.r32[ESP] = sp;
  }

  pop32(): number {
    const sp = this.r32[ESP]!;
    const v = this.read32((sp + this.segBase[SSR]!) | 0);
    this.r32[ESP] = (sp + 4) | 0;
    return v;
  }

  push16(v: number): void {
    const sp = (this.r32[ESP]! - 2) | 0;
    this.write16((sp + this.segBase[SSR]!) | 0, v);
    this.r32[ESP] = sp;
  }

  pop16(): number {
    const sp = this.r32[ESP]!;
    const v = this.read16((sp + this.segBase[SSR]!) | 0);
    this.r32[ESP] = (sp + 2) | 0;
    return v;
  }

  // ---- privilege and control ----------------------------------------------------------------

  /** Load a segment register without descriptor checks (embedder setup, e.g. Xen's entry state). */
  setSegment(seg: number, selector: number, base = 0): void {
    this.sel[seg] = selector;
    this.segBase[seg] = base;
    if (seg === CS) this.setCpl(selector & 3);
  }

  setCpl(cpl: number): void {
    if (cpl === this.cpl) return;
    this.cpl = cpl;
    this.mmu.selectPrivilege(cpl === 3);
    this.stopBlock = true;
  }

  /** MOV to CR0/CR3/CR4: a fault (bad PDPTEs) leaves the register as it was. */
  setCr0(v: number): void {
    const old = this.cr0;
    this.cr0 = v | CR0_PE;
    this.reloadPaging(() => (this.cr0 = old));
  }

  setCr3(v: number): void {
    const old = this.cr3;
    this.cr3 = v;
    this.reloadPaging(() => (this.cr3 = old));
  }

  setCr4(v: number): void {
    const old = this.cr4;
    this.cr4 = v;
    this.reloadPaging(() => (this.cr4 = old));
  }

  private reloadPaging(undo: () => void): void {
    try {
      this.mmu.loadCr3();
    } catch (e) {
      undo();
      throw e;
    }
  }

  /** Raise a fault from inside an instruction: unwinds to the run loop. */
  fault(vector: number, errorCode = -1): never {
    throw new CpuFault(vector, errorCode);
  }

  /** Stop the run loop after the current block (e.g. an event for the embedder). */
  requestStop(): void {
    this.stopRequested = true;
    this.stopBlock = true;
  }

  halt(): void {
    this.halted = true;
    this.requestStop();
  }

  // ---- the run loop --------------------------------------------------------------------------

  /**
   * Execute until `budget` instructions have retired (block granularity), the CPU halts, or a
   * stop is requested. Returns STOP_BUDGET, STOP_HALT or STOP_REQUEST.
   */
  run(budget: number): number {
    const end = this.icount + budget;
    this.stopRequested = false;
    if (this.halted) return STOP_HALT;
    for (;;) {
      let block: Block | undefined;
      let k = 0;
      let jitted = false;
      try {
        while (this.icount < end) {
          block = this.mmu.lookupBlock(this.eip);
          const insns = block.insns;
          const n = insns.length;
          const base = this.eip;
          this.stopBlock = false;
          let done: number;
          const jit = block.jit;
          if (jit !== undefined) {
            jitted = true;
            jit(this);
            done = this.exitK;
          } else {
            jitted = false;
            for (k = 0; k < n; k++) {
              const i = insns[k]!;
              i.fn(this, i);
              if (this.stopBlock) {
                k++;
                break;
              }
            }
            done = k;
            if (++block.hits === HOT_THRESHOLD && this.translate && block.phys >= 0) block.jit = translate(block);
          }
          if (done === n) {
            if (!block.endsInJump) this.eip = (base + block.size) >>> 0;
          } else {
            const last = insns[done - 1]!;
            this.eip = (base + last.off + last.len) >>> 0;
          }
          this.icount += done;
          if (this.stopRequested) return this.halted ? STOP_HALT : STOP_REQUEST;
          block = undefined;
        }
        return STOP_BUDGET;
      } catch (e) {
        if (!(e instanceof CpuFault)) throw e;
        // The faulting instruction is insns[k] of `block` (or the fetch of the next block).
        if (block !== undefined) {
          const fk = jitted ? this.faultK : k;
          this.eip = (this.eip + block.insns[fk]!.off) >>> 0;
          this.icount += fk;
        }
        this.deliver(e.vector, e.errorCode, false, this.eip, e.cr2);
        if (this.stopRequested) return this.halted ? STOP_HALT : STOP_REQUEST;
      }
    }
  }

  /**
   * Hand an exception to the embedder. `eip` must already be where execution resumes
   * (the faulting instruction, or the next one for traps and software interrupts).
   */
  deliver(vector: number, errorCode: number, soft: boolean, faultEip: number, cr2 = 0): void {
    if (vector === PFV) this.cr2 = cr2;
    this.halted = false;
    this.hooks.exception(this, { vector, errorCode, soft, faultEip });
  }

  /** Decode (or find) the block at a linear EIP; used by the MMU on a jump-cache miss. */
  decodeAt(eip: number, phys: number, pageBytes: Uint8Array, pageBase: number): Block {
    return decodeBlock(this, eip, phys, pageBytes, pageBase);
  }
}

export type { Insn };
