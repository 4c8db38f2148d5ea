/**
 * Data movement: MOV (all forms), LEA, XCHG, MOVZX, MOVSX, CBW/CWDE, CWD/CDQ, XLAT, LAHF,
 * SAHF, segment moves and far-pointer loads, CMPXCHG, CMPXCHG8B, XADD, flag-bit instructions
 * and the NOP family (SDM Vol. 2 entries of each).
 */
import type { OpSpec } from '../spec.ts';
import { LF, fixed, lazy, pre, preRMW, rE, rG, rM, sx, wE, wG, type Form } from '../templates.ts';
import { imm } from './alu.ts';

const specs: OpSpec[] = [
  { op: 0x88, name: 'mov', operands: 'Eb,Gb', width: 'b', hot: 3, body: (f) => `${pre(f)} ${wE(f, rG(f))}` },
  { op: 0x89, name: 'mov', operands: 'Ev,Gv', hot: 3, body: (f) => `${pre(f)} ${wE(f, rG(f))}` },
  { op: 0x8a, name: 'mov', operands: 'Gb,Eb', width: 'b', hot: 3, body: (f) => `${pre(f)} ${wG(f, rE(f))}` },
  { op: 0x8b, name: 'mov', operands: 'Gv,Ev', hot: 3, body: (f) => `${pre(f)} ${wG(f, rE(f))}` },
  { op: 0xc6, ext: 0, name: 'mov', operands: 'Eb,Ib', width: 'b', hot: 2, body: (f) => `${pre(f)} ${wE(f, imm(8))}` },
  { op: 0xc7, ext: 0, name: 'mov', operands: 'Ev,Iz', hot: 3, body: (f) => `${pre(f)} ${wE(f, imm(f.size))}` },
  // moffs forms: the decoder makes them memory operands with disp = the offset.
  { op: 0xa0, name: 'mov', operands: 'AL,Ob', width: 'b', hot: 1, body: (f) => `${pre(f)} ${fixed(8, 0)} = ${rE(f)};` },
  { op: 0xa1, name: 'mov', operands: 'eAX,Ov', hot: 2, body: (f) => `${pre(f)} ${fixed(f.size, 0)} = ${rE(f)};` },
  { op: 0xa2, name: 'mov', operands: 'Ob,AL', width: 'b', hot: 1, body: (f) => `${pre(f)} ${wE(f, fixed(8, 0))}` },
  { op: 0xa3, name: 'mov', operands: 'Ov,eAX', hot: 2, body: (f) => `${pre(f)} ${wE(f, fixed(f.size, 0))}` },
  {
    // LEA: the offset only, no segment base.
    op: 0x8d, name: 'lea', operands: 'Gv,M', hot: 3,
    body: (f) => wG(f, f.size === 32 ? '(c.r32[i.base] + (c.r32[i.index] << i.scale) + i.disp) | 0' : '(c.r32[i.base] + (c.r32[i.index] << i.scale) + i.disp) & 0xffff'),
  },
  {
    op: 0x86, name: 'xchg', operands: 'Eb,Gb', width: 'b', lock: true, hot: 1,
    body: (f) => `${preRMW(f)} const a = ${rE(f)}; const b = ${rG(f)}; ${wE(f, 'b')} ${wG(f, 'a')}`,
  },
  {
    op: 0x87, name: 'xchg', operands: 'Ev,Gv', lock: true, hot: 2,
    body: (f) => `${preRMW(f)} const a = ${rE(f)}; const b = ${rG(f)}; ${wE(f, 'b')} ${wG(f, 'a')}`,
  },
  { op: 0x90, name: 'nop', operands: '', hot: 2, body: () => '' },
  { op: 0x1b6, name: 'movzx', operands: 'Gv,Eb', hot: 3, body: (f) => `${pre(f)} ${wG(f, rE(f, 8))}` },
  { op: 0x1b7, name: 'movzx', operands: 'Gv,Ew', hot: 3, body: (f) => `${pre(f)} ${wG(f, rE(f, 16))}` },
  {
    op: 0x1be, name: 'movsx', operands: 'Gv,Eb', hot: 3,
    body: (f) => `${pre(f)} ${wG(f, f.size === 32 ? sx(8, rE(f, 8)) : `${sx(8, rE(f, 8))} & 0xffff`)}`,
  },
  {
    op: 0x1bf, name: 'movsx', operands: 'Gv,Ew', hot: 3,
    body: (f) => `${pre(f)} ${wG(f, f.size === 32 ? sx(16, rE(f, 16)) : rE(f, 16))}`,
  },
  { op: 0x98, name: 'cwde', operands: '', hot: 2, body: (f) => (f.size === 32 ? `c.r32[0] = ${sx(16, 'c.r16[0]')};` : `c.r16[0] = ${sx(8, 'c.r8[0]')} & 0xffff;`) },
  { op: 0x99, name: 'cdq', operands: '', hot: 2, body: (f) => (f.size === 32 ? 'c.r32[2] = c.r32[0] >> 31;' : 'c.r16[4] = c.r16[0] & 0x8000 ? 0xffff : 0;') },
  { op: 0xd7, name: 'xlat', operands: '', hot: 1, body: () => 'c.r8[0] = c.read8((c.segBase[i.seg] + c.r32[3] + c.r8[0]) | 0);' },
  { op: 0x9f, name: 'lahf', operands: '', hot: 1, body: () => 'c.r8[1] = (c.getFlags() & 0xd5) | 2;' },
  { op: 0x9e, name: 'sahf', operands: '', hot: 1, body: () => 'c.setFlags((c.getFlags() & ~0xd5) | (c.r8[1] & 0xd5));' },
  { op: 0xf8, name: 'clc', operands: '', hot: 1, body: () => 'c.keepCarry(); c.lazy &= ~1; c.flags &= ~1;' },
  { op: 0xf9, name: 'stc', operands: '', hot: 1, body: () => 'c.keepCarry(); c.lazy &= ~1; c.flags |= 1;' },
  { op: 0xf5, name: 'cmc', operands: '', hot: 1, body: () => 'c.keepCarry(); c.lazy &= ~1; c.flags ^= 1;' },
  { op: 0xfc, name: 'cld', operands: '', hot: 2, body: () => 'c.flags &= ~0x400;' },
  { op: 0xfd, name: 'std', operands: '', hot: 1, body: () => 'c.flags |= 0x400;' },
  // SALC (undocumented, present on every IA-32 processor): AL ← CF ? FF : 00.
  { op: 0xd6, name: 'salc', operands: '', hot: 1, body: () => 'c.r8[0] = c.cf() ? 0xff : 0;' },
  // MOV r/m, Sreg: a register destination gets the selector zero-extended (P6 and later).
  { op: 0x8c, name: 'mov', operands: 'Ew,Sw', width: 'w', hot: 1, body: (f) => `if (i.reg > 5) c.fault(6); ${pre(f)} ${f.mem ? 'c.write16(ea, c.sel[i.reg]);' : f.osize === 32 ? 'c.r32[i.rm] = c.sel[i.reg];' : 'c.r16[i.rm << 1] = c.sel[i.reg];'}` },
  { op: 0x8e, name: 'mov', operands: 'Sw,Ew', width: 'w', hot: 1, body: (f) => `if (i.reg > 5) c.fault(6); ${pre(f)} H.loadSeg(c, i.reg, ${rE(f, 16)});` },
  {
    op: 0x1b0, name: 'cmpxchg', operands: 'Eb,Gb', width: 'b', lock: true, hot: 1,
    body: (f) => cmpxchg(f),
  },
  { op: 0x1b1, name: 'cmpxchg', operands: 'Ev,Gv', lock: true, hot: 2, body: (f) => cmpxchg(f) },
  {
    // CMPXCHG8B m64: ZF reports equality; the other flags are unaffected.
    op: 0x1c7, ext: 1, name: 'cmpxchg8b', operands: 'Mq', lock: true, hot: 1,
    body: () => `const ea = ${'((c.segBase[i.seg] + c.r32[i.base] + (c.r32[i.index] << i.scale) + i.disp) | 0)'};
      c.probeWrite(ea, 8); const lo = c.read32(ea), hi = c.read32((ea + 4) | 0);
      if (lo === c.r32[0] && hi === c.r32[2]) { c.write32(ea, c.r32[3]); c.write32((ea + 4) | 0, c.r32[1]); H.setZero(c, true); }
      else { c.write32(ea, lo); c.write32((ea + 4) | 0, hi); c.r32[0] = lo; c.r32[2] = hi; H.setZero(c, false); }`,
  },
  {
    op: 0x1c0, name: 'xadd', operands: 'Eb,Gb', width: 'b', lock: true, hot: 1,
    body: (f) => `${preRMW(f)} const a = ${rE(f)}; const b = ${rG(f)}; const res = (a + b) & 0xff; ${lazy(LF.ADD, 8, 'a', 'b', 'res')} ${wG(f, 'a')} ${wE(f, 'res')}`,
  },
  {
    op: 0x1c1, name: 'xadd', operands: 'Ev,Gv', lock: true, hot: 2,
    body: (f) => `${preRMW(f)} const a = ${rE(f)}; const b = ${rG(f)}; const res = ${f.size === 32 ? '(a + b) | 0' : '(a + b) & 0xffff'}; ${lazy(LF.ADD, f.size, 'a', 'b', 'res')} ${wG(f, 'a')} ${wE(f, 'res')}`,
  },
];

