/**
 * Writable page tables (VMASST_TYPE_writable_pagetables; xen/arch/x86/pv/ro-page-fault.c
 * ptwr_do_page_fault, ptwr_emulated_update): a guest kernel may store straight into its own L1
 * tables, which are mapped read-only. The store faults; the hypervisor decodes it, checks the
 * new entry exactly as mmu_update would, performs it and steps over the instruction.
 *
 * Handled stores (naturally aligned, within the faulting page, 1/2/4/8 bytes): MOV r/imm → m,
 * XCHG, CMPXCHG, CMPXCHG8B, AND/OR (Linux's pte bit clears), BTS/BTR. A part-entry store is
 * merged with the rest of the entry first; a 4-byte store to the upper half that leaves an
 * invalid entry is taken as the first of two writes in the wrong order and lands with PRESENT
 * cleared, as Xen does. Anything else is not emulated: the #PF goes to the guest (xen-abi §11).
 */
import { AF, ARITH, CF, EAX, EBX, ECX, EDX, OF, PF, PFEC_I, PFEC_P, PFEC_RSVD, PFEC_W, SF, ZF } from '../cpu/constants.ts';
import { CpuFault, decodeInsn } from '../cpu/index.ts';
import type { Insn } from '../cpu/insn.ts';
import type { VCpu } from './vcpu.ts';
import { pageTypesOf, PGT_l1, type PageTypes } from '../mem/pagetype.ts';
import { guestL1For } from '../mem/ptupdate.ts';
import * as P from '../mem/pte.ts';

export const VMASST_TYPE_writable_pagetables = 2;

/** An operand value: `lo` holds up to 4 bytes, `hi` bytes 4–7 of an 8-byte operand. */
interface Val {
  lo: number;
  hi: number;
}

/** What a decoded store does to the old operand, and its effects on registers and flags. */
interface Store {
  size: number;
  ea: number;
  /** New operand from the old one; undefined = no write (a failed compare). */
  apply(old: Val): Val | undefined;
  /** Register and flag effects, run once the store is done (or refused by a compare). */
  after(old: Val): void;
  /** For CMPXCHG*: the value memory must hold for the write to happen. */
  expected?: Val;
}

const mask = (size: number): number => (size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1);

function parityEven(x: number): boolean {
  x &= 0xff;
  x ^= x >> 4;
  x ^= x >> 2;
  x ^= x >> 1;
  return (x & 1) === 0;
}

function resultFlags(res: number, size: number): number {
  const m = mask(size);
  res = (res & m) >>> 0;
  return (res === 0 ? ZF : 0) | (res & ((m >>> 1) + 1) ? SF : 0) | (parityEven(res) ? PF : 0);
}

/** Flags of CMP a, b at `size` bytes (SDM Vol. 1 §3.4.3.1). */
function subFlags(a: number, b: number, size: number): number {
  const m = mask(size), top = (m >>> 1) + 1;
  a = (a & m) >>> 0;
  b = (b & m) >>> 0;
  const r = (a - b) & m;
  let f = resultFlags(r, size);
  if (a < b) f |= CF;
  if ((a ^ b) & (a ^ r) & top) f |= OF;
  if ((a ^ b ^ r) & 0x10) f |= AF;
  return f;
}

function setArith(v: VCpu, flags: number, which = ARITH): void {
  v.cpu.setFlags((v.cpu.getFlags() & ~which) | (flags & which));
}

function regGet(v: VCpu, i: Insn, size: number): number {
  return size === 1 ? v.cpu.r8[i.reg8]! : (v.cpu.r32[i.reg]! & mask(size)) >>> 0;
}

function regSet(v: VCpu, i: Insn, size: number, x: number): void {
  if (size === 1) v.cpu.r8[i.reg8] = x;
  else if (size === 2) v.cpu.r16[i.reg * 2] = x;
  else v.cpu.r32[i.reg] = x;
}

