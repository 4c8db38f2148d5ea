/**
 * System instructions: segment loads with protected-mode checks, far transfers, IRET, control
 * and model-specific registers, CPUID, I/O. SDM Vol. 2 per instruction; Vol. 3 §5 (protection).
 *
 * Scope: flat protected mode as Xen PV guests use it. Call gates, task switches (NT), virtual-
 * 8086 mode and segment limits are not modelled; where an instruction would need them it
 * raises #GP, never silently does something else.
 */
import type { Cpu } from './cpu.ts';
import { AC, ARITH, CR0_PE, CR0_PG, CR4_PAE, CR4_PGE, CR4_PSE, CS, DF, DS, EAX, EBX, ECX, EDX, EFER_NXE, ES, ESP, FS, GP, GS, ID, IF, IOPL, MSR_EFER, MSR_TSC, NP, NT, RF, SS, SSR, TF, UD, ZF } from './constants.ts';
import { CpuFault } from './fault.ts';

function gp(code = 0): never {
  throw new CpuFault(GP, code);
}

/** The descriptor for a selector as [low, high] dwords, or #GP(selector) when outside its table. */
function descriptor(c: Cpu, sel: number): [number, number] {
  if (c.hooks.descriptor) {
    const d = c.hooks.descriptor(c, sel);
    if (!d) gp(sel & 0xfffc);
    return d;
  }
  const ldt = (sel & 4) !== 0;
  const base = ldt ? c.ldtBase : c.gdtBase;
  const limit = ldt ? c.ldtLimit : c.gdtLimit;
  if ((sel | 7) > limit) gp(sel & 0xfffc);
  const a = (base + (sel & ~7)) | 0;
  return [c.read32(a), c.read32((a + 4) | 0)];
}

const descBase = (lo: number, hi: number): number => ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
const descDpl = (hi: number): number => (hi >>> 13) & 3;
const present = (hi: number): boolean => (hi & 0x8000) !== 0;
const isSystem = (hi: number): boolean => (hi & 0x1000) === 0;
const isCode = (hi: number): boolean => (hi & 0x800) !== 0;
const codeReadable = (hi: number): boolean => (hi & 0x200) !== 0;
const dataWritable = (hi: number): boolean => (hi & 0x200) !== 0;
const conforming = (hi: number): boolean => (hi & 0x400) !== 0;

/** MOV Sreg / POP Sreg / LDS… for a data segment register or SS (SDM Vol. 2B "MOV", protected mode). */
function loadSeg(c: Cpu, seg: number, sel: number): void {
  sel &= 0xffff;
  if (seg === CS) throw new CpuFault(UD, -1);
  if ((sel & 0xfffc) === 0) {
    if (seg === SSR) gp(0);
    c.sel[seg] = sel;
    c.segBase[seg] = 0;
    return;
  }
  const [lo, hi] = descriptor(c, sel);
  const rpl = sel & 3, dpl = descDpl(hi);
  if (seg === SSR) {
    if (rpl !== c.cpl || dpl !== c.cpl || isSystem(hi) || isCode(hi) || !dataWritable(hi)) gp(sel & 0xfffc);
    if (!present(hi)) throw new CpuFault(SS, sel & 0xfffc);
  } else {
    if (isSystem(hi) || (isCode(hi) && !codeReadable(hi))) gp(sel & 0xfffc);
    if ((!isCode(hi) || !conforming(hi)) && Math.max(c.cpl, rpl) > dpl) gp(sel & 0xfffc);
    if (!present(hi)) throw new CpuFault(NP, sel & 0xfffc);
  }
  c.sel[seg] = sel;
  c.segBase[seg] = descBase(lo, hi);
}

