/**
 * The long operations that templates call through `H`: wide multiply and divide, rotates,
 * double shifts, BCD adjusts. Each follows the pseudo-code of its SDM Vol. 2 entry.
 */
import type { Cpu } from './cpu.ts';
import { CF, AF, DE, OF, ZF } from './constants.ts';
import { CpuFault } from './fault.ts';
import { LF_LOGIC } from './lazyflags.ts';
import { SYSTEM } from './system.ts';

const SIGNS = [0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x8000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2147483648];

/** Results of the last wide operation. */
let hi = 0;
let rem = 0;

/** Unsigned 32×32→64 multiply: returns the low half; `H.hi()` the high half (int32 each). */
function mulu32(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const ll = al * bl, lh = al * bh, hl = ah * bl;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  hi = (ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) | 0;
  return Math.imul(a, b);
}

/** Signed 32×32→64 multiply (two's-complement correction of the unsigned high half). */
function muls32(a: number, b: number): number {
  const lo = mulu32(a, b);
  hi = (hi - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
  return lo;
}

/**
 * Unsigned 64/32 division of hi:lo by d (all uint32 as numbers): returns the quotient,
 * `H.rem()` the remainder. #DE on a zero divisor or a quotient that needs more than 32 bits.
 * Long division in 16-bit digits keeps every intermediate below 2^48 (exact in a double).
 */
function divu64(h: number, l: number, d: number): number {
  h >>>= 0; l >>>= 0; d >>>= 0;
  if (d === 0 || h >= d) throw new CpuFault(DE, -1);
  if (h === 0) {
    rem = l % d;
    return Math.floor(l / d);
  }
  let t = h * 65536 + (l >>> 16);
  const q1 = Math.floor(t / d);
  t = (t - q1 * d) * 65536 + (l & 0xffff);
  const q2 = Math.floor(t / d);
  rem = t - q2 * d;
  return q1 * 65536 + q2;
}

/** Signed 64/32 division (IDIV r/m32): quotient must fit in int32, remainder takes the dividend's sign. */
function divs64(h: number, l: number, d: number): number {
  if (d === 0) throw new CpuFault(DE, -1);
  const neg = h < 0;
  let uh = h >>> 0, ul = l >>> 0;
  if (neg) {
    // Two's-complement negate the 64-bit dividend.
    ul = (~ul + 1) >>> 0;
    uh = (~uh + (ul === 0 ? 1 : 0)) >>> 0;
  }
  const ud = d < 0 ? -d : d;
  if (uh >= ud) throw new CpuFault(DE, -1);
  let q = divu64(uh, ul, ud);
  const qneg = neg !== d < 0;
  if (qneg ? q > 0x80000000 : q > 0x7fffffff) throw new CpuFault(DE, -1);
  if (qneg) q = -q;
  if (neg) rem = -rem;
  rem |= 0;
  return q | 0;
}

// ---- rotates and double shifts (SDM Vol. 2B "RCL/RCR/ROL/ROR", "SHLD", "SHRD") -------------

function setCfOf(c: Cpu, cf: number, of: number): void {
  c.getFlags();
  c.flags = (c.flags & ~(CF | OF)) | cf | (of << 11);
}

function rol(c: Cpu, size: number, v: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return v;
  const n = count % size;
  const mask = size === 32 ? -1 : (1 << size) - 1;
  const res = n === 0 ? v : ((v << n) | ((v & mask) >>> (size - n))) & mask;
  const cf = res & 1;
  setCfOf(c, cf, ((res >>> (size - 1)) & 1) ^ cf);
  return size === 32 ? res | 0 : res;
}

function ror(c: Cpu, size: number, v: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return v;
  const n = count % size;
  const mask = size === 32 ? -1 : (1 << size) - 1;
  const res = n === 0 ? v : (((v & mask) >>> n) | (v << (size - n))) & mask;
  const msb = (res >>> (size - 1)) & 1;
  setCfOf(c, msb, msb ^ ((res >>> (size - 2)) & 1));
  return size === 32 ? res | 0 : res;
}

function rcl(c: Cpu, size: number, v: number, count: number): number {
  const masked = count & 0x1f;
  let n = size === 32 ? masked : masked % (size + 1);
  if (masked === 0) return v;
  let cf = c.cf();
  let res = v >>> 0;
  while (n-- > 0) {
    const out = (res >>> (size - 1)) & 1;
    res = ((res << 1) | cf) >>> 0;
    if (size !== 32) res &= (1 << size) - 1;
    cf = out;
  }
  setCfOf(c, cf, ((res >>> (size - 1)) & 1) ^ cf);
  return size === 32 ? res | 0 : res;
}

function rcr(c: Cpu, size: number, v: number, count: number): number {
  const masked = count & 0x1f;
  let n = size === 32 ? masked : masked % (size + 1);
  if (masked === 0) return v;
  let cf = c.cf();
  let res = size === 32 ? v >>> 0 : v;
  // OF is computed before the rotation (SDM: MSB(DEST) XOR CF).
  const of = ((res >>> (size - 1)) & 1) ^ cf;
  while (n-- > 0) {
    const out = res & 1;
    res = ((res >>> 1) | (cf << (size - 1))) >>> 0;
    cf = out;
  }
  setCfOf(c, cf, of);
  return size === 32 ? res | 0 : res;
}

/**
 * SHLD/SHRD: count masked to 5 bits; 0 changes nothing. For 16-bit operands with counts above
 * 16 the SDM leaves the result undefined; we shift through dst:src:dst (48 bits), as Intel
 * processors do, so the bits are at least deterministic.
 */
function doubleShiftFlags(c: Cpu, size: number, dst: number, res: number, cf: number): number {
  const sign = SIGNS[size]!;
  const of = ((res ^ dst) & sign) !== 0 ? 1 : 0;
  c.getFlags();
  c.flags = (c.flags & ~(CF | OF | AF)) | cf | (of << 11);
  c.lfOp = LF_LOGIC;
  c.lfRes = res;
  c.lfSign = sign;
  c.lazy = 0xc4;
  return res;
}

function shld(c: Cpu, size: number, dst: number, src: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return dst;
  if (size === 32) {
    return doubleShiftFlags(c, 32, dst, (dst << count) | (src >>> (32 - count)), (dst >>> (32 - count)) & 1);
  }
  const ext = (dst & 0xffff) * 2 ** 32 + (src & 0xffff) * 65536 + (dst & 0xffff);
  const res = Math.floor(ext / 2 ** (32 - count)) % 65536;
  const cf = Math.floor(ext / 2 ** (48 - count)) % 2;
  return doubleShiftFlags(c, 16, dst, res, cf);
}

function shrd(c: Cpu, size: number, dst: number, src: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return dst;
  if (size === 32) {
    return doubleShiftFlags(c, 32, dst, (dst >>> count) | (src << (32 - count)), (dst >>> (count - 1)) & 1);
  }
  const ext = (dst & 0xffff) * 2 ** 32 + (src & 0xffff) * 65536 + (dst & 0xffff);
  const res = Math.floor(ext / 2 ** count) % 65536;
  const cf = Math.floor(ext / 2 ** (count - 1)) % 2;
  return doubleShiftFlags(c, 16, dst, res, cf);
}

// ---- BCD (SDM Vol. 2A "DAA", "DAS", "AAA", "AAS", "AAM", "AAD") ------------------------------

function setAL(c: Cpu, al: number, cf: number, af: number): void {
  c.r8[0] = al;
  c.flags = (c.flags & ~(CF | AF | OF)) | cf | (af << 4);
  c.lfOp = LF_LOGIC;
  c.lfRes = al;
  c.lfSign = 0x80;
  c.lazy = 0xc4;
}

function daa(c: Cpu): void {
  const oldAl = c.r8[0]!;
  const oldCf = c.cf();
  let al = oldAl, cf = 0, af = 0;
  if ((al & 0xf) > 9 || c.af()) {
    cf = oldCf | (al + 6 > 0xff ? 1 : 0);
    al = (al + 6) & 0xff;
    af = 1;
  }
  if (oldAl > 0x99 || oldCf) {
    al = (al + 0x60) & 0xff;
    cf = 1;
  }
  setAL(c, al, cf, af);
}

function das(c: Cpu): void {
  const oldAl = c.r8[0]!;
  const oldCf = c.cf();
  let al = oldAl, cf = 0, af = 0;
  if ((al & 0xf) > 9 || c.af()) {
    cf = oldCf | (al < 6 ? 1 : 0);
    al = (al - 6) & 0xff;
    af = 1;
  }
  if (oldAl > 0x99 || oldCf) {
    al = (al - 0x60) & 0xff;
    cf = 1;
  }
  setAL(c, al, cf, af);
}

function aaa(c: Cpu): void {
  if ((c.r8[0]! & 0xf) > 9 || c.af()) {
    c.r16[0] = (c.r16[0]! + 0x106) & 0xffff;
    setAL(c, c.r8[0]! & 0xf, 1, 1);
  } else setAL(c, c.r8[0]! & 0xf, 0, 0);
}

function aas(c: Cpu): void {
  if ((c.r8[0]! & 0xf) > 9 || c.af()) {
    c.r16[0] = (c.r16[0]! - 6) & 0xffff;
    c.r8[1] = (c.r8[1]! - 1) & 0xff;
    setAL(c, c.r8[0]! & 0xf, 1, 1);
  } else setAL(c, c.r8[0]! & 0xf, 0, 0);
}

function aam(c: Cpu, base: number): void {
  if (base === 0) throw new CpuFault(DE, -1);
  const al = c.r8[0]!;
  c.r8[1] = Math.floor(al / base);
  setAL(c, al % base, 0, 0);
}

function aad(c: Cpu, base: number): void {
  const al = (c.r8[0]! + c.r8[1]! * base) & 0xff;
  c.r8[1] = 0;
  setAL(c, al, 0, 0);
}

/** BT/BTS/BTR/BTC: CF ← the bit; other arithmetic flags kept (SDM: OF SF AF PF undefined). */
function setCarry(c: Cpu, bit: number): void {
  c.getFlags();
  c.flags = (c.flags & ~CF) | bit;
}

/** BSF/BSR: ZF ← source is zero; other flags kept (SDM: undefined). */
function setZero(c: Cpu, zero: boolean): void {
  c.getFlags();
  c.flags = zero ? c.flags | ZF : c.flags & ~ZF;
}

export const H = {
  mulu32,
  muls32,
  divu64,
  divs64,
  hi: (): number => hi,
  rem: (): number => rem,
  rol,
  ror,
  rcl,
  rcr,
  shld,
  shrd,
  daa,
  das,
  aaa,
  aas,
  aam,
  aad,
  setCarry,
  setZero,
  ...SYSTEM,
};
export type Helpers = typeof H;