/** Decode the store at EIP into a Store, or undefined if it is not one we emulate. */
function decodeStore(v: VCpu, i: Insn): Store | undefined {
  const cpu = v.cpu;
  if (i.regForm || i.rep) return undefined;
  const ea = (cpu.segBase[i.seg]! + cpu.r32[i.base]! + (cpu.r32[i.index]! << i.scale) + i.disp) | 0;
  const osz = i.osize / 8;
  const none = (): void => undefined;
  const put = (size: number, x: number): Store => ({ size, ea, apply: () => ({ lo: x >>> 0, hi: 0 }), after: none });
  const logic = (size: number, x: number, or: boolean): Store => ({
    size,
    ea,
    apply: (o) => ({ lo: ((or ? o.lo | x : o.lo & x) & mask(size)) >>> 0, hi: 0 }),
    after: (o) => setArith(v, resultFlags(or ? o.lo | x : o.lo & x, size)),
  });
  const bit = (bitno: number, addr: number, set: boolean): Store => ({
    size: 4,
    ea: addr,
    apply: (o) => ({ lo: (set ? o.lo | (1 << bitno) : o.lo & ~(1 << bitno)) >>> 0, hi: 0 }),
    after: (o) => setArith(v, o.lo & (1 << bitno) ? CF : 0, CF),
  });
  switch (i.op) {
    case 0x88:
      return put(1, regGet(v, i, 1));
    case 0x89:
      return put(osz, regGet(v, i, osz));
    case 0xc6:
      return i.reg === 0 ? put(1, i.imm & 0xff) : undefined;
    case 0xc7:
      return i.reg === 0 ? put(osz, i.imm & mask(osz)) : undefined;
    case 0x86:
    case 0x87: {
      const size = i.op === 0x86 ? 1 : osz;
      const x = regGet(v, i, size);
      return { size, ea, apply: () => ({ lo: x, hi: 0 }), after: (o) => regSet(v, i, size, o.lo) };
    }
    case 0x09:
    case 0x21:
      return logic(osz, regGet(v, i, osz), i.op === 0x09);
    case 0x81:
    case 0x83:
      return i.reg === 1 || i.reg === 4 ? logic(osz, i.imm & mask(osz), i.reg === 1) : undefined;
    case 0x1ab: // BTS m32, r32: the bit offset is signed and may move the address
    case 0x1b3: {
      if (osz !== 4) return undefined;
      const off = cpu.r32[i.reg]!;
      return bit(off & 31, (ea + (off >> 5) * 4) | 0, i.op === 0x1ab);
    }
    case 0x1ba:
      return osz === 4 && (i.reg === 5 || i.reg === 6) ? bit(i.imm & 31, ea, i.reg === 5) : undefined;
    case 0x1b0:
    case 0x1b1: {
      const size = i.op === 0x1b0 ? 1 : osz;
      const acc = (cpu.r32[EAX]! & mask(size)) >>> 0;
      const x = regGet(v, i, size);
      return {
        size,
        ea,
        expected: { lo: acc, hi: 0 },
        apply: (o) => (o.lo === acc ? { lo: x, hi: 0 } : undefined),
        after: (o) => {
          setArith(v, subFlags(acc, o.lo, size));
          if (o.lo !== acc) {
            if (size === 1) cpu.r8[0] = o.lo;
            else if (size === 2) cpu.r16[0] = o.lo;
            else cpu.r32[EAX] = o.lo;
          }
        },
      };
    }
    case 0x1c7: {
      if (i.reg !== 1) return undefined;
      const exp = { lo: cpu.r32[EAX]! >>> 0, hi: cpu.r32[EDX]! >>> 0 };
      const nv = { lo: cpu.r32[EBX]! >>> 0, hi: cpu.r32[ECX]! >>> 0 };
      return {
        size: 8,
        ea,
        expected: exp,
        apply: (o) => (o.lo === exp.lo && o.hi === exp.hi ? nv : undefined),
        after: (o) => {
          const eq = o.lo === exp.lo && o.hi === exp.hi;
          setArith(v, eq ? ZF : 0, ZF);
          if (!eq) {
            cpu.r32[EAX] = o.lo;
            cpu.r32[EDX] = o.hi;
          }
        },
      };
    }
    default:
      return undefined;
  }
}

const scratch = new DataView(new ArrayBuffer(8));

