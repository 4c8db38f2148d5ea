/**
 * The generator's abstract machine state: what is known about the guest at a point of the
 * sequence, without running it.
 *
 *  - `val[r]`: the register's exact value, when it is known (initial values, MOV imm, and the
 *    simple arithmetic the generator follows). Memory operands are built only from known
 *    registers, so every access lands in a buffer; ESP must be known for stack instructions.
 *  - `taint[r]`: bits that may hold an architecturally undefined value (BSF of zero, a 16-bit
 *    BSWAP, ...) or anything computed from one. They are masked in the comparison.
 *  - `undef`: arithmetic flags that may be undefined (flags-table.ts). Nothing is generated that
 *    reads one; they are masked at the end.
 *  - `memTaint`: addresses of bytes that may hold undefined values.
 *  - `df`: the direction flag, when known (string instructions need it to bound their range).
 *  - `safeFlags`: a word on the stack that POPF may load (TF and AC clear), and its DF.
 *
 * At a jump target the states of all incoming edges merge: a value stays known only if all
 * agree, taint and undefinedness accumulate.
 */
import { flagEffect, type FlagContext } from '../../runtime/cpu/flags-table.ts';

export type Size = 8 | 16 | 32;

/** An abstract value of some width: its value when known, and whether it may be undefined. */
export interface AV {
  v: number | undefined;
  t: boolean;
}

export const sizeMask = (s: Size): number => (s === 32 ? 0xffffffff : s === 16 ? 0xffff : 0xff);

/** Register operand: r is the encoding number (for 8-bit: AL CL DL BL AH CH DH BH). */
export function regSlot(r: number, s: Size): { reg: number; shift: number; mask: number } {
  if (s === 8) return r < 4 ? { reg: r, shift: 0, mask: 0xff } : { reg: r - 4, shift: 8, mask: 0xff00 };
  return { reg: r, shift: 0, mask: s === 16 ? 0xffff : 0xffffffff };
}

export interface SafeFlags {
  addr: number;
  bytes: 2 | 4;
  df: 0 | 1 | undefined;
}

export class AState {
  val: (number | undefined)[] = new Array(8).fill(undefined);
  taint = new Uint32Array(8);
  undef = 0;
  df: 0 | 1 | undefined = 0;
  memTaint = new Set<number>();
  safeFlags: SafeFlags | undefined;

  clone(): AState {
    const s = new AState();
    s.val = this.val.slice();
    s.taint.set(this.taint);
    s.undef = this.undef;
    s.df = this.df;
    s.memTaint = new Set(this.memTaint);
    s.safeFlags = this.safeFlags;
    return s;
  }

  /** Merge another path's state into this one (at a jump target). */
  merge(o: AState): void {
    for (let r = 0; r < 8; r++) {
      if (this.val[r] !== o.val[r]) this.val[r] = undefined;
      this.taint[r]! |= o.taint[r]!;
    }
    this.undef |= o.undef;
    if (this.df !== o.df) this.df = undefined;
    for (const a of o.memTaint) this.memTaint.add(a);
    const a = this.safeFlags, b = o.safeFlags;
    if (!a || !b || a.addr !== b.addr || a.bytes !== b.bytes || a.df !== b.df) this.safeFlags = undefined;
  }

  // ---- registers -------------------------------------------------------------------------------

  /** A register's known 32-bit value (untainted), or undefined. */
  known(r: number): number | undefined {
    return this.taint[r] === 0 ? this.val[r] : undefined;
  }

  getReg(r: number, s: Size): AV {
    const { reg, shift, mask } = regSlot(r, s);
    const t = (this.taint[reg]! & mask) !== 0;
    const full = this.val[reg];
    return { v: full === undefined || t ? undefined : ((full & mask) >>> shift) >>> 0, t };
  }

  setReg(r: number, s: Size, av: AV): void {
    const { reg, shift, mask } = regSlot(r, s);
    this.taint[reg] = av.t ? (this.taint[reg]! | mask) >>> 0 : (this.taint[reg]! & ~mask) >>> 0;
    const full = this.val[reg];
    if (av.t || av.v === undefined) this.val[reg] = undefined;
    else if (s === 32) this.val[reg] = av.v >>> 0;
    else this.val[reg] = full === undefined ? undefined : ((full & ~mask) | ((av.v << shift) & mask)) >>> 0;
    if (this.taint[reg] !== 0) this.val[reg] = undefined;
  }

  // ---- memory ------------------------------------------------------------------------------------

  getMem(addr: number, bytes: number): AV {
    let t = false;
    if (this.memTaint.size) for (let k = 0; k < bytes; k++) if (this.memTaint.has((addr + k) >>> 0)) t = true;
    return { v: undefined, t };
  }

  setMem(addr: number, bytes: number, av: AV): void {
    for (let k = 0; k < bytes; k++) {
      const a = (addr + k) >>> 0;
      if (av.t) this.memTaint.add(a);
      else this.memTaint.delete(a);
    }
    const f = this.safeFlags;
    if (f && addr < f.addr + f.bytes && f.addr < addr + bytes) this.safeFlags = undefined;
  }

  // ---- flags -------------------------------------------------------------------------------------

  /** Whether every flag in `mask` is defined here. */
  defined(mask: number): boolean {
    return (this.undef & mask) === 0;
  }

  /**
   * Apply an instruction's flag effect (flags-table.ts). `tainted`: an input may be undefined,
   * so every flag it writes may be too. Returns whether its result may be undefined.
   */
  applyFlags(name: string, ctx: FlagContext, tainted: boolean): boolean {
    const cases = flagEffect(name, ctx);
    let undef = 0;
    let resultUndefined = false;
    for (const c of cases) {
      const written = c.defines | c.undefined;
      undef |= (this.undef & ~written) | c.undefined | (tainted ? c.defines : 0);
      if (c.resultUndefined) resultUndefined = true;
    }
    this.undef = undef;
    return resultUndefined;
  }
}
