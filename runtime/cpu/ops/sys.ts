/**
 * System instructions (semantics in system.ts): descriptor tables, control/debug registers,
 * MSRs, CPUID, RDTSC, I/O, CLI/STI, ARPL, and the x87 escape opcodes, which raise #NM because
 * this CPU has no FPU (CPUID.1:EDX.FPU = 0; guests build with -mgeneral-regs-only).
 */
import type { OpSpec } from '../spec.ts';
import { pre, rE, wE, type Form } from '../templates.ts';

const specs: OpSpec[] = [
  { op: 0xfa, name: 'cli', operands: '', hot: 1, body: () => 'H.iopl(c); c.flags &= ~0x200;' },
  { op: 0xfb, name: 'sti', operands: '', kind: 'stop', hot: 1, body: () => 'H.iopl(c); c.flags |= 0x200;' },
  { op: 0x1a2, name: 'cpuid', operands: '', hot: 1, body: () => 'H.cpuid(c);' },
  { op: 0x131, name: 'rdtsc', operands: '', hot: 1, body: () => 'H.rdtsc(c);' },
  { op: 0x130, name: 'wrmsr', operands: '', kind: 'stop', hot: 1, body: () => 'H.wrmsr(c);' },
  { op: 0x132, name: 'rdmsr', operands: '', hot: 1, body: () => 'H.rdmsr(c);' },
  { op: 0x106, name: 'clts', operands: '', hot: 1, body: () => 'H.ring0(c); c.cr0 &= ~8;' },
  { op: 0x108, name: 'invd', operands: '', hot: 1, body: () => 'H.ring0(c);' },
  { op: 0x109, name: 'wbinvd', operands: '', hot: 1, body: () => 'H.ring0(c);' },
  { op: 0x10b, name: 'ud2', operands: '', hot: 1, body: () => 'c.fault(6);' },
  { op: 0x1b9, name: 'ud1', operands: 'Gv,Ev', hot: 1, body: () => 'c.fault(6);' },
  // MOV to/from control and debug registers: ModRM.mod is ignored, r/m names a GPR.
  { op: 0x120, name: 'mov', operands: 'Rd,Cd', width: 'd', hot: 1, body: () => 'c.r32[i.rm] = H.movFromCr(c, i.reg);' },
  { op: 0x122, name: 'mov', operands: 'Cd,Rd', width: 'd', kind: 'stop', hot: 1, body: () => 'H.movToCr(c, i.reg, c.r32[i.rm]);' },
  { op: 0x121, name: 'mov', operands: 'Rd,Dd', width: 'd', hot: 1, body: () => 'H.ring0(c); c.r32[i.rm] = c.dr[i.reg];' },
  { op: 0x123, name: 'mov', operands: 'Dd,Rd', width: 'd', hot: 1, body: () => 'H.ring0(c); c.dr[i.reg] = c.r32[i.rm];' },
  { op: 0x101, ext: 0, name: 'sgdt', operands: 'Ms', hot: 1, body: (f) => `${pre(f)} H.sgdt(c, ea, false);` },
  { op: 0x101, ext: 1, name: 'sidt', operands: 'Ms', hot: 1, body: (f) => `${pre(f)} H.sgdt(c, ea, true);` },
  { op: 0x101, ext: 2, name: 'lgdt', operands: 'Ms', hot: 1, body: (f) => `${pre(f)} H.lgdt(c, ea, false);` },
  { op: 0x101, ext: 3, name: 'lidt', operands: 'Ms', hot: 1, body: (f) => `${pre(f)} H.lgdt(c, ea, true);` },
  {
    // SMSW: a register destination gets CR0 (low 16 bits with a 16-bit operand size).
    op: 0x101, ext: 4, name: 'smsw', operands: 'Ew', width: 'w', hot: 1,
    body: (f) => `${pre(f)} ${f.mem ? 'c.write16(ea, c.cr0 & 0xffff);' : f.osize === 32 ? 'c.r32[i.rm] = c.cr0;' : 'c.r16[i.rm << 1] = c.cr0 & 0xffff;'}`,
  },
  { op: 0x101, ext: 6, name: 'lmsw', operands: 'Ew', width: 'w', kind: 'stop', hot: 1, body: (f) => `H.ring0(c); ${pre(f)} const v = ${rE(f)}; H.movToCr(c, 0, (c.cr0 & ~0xe) | (v & 0xf) | (c.cr0 & 1));` },
  { op: 0x101, ext: 7, name: 'invlpg', operands: 'M', kind: 'stop', hot: 1, body: (f) => `${pre(f)} H.ring0(c); c.mmu.invlpg(ea);` },
  { op: 0x100, ext: 0, name: 'sldt', operands: 'Ew', width: 'w', hot: 1, body: (f) => storeSel(f, 'c.ldtSel') },
  { op: 0x100, ext: 1, name: 'str', operands: 'Ew', width: 'w', hot: 1, body: (f) => storeSel(f, 'c.trSel') },
  { op: 0x100, ext: 2, name: 'lldt', operands: 'Ew', width: 'w', hot: 1, body: (f) => `H.ring0(c); ${pre(f)} H.lldt(c, ${rE(f, 16)});` },
  { op: 0x100, ext: 3, name: 'ltr', operands: 'Ew', width: 'w', hot: 1, body: (f) => `H.ring0(c); ${pre(f)} H.ltr(c, ${rE(f, 16)});` },
  { op: 0x100, ext: 4, name: 'verr', operands: 'Ew', width: 'w', hot: 1, body: (f) => `${pre(f)} H.probeSeg(c, ${rE(f, 16)}, 'verr');` },
  { op: 0x100, ext: 5, name: 'verw', operands: 'Ew', width: 'w', hot: 1, body: (f) => `${pre(f)} H.probeSeg(c, ${rE(f, 16)}, 'verw');` },
  {
    op: 0x102, name: 'lar', operands: 'Gv,Ew', hot: 1,
    body: (f) => `${pre(f)} const v = H.probeSeg(c, ${rE(f, 16)}, 'lar'); if (v !== -1) { ${f.osize === 32 ? 'c.r32[i.reg] = v;' : 'c.r16[i.reg << 1] = v & 0xffff;'} }`,
  },
  {
    op: 0x103, name: 'lsl', operands: 'Gv,Ew', hot: 1,
    body: (f) => `${pre(f)} const v = H.probeSeg(c, ${rE(f, 16)}, 'lsl'); if (v !== -1) { ${f.osize === 32 ? 'c.r32[i.reg] = v;' : 'c.r16[i.reg << 1] = v & 0xffff;'} }`,
  },
  {
    // ARPL: raise the destination selector's RPL to the source's; ZF reports a change.
    op: 0x63, name: 'arpl', operands: 'Ew,Gw', width: 'w', hot: 1,
    body: (f) => `${pre(f)} const d = ${rE(f)}; const s = c.r16[i.reg << 1]; if ((d & 3) < (s & 3)) { ${wE(f, '(d & ~3) | (s & 3)')} H.setZero(c, true); } else H.setZero(c, false);`,
  },
  { op: 0xe4, name: 'in', operands: 'AL,Ib', hot: 1, body: () => 'c.r8[0] = H.portIn(c, i.imm & 0xff, 8);' },
  { op: 0xe5, name: 'in', operands: 'eAX,Ib', hot: 1, body: (f) => (f.osize === 32 ? 'c.r32[0] = H.portIn(c, i.imm & 0xff, 32);' : 'c.r16[0] = H.portIn(c, i.imm & 0xff, 16);') },
  { op: 0xe6, name: 'out', operands: 'Ib,AL', hot: 1, body: () => 'H.portOut(c, i.imm & 0xff, 8, c.r8[0]);' },
  { op: 0xe7, name: 'out', operands: 'Ib,eAX', hot: 1, body: (f) => (f.osize === 32 ? 'H.portOut(c, i.imm & 0xff, 32, c.r32[0]);' : 'H.portOut(c, i.imm & 0xff, 16, c.r16[0]);') },
  { op: 0xec, name: 'in', operands: 'AL,DX', hot: 1, body: () => 'c.r8[0] = H.portIn(c, c.r16[4], 8);' },
  { op: 0xed, name: 'in', operands: 'eAX,DX', hot: 1, body: (f) => (f.osize === 32 ? 'c.r32[0] = H.portIn(c, c.r16[4], 32);' : 'c.r16[0] = H.portIn(c, c.r16[4], 16);') },
  { op: 0xee, name: 'out', operands: 'DX,AL', hot: 1, body: () => 'H.portOut(c, c.r16[4], 8, c.r8[0]);' },
  { op: 0xef, name: 'out', operands: 'DX,eAX', hot: 1, body: (f) => (f.osize === 32 ? 'H.portOut(c, c.r16[4], 32, c.r32[0]);' : 'H.portOut(c, c.r16[4], 16, c.r16[0]);') },
  // WAIT/FWAIT: #NM only when CR0.MP and CR0.TS are both set (SDM Vol. 3 Table 2-2).
  { op: 0x9b, name: 'fwait', operands: '', hot: 1, body: () => 'if ((c.cr0 & 0xa) === 0xa) c.fault(7);' },
];

/** SLDT/STR: a register destination gets the selector zero-extended. */
function storeSel(f: Form, v: string): string {
  return `${pre(f)} ${f.mem ? `c.write16(ea, ${v});` : f.osize === 32 ? `c.r32[i.rm] = ${v};` : `c.r16[i.rm << 1] = ${v};`}`;
}

for (let op = 0xd8; op <= 0xdf; op++) {
  for (let ext = 0; ext < 8; ext++) specs.push({ op, ext, name: 'esc', operands: 'Ev', hot: 1, body: () => 'c.fault(7);' });
}

export const SYS = specs;
