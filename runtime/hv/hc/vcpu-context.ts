/**
 * VCPUOP_initialise: bring a secondary vCPU up from a struct vcpu_guest_context (arch-x86/
 * xen.h, cpu_user_regs from arch-x86/xen-x86_32.h; offsets as gcc -m32 lays them out, 2800
 * bytes in all). Like Xen's arch_set_info_guest for a 32-bit PV guest.
 */
import { CR0_PE, CR0_PG, CR0_WP, CR4_PAE, CS, DS, EAX, EBP, EBX, ECX, EDI, EDX, EFER_NXE, ES, ESI, ESP, FS, GS, IF, IOPL, NT, SSR, VM } from '../../cpu/constants.ts';
import type { VCpu } from '../vcpu.ts';
import { readU16, readU32, readU8 } from '../guestmem.ts';
import { fixSelector } from './types.ts';
import { } from '../../cpu/index.ts';
import * as E from '../errno.ts';
import { pageTypesOf } from '../../mem/pagetype.ts';

const CTX = {
  FLAGS: 512,
  REGS: 516, // cpu_user_regs: ebx ecx edx esi edi ebp eax @0..24, eip @32, cs @36, eflags @40, esp @44, ss @48, es @52, ds @56, fs @60, gs @64
  TRAPS: 584, // trap_info[256], 8 bytes each
  GDT_FRAMES: 2640,
  GDT_ENTS: 2704,
  KERNEL_SS: 2708,
  KERNEL_SP: 2712,
  CTRLREG: 2716,
  EVENT_CS: 2780,
  EVENT_EIP: 2784,
  FAILSAFE_CS: 2788,
  FAILSAFE_EIP: 2792,
} as const;
/** cpu_user_regs order: ebx ecx edx esi edi ebp eax → our register numbers. */
const REG_ORDER = [EBX, ECX, EDX, ESI, EDI, EBP, EAX];

export function initialiseVcpu(caller: VCpu, target: VCpu, ctx: number): number {
  if (target.initialised) return -E.EEXIST;
  const d = caller.domain;
  const r = CTX.REGS;
  const regs = REG_ORDER.map((_, k) => readU32(caller, ctx + r + k * 4));
  const eip = readU32(caller, ctx + r + 32);
  const cs = fixSelector(readU16(caller, ctx + r + 36));
  const eflags = readU32(caller, ctx + r + 40);
  const esp = readU32(caller, ctx + r + 44);
  const sels = [48, 52, 56, 60, 64].map((o) => fixSelector(readU16(caller, ctx + r + o)));
  const traps: { vector: number; flags: number; cs: number; eip: number }[] = [];
  for (let k = 0; k < 256; k++) {
    const a = ctx + CTX.TRAPS + k * 8;
    const addr = readU32(caller, a + 4);
    if (addr !== 0) traps.push({ vector: readU8(caller, a), flags: readU8(caller, a + 1), cs: fixSelector(readU16(caller, a + 2)), eip: addr });
  }
  const gdtEnts = readU32(caller, ctx + CTX.GDT_ENTS);
  if (gdtEnts > 16 * 512) return -E.EINVAL;
  const gdtFrames: number[] = [];
  for (let k = 0; k < Math.ceil(gdtEnts / 512); k++) {
    const mfn = readU32(caller, ctx + CTX.GDT_FRAMES + k * 4);
    if (!d.owns(mfn)) return -E.EINVAL;
    gdtFrames.push(mfn);
  }
  // ctrlreg[3] holds xen_pfn_to_cr3(mfn) = (mfn << 12) | (mfn >> 20) for a 32-bit guest.
  const cr3 = readU32(caller, ctx + CTX.CTRLREG + 12);
  const l3 = ((cr3 >>> 12) | ((cr3 & 0xfff) << 20)) >>> 0;
  if (!d.owns(l3)) return -E.EINVAL;
  if ((cs & 0xfffc) === 0 || (sels[0]! & 0xfffc) === 0) return -E.EINVAL;

  const cpu = target.cpu;
  cpu.efer = EFER_NXE;
  cpu.cr4 = CR4_PAE;
  // The new CR3 must be a validated L3 of this domain: take the reference as NEW_BASEPTR does,
  // never load an unchecked table (that would let a guest map any machine frame).
  const rc = pageTypesOf(d.host).setBaseptr(target, l3);
  if (rc !== 0) return rc;
  cpu.setCr0(CR0_PE | CR0_PG | CR0_WP | 0x10);
  regs.forEach((v, k) => (cpu.r32[REG_ORDER[k]!] = v));
  cpu.r32[ESP] = esp;
  cpu.setSegment(CS, cs);
  [SSR, ES, DS, FS, GS].forEach((seg, k) => cpu.setSegment(seg, sels[k]!));
  cpu.setFlags((eflags & ~(IOPL | VM | NT)) | IF);
  cpu.eip = eip;
  target.traps.fill(undefined);
  for (const t of traps) target.traps[t.vector] = { flags: t.flags, cs: t.cs, eip: t.eip };
  target.gdtFrames = gdtFrames;
  target.gdtEntries = gdtEnts;
  target.kernelSs = fixSelector(readU32(caller, ctx + CTX.KERNEL_SS));
  target.kernelSp = readU32(caller, ctx + CTX.KERNEL_SP);
  target.eventCs = fixSelector(readU32(caller, ctx + CTX.EVENT_CS));
  target.eventEip = readU32(caller, ctx + CTX.EVENT_EIP);
  target.failsafeCs = fixSelector(readU32(caller, ctx + CTX.FAILSAFE_CS));
  target.failsafeEip = readU32(caller, ctx + CTX.FAILSAFE_EIP);
  target.initialised = true;
  return 0;
}