/** Bytes [off, off+size) of the 8-byte entry (lo, hi). */
function extract(lo: number, hi: number, off: number, size: number): Val {
  scratch.setUint32(0, lo, true);
  scratch.setUint32(4, hi, true);
  if (size === 8) return { lo: lo >>> 0, hi: hi >>> 0 };
  const x = size === 4 ? scratch.getUint32(off, true) : size === 2 ? scratch.getUint16(off, true) : scratch.getUint8(off);
  return { lo: x, hi: 0 };
}

/** The entry (lo, hi) with bytes [off, off+size) replaced by `val`. */
function splice(lo: number, hi: number, off: number, size: number, val: Val): [number, number] {
  if (size === 8) return [val.lo, val.hi];
  scratch.setUint32(0, lo, true);
  scratch.setUint32(4, hi, true);
  if (size === 4) scratch.setUint32(off, val.lo, true);
  else if (size === 2) scratch.setUint16(off, val.lo, true);
  else scratch.setUint8(off, val.lo);
  return [scratch.getUint32(0, true), scratch.getUint32(4, true)];
}

function fetchInsn(v: VCpu): Insn | undefined {
  const eip = v.cpu.eip;
  const d = decodeInsn({
    at: (k) => {
      if (k >= 15) return -1;
      try {
        return v.cpu.read8((eip + k) | 0);
      } catch (e) {
        if (e instanceof CpuFault) return -1;
        throw e;
      }
    },
  });
  return typeof d === 'number' ? undefined : d.insn;
}

/** ptwr_emulated_update: the checked store into L1 frame `l1` at linear `ea`. */
function emulate(v: VCpu, pt: PageTypes, l1: number, s: Store): boolean {
  const off = s.ea & 7;
  const index = (s.ea & 0xfff) >>> 3;
  const [olo, ohi] = P.readEntry(pt.mem, l1, index);
  const old = extract(olo, ohi, off, s.size);
  const next = s.apply(old);
  let [lo, hi] = next ? splice(olo, ohi, off, s.size, next) : [olo, ohi];
  if (next && lo & P._PAGE_PRESENT) {
    const rc = pt.getPageFromL1e(v.domain, lo, hi);
    if (rc !== 0) {
      // The upper half written first: land it with PRESENT clear and wait for the lower half.
      if (!(s.size === 4 && off === 4 && !s.expected)) return false;
      lo &= ~P._PAGE_PRESENT;
    }
  }
  if (next) {
    P.writeEntry(pt.mem, l1, index, lo, hi);
    pt.putPageFromL1e(olo, ohi);
  }
  s.after(old);
  return true;
}

/**
 * Called before a #PF is bounced to the guest: emulate a ring-1 store into one of the domain's
 * own L1 tables (error code present|write) and step over it. True if handled.
 */
export function tryEmulatePtWrite(v: VCpu, cr2: number, errorCode: number): boolean {
  const d = v.domain;
  if (!(d.vmAssist & (1 << VMASST_TYPE_writable_pagetables))) return false;
  if ((errorCode & (PFEC_P | PFEC_W | PFEC_RSVD | PFEC_I)) !== (PFEC_P | PFEC_W)) return false;
  if (v.cpu.cpl !== 1) return false;
  const pt = pageTypesOf(d.host);
  const loc = guestL1For(pt, v, cr2);
  if (!loc || !pt.isLiveTable(loc.mfn, PGT_l1)) return false;
  const [plo, phi] = P.readEntry(pt.mem, loc.mfn, loc.index);
  if ((plo & (P._PAGE_PRESENT | P._PAGE_RW)) !== P._PAGE_PRESENT) return false;
  const l1 = P.pteMfn(plo, phi);
  if (!pt.getPage(d, l1)) return false;
  try {
    if (!pt.isLiveTable(l1, PGT_l1)) return false;
    const insn = fetchInsn(v);
    const s = insn && decodeStore(v, insn);
    if (!insn || !s) return false;
    // Only naturally aligned stores within the faulting page (ptwr_emulated_update).
    if (((s.ea ^ cr2) & ~0xfff) !== 0 || s.ea & (s.size - 1)) return false;
    if (!emulate(v, pt, l1, s)) return false;
    v.cpu.eip = (v.cpu.eip + insn.len) >>> 0;
    return true;
  } finally {
    pt.putPage(l1);
  }
}