/** Load CS for a far JMP/CALL/RET/IRET to privilege `newCpl`, checking the code descriptor. */
function loadCs(c: Cpu, sel: number, newCpl: number, returning: boolean): void {
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) gp(0);
  const [lo, hi] = descriptor(c, sel);
  if (isSystem(hi) || !isCode(hi)) gp(sel & 0xfffc); // call gates and TSSs are not modelled
  const dpl = descDpl(hi), rpl = sel & 3;
  if (returning) {
    if (rpl < c.cpl) gp(sel & 0xfffc);
    if (conforming(hi) ? dpl > rpl : dpl !== rpl) gp(sel & 0xfffc);
  } else if (conforming(hi) ? dpl > c.cpl : rpl > c.cpl || dpl !== c.cpl) gp(sel & 0xfffc);
  if (!present(hi)) throw new CpuFault(NP, sel & 0xfffc);
  c.sel[CS] = (sel & ~3) | newCpl;
  c.segBase[CS] = descBase(lo, hi);
  c.setCpl(newCpl);
}

function farJump(c: Cpu, sel: number, eip: number): void {
  loadCs(c, sel, c.cpl, false);
  c.eip = eip >>> 0;
}

function farCall(c: Cpu, sel: number, eip: number, next: number, osize: number): void {
  const oldCs = c.sel[CS]!;
  const sp = c.r32[ESP]!;
  try {
    if (osize === 32) {
      c.push32(oldCs);
      c.push32(next);
    } else {
      c.push16(oldCs);
      c.push16(next & 0xffff);
    }
    loadCs(c, sel, c.cpl, false);
  } catch (e) {
    c.r32[ESP] = sp;
    throw e;
  }
  c.eip = osize === 32 ? eip >>> 0 : eip & 0xffff;
}

/** Pop a far return frame [EIP, CS (, ESP, SS)], optionally EFLAGS; used by RETF and IRET. */
function farReturn(c: Cpu, osize: number, release: number, withFlags: boolean): void {
  const pop = osize === 32 ? () => c.pop32() : () => c.pop16();
  const sp0 = c.r32[ESP]!;
  try {
    const eip = pop() >>> 0;
    const cs = pop() & 0xffff;
    const fl = withFlags ? pop() : 0;
    const rpl = cs & 3;
    if (withFlags && fl & NT) gp(0);
    let esp = 0, ss = 0;
    const outer = rpl > c.cpl;
    c.r32[ESP] = (c.r32[ESP]! + release) | 0;
    if (outer) {
      esp = pop();
      ss = pop() & 0xffff;
    }
    const oldCpl = c.cpl;
    loadCs(c, cs, rpl, true);
    if (withFlags) {
      // IOPL changes only at CPL 0, IF only when CPL ≤ IOPL (SDM Vol. 2A "IRET").
      let mask = ARITH | TF | DF | NT | AC | ID | RF;
      if (oldCpl === 0) mask |= IOPL;
      if (oldCpl <= ((c.getFlags() >> 12) & 3)) mask |= IF;
      if (osize === 16) mask &= 0xffff;
      c.setFlags((c.getFlags() & ~mask) | (fl & mask));
    }
    if (outer) {
      loadSeg(c, SSR, ss);
      c.r32[ESP] = (esp + release) | 0;
      // Data segments the new, less privileged code may not use are nulled.
      for (const seg of [ES, DS, FS, GS]) {
        const sel = c.sel[seg]!;
        if ((sel & 0xfffc) === 0) continue;
        let d: [number, number] | undefined;
        try {
          d = descriptor(c, sel);
        } catch (e) {
          if (!(e instanceof CpuFault)) throw e;
          d = undefined; // outside its table: SDM nulls it too
          c.sel[seg] = 0;
          c.segBase[seg] = 0;
          continue;
        }
        if (d && (!isCode(d[1]) || !conforming(d[1])) && descDpl(d[1]) < c.cpl) {
          c.sel[seg] = 0;
          c.segBase[seg] = 0;
        }
      }
    }
    c.eip = osize === 32 ? eip : eip & 0xffff;
  } catch (e) {
    c.r32[ESP] = sp0;
    throw e;
  }
}

/** POPF: which bits may change depends on CPL and IOPL (SDM Vol. 2B "POPF"). */
function popf(c: Cpu, v: number, osize: number): void {
  const old = c.getFlags();
  let mask = ARITH | TF | DF | NT | AC | ID;
  if (c.cpl === 0) mask |= IOPL;
  if (c.cpl <= ((old >> 12) & 3)) mask |= IF;
  if (osize === 16) mask &= 0xffff;
  c.setFlags((old & ~mask) | (v & mask));
}