/** CMPXCHG: compare the accumulator with the destination; a memory destination is always written. */
function cmpxchg(f: Form): string {
  const acc = fixed(f.size, 0);
  const sub = f.size === 32 ? '(a - d) | 0' : `(a - d) & ${f.size === 16 ? '0xffff' : '0xff'}`;
  return `${preRMW(f)} const d = ${rE(f)}; const a = ${acc}; const res = ${sub}; ${lazy(LF.SUB, f.size, 'a', 'd', 'res')}
    if (a === d) { ${wE(f, rG(f))} } else { ${f.mem ? wE(f, 'd') : ''} ${acc} = d; }`;
}

for (let r = 0; r < 8; r++) {
  specs.push(
    { op: 0xb0 + r, name: 'mov', operands: 'Zb,Ib', width: 'b', hot: 2, body: () => 'c.r8[i.rm8] = i.imm & 0xff;' },
    { op: 0xb8 + r, name: 'mov', operands: 'Zv,Iv', hot: 3, body: (f) => (f.size === 32 ? 'c.r32[i.rm] = i.imm;' : 'c.r16[i.rm << 1] = i.imm & 0xffff;') },
  );
  if (r !== 0) {
    specs.push({
      op: 0x90 + r, name: 'xchg', operands: 'Zv', hot: 1,
      body: (f) => (f.size === 32 ? 'const t = c.r32[0]; c.r32[0] = c.r32[i.rm]; c.r32[i.rm] = t;' : 'const t = c.r16[0]; c.r16[0] = c.r16[i.rm << 1]; c.r16[i.rm << 1] = t;'),
    });
  }
}

// Hint NOPs: 0F 18–0F 1F with any ModRM (0F 1F /0 is the recommended multi-byte NOP; F3 0F 1E FB
// is ENDBR32, a NOP on processors without CET).
for (let op = 0x118; op <= 0x11f; op++) {
  for (let ext = 0; ext < 8; ext++) specs.push({ op, ext, name: 'nop', operands: 'Ev', hot: op === 0x11f ? 2 : 1, body: () => '' });
}

/** LDS/LES/LSS/LFS/LGS: offset then selector from memory. */
const SEG_LOADS: [number, string, number][] = [[0xc4, 'les', 0], [0xc5, 'lds', 3], [0x1b2, 'lss', 2], [0x1b4, 'lfs', 4], [0x1b5, 'lgs', 5]];
for (const [op, name, seg] of SEG_LOADS) {
  specs.push({
    op, name, operands: 'Gv,Mp', hot: 1,
    body: (f) => `${pre(f)} const off = ${rM(f.size, 'ea')}; const sel = c.read16((ea + ${f.size / 8}) | 0); H.loadSeg(c, ${seg}, sel); ${wG(f, 'off')}`,
  });
}

export const MOVE = specs;