/** Privileged instruction check: #GP(0) outside ring 0. */
function ring0(c: Cpu): void {
  if (c.cpl !== 0) gp(0);
}

/** CLI/STI/IN/OUT: allowed when CPL ≤ IOPL (the TSS I/O bitmap is not modelled). */
function iopl(c: Cpu): void {
  if (c.cpl > ((c.flags >> 12) & 3)) gp(0);
}

function movToCr(c: Cpu, n: number, v: number): void {
  ring0(c);
  switch (n) {
    case 0:
      // PG without PE, or NW without CD, is #GP(0) (SDM Vol. 3 §2.5).
      if (v & CR0_PG && !(v & CR0_PE)) gp(0);
      if (v & (1 << 29) && !(v & (1 << 30))) gp(0);
      c.setCr0(v);
      return;
    case 2:
      c.cr2 = v;
      return;
    case 3:
      c.setCr3(v);
      return;
    case 4:
      if (v & ~(CR4_PSE | CR4_PAE | CR4_PGE | 0x4 /* TSD */ | 0x8 /* DE */)) gp(0);
      if (c.cr0 & CR0_PG && !(v & CR4_PAE)) gp(0); // only PAE paging is implemented
      c.setCr4(v);
      return;
    default:
      throw new CpuFault(UD, -1);
  }
}

function movFromCr(c: Cpu, n: number): number {
  ring0(c);
  switch (n) {
    case 0: return c.cr0;
    case 2: return c.cr2;
    case 3: return c.cr3;
    case 4: return c.cr4;
    default: throw new CpuFault(UD, -1);
  }
}

/** CPUID: a plain i686 with no FPU, MMX or SSE; PAE, CX8, CMOV, TSC, MSR, NX. */
function cpuid(c: Cpu): void {
  const leaf = c.r32[EAX]! >>> 0;
  let a = 0, b = 0, cc = 0, d = 0;
  switch (leaf) {
    case 0:
      // Vendor "XenoformIA32" in EBX, EDX, ECX order.
      a = 1;
      b = 0x6f6e6558; // "Xeno"
      d = 0x6d726f66; // "form"
      cc = 0x32334149; // "IA32"
      break;
    case 1:
      a = 0x00000633; // family 6, model 3, stepping 3 (a Pentium II-class i686)
      // EDX: TSC(4) MSR(5) PAE(6) CX8(8) CMOV(15); no FPU(0), MMX(23), SSE(25).
      d = (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 15);
      break;
    case 0x80000000:
      a = 0x80000001;
      break;
    case 0x80000001:
      d = 1 << 20; // NX
      break;
  }
  c.r32[EAX] = a;
  c.r32[EBX] = b;
  c.r32[ECX] = cc;
  c.r32[EDX] = d;
}

function rdtsc(c: Cpu): void {
  if (c.cr4 & 0x4 && c.cpl !== 0) gp(0);
  const t = c.hooks.rdtsc(c);
  c.r32[EAX] = Number(t & 0xffffffffn) | 0;
  c.r32[EDX] = Number((t >> 32n) & 0xffffffffn) | 0;
}

function rdmsr(c: Cpu): void {
  ring0(c);
  const msr = c.r32[ECX]! >>> 0;
  if (msr === MSR_EFER) {
    c.r32[EAX] = c.efer;
    c.r32[EDX] = 0;
  } else if (msr === MSR_TSC) rdtsc(c);
  else gp(0);
}

function wrmsr(c: Cpu): void {
  ring0(c);
  const msr = c.r32[ECX]! >>> 0;
  if (msr === MSR_EFER) {
    if (c.r32[EAX]! & ~EFER_NXE || c.r32[EDX]) gp(0);
    c.efer = c.r32[EAX]!;
    c.mmu.flush();
  } else gp(0);
}

function portIn(c: Cpu, port: number, size: 8 | 16 | 32): number {
  iopl(c);
  return c.hooks.io ? c.hooks.io(c, port & 0xffff, size, false, 0) : size === 32 ? -1 : (1 << size) - 1;
}

function portOut(c: Cpu, port: number, size: 8 | 16 | 32, v: number): void {
  iopl(c);
  c.hooks.io?.(c, port & 0xffff, size, true, v);
}

/** INT n / INT3 / INTO / INT1: a trap to the embedder, EIP past the instruction. */
function softInt(c: Cpu, vector: number, next: number, self: number): void {
  c.eip = next;
  c.deliver(vector, -1, true, self);
}

function lgdt(c: Cpu, ea: number, idt: boolean): void {
  ring0(c);
  const limit = c.read16(ea);
  const base = c.read32((ea + 2) | 0);
  if (idt) {
    c.idtLimit = limit;
    c.idtBase = base;
  } else {
    c.gdtLimit = limit;
    c.gdtBase = base;
  }
}

function sgdt(c: Cpu, ea: number, idt: boolean): void {
  c.mmu.probeWrite((ea + 5) | 0);
  c.write16(ea, idt ? c.idtLimit : c.gdtLimit);
  c.write32((ea + 2) | 0, idt ? c.idtBase : c.gdtBase);
}

function lldt(c: Cpu, sel: number): void {
  ring0(c);
  sel &= 0xffff;
  if ((sel & 0xfffc) === 0) {
    c.ldtSel = sel;
    c.ldtBase = c.ldtLimit = 0;
    return;
  }
  if (sel & 4) gp(sel & 0xfffc);
  const [lo, hi] = descriptor(c, sel);
  if (!isSystem(hi) || ((hi >>> 8) & 0xf) !== 2) gp(sel & 0xfffc);
  if (!present(hi)) throw new CpuFault(NP, sel & 0xfffc);
  c.ldtSel = sel;
  c.ldtBase = descBase(lo, hi);
  const lim = (lo & 0xffff) | (hi & 0xf0000);
  c.ldtLimit = hi & 0x800000 ? lim * 4096 + 4095 : lim;
}

function ltr(c: Cpu, sel: number): void {
  ring0(c);
  c.trSel = sel & 0xffff;
}

/** LAR/LSL/VERR/VERW: ZF reports whether the selector is usable; returns the value or -1. */
function probeSeg(c: Cpu, sel: number, what: 'lar' | 'lsl' | 'verr' | 'verw'): number {
  sel &= 0xffff;
  let ok = false;
  let value = 0;
  if ((sel & 0xfffc) !== 0) {
    let d: [number, number] | undefined;
    try {
      d = descriptor(c, sel);
    } catch (e) {
      if (!(e instanceof CpuFault) || e.vector !== GP) throw e;
    }
    if (d) {
      const [lo, hi] = d;
      const dpl = descDpl(hi);
      const privOk = (isCode(hi) && conforming(hi) && !isSystem(hi)) || Math.max(c.cpl, sel & 3) <= dpl;
      if (what === 'verr') ok = !isSystem(hi) && privOk && (!isCode(hi) || codeReadable(hi));
      else if (what === 'verw') ok = !isSystem(hi) && privOk && !isCode(hi) && dataWritable(hi);
      else {
        ok = privOk && (!isSystem(hi) || [1, 2, 3, 9, 11].includes((hi >>> 8) & 0xf) || (what === 'lar' && [4, 5, 12].includes((hi >>> 8) & 0xf)));
        const lim = (lo & 0xffff) | (hi & 0xf0000);
        value = what === 'lar' ? hi & 0x00f0ff00 : hi & 0x800000 ? lim * 4096 + 4095 : lim;
      }
    }
  }
  c.getFlags();
  c.flags = ok ? c.flags | ZF : c.flags & ~ZF;
  return ok ? value : -1;
}

export const SYSTEM = {
  loadSeg,
  farJump,
  farCall,
  farReturn,
  popf,
  ring0,
  iopl,
  movToCr,
  movFromCr,
  cpuid,
  rdtsc,
  rdmsr,
  wrmsr,
  portIn,
  portOut,
  softInt,
  lgdt,
  sgdt,
  lldt,
  ltr,
  probeSeg,
};
