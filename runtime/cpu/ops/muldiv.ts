/**
 * Multiply and divide: MUL, IMUL (one-, two- and three-operand), DIV, IDIV (SDM Vol. 2A/2B).
 * MUL/IMUL set CF = OF = "the upper half is significant"; SF, ZF, AF, PF are undefined (we
 * derive SF/ZF/PF from the low result). DIV/IDIV leave all flags undefined (we leave them
 * unchanged) and raise #DE on a zero divisor or a quotient that does not fit.
 */
import type { OpSpec } from '../spec.ts';
import { pre, rE, rG, resultFlags, sx, wG, type Form } from '../templates.ts';
import { imm } from './alu.ts';

const mul = (f: Form): string => {
  switch (f.size) {
    case 8: return `${pre(f)} const r = c.r8[0] * ${rE(f)}; c.r16[0] = r; const cf = r > 0xff ? 1 : 0; ${resultFlags(8, 'r & 0xff', 'cf', 'cf')}`;
    case 16: return `${pre(f)} const r = c.r16[0] * ${rE(f)}; c.r16[0] = r & 0xffff; c.r16[4] = r >>> 16; const cf = r > 0xffff ? 1 : 0; ${resultFlags(16, 'r & 0xffff', 'cf', 'cf')}`;
    default: return `${pre(f)} const lo = H.mulu32(c.r32[0], ${rE(f)}); const hi = H.hi(); c.r32[0] = lo; c.r32[2] = hi; const cf = hi !== 0 ? 1 : 0; ${resultFlags(32, 'lo', 'cf', 'cf')}`;
  }
};

const imul1 = (f: Form): string => {
  switch (f.size) {
    case 8: return `${pre(f)} const r = ${sx(8, 'c.r8[0]')} * ${sx(8, rE(f))}; c.r16[0] = r & 0xffff; const cf = r !== ${sx(8, 'r')} ? 1 : 0; ${resultFlags(8, 'r & 0xff', 'cf', 'cf')}`;
    case 16: return `${pre(f)} const r = ${sx(16, 'c.r16[0]')} * ${sx(16, rE(f))}; c.r16[0] = r & 0xffff; c.r16[4] = (r >> 16) & 0xffff; const cf = r !== ${sx(16, 'r')} ? 1 : 0; ${resultFlags(16, 'r & 0xffff', 'cf', 'cf')}`;
    default: return `${pre(f)} const lo = H.muls32(c.r32[0], ${rE(f)}); const hi = H.hi(); c.r32[0] = lo; c.r32[2] = hi; const cf = hi !== (lo >> 31) ? 1 : 0; ${resultFlags(32, 'lo', 'cf', 'cf')}`;
  }
};

/** Two- and three-operand IMUL: G ← a × b truncated. */
const imulG = (src: (f: Form) => string) => (f: Form): string => {
  if (f.size === 16) {
    return `${pre(f)} const r = ${sx(16, rE(f))} * ${sx(16, src(f))}; const res = r & 0xffff; const cf = r !== ${sx(16, 'r')} ? 1 : 0; ${wG(f, 'res')} ${resultFlags(16, 'res', 'cf', 'cf')}`;
  }
  return `${pre(f)} const lo = H.muls32(${rE(f)}, ${src(f)}); const cf = H.hi() !== (lo >> 31) ? 1 : 0; ${wG(f, 'lo')} ${resultFlags(32, 'lo', 'cf', 'cf')}`;
};

const div = (f: Form): string => {
  switch (f.size) {
    case 8: return `${pre(f)} const d = ${rE(f)}; if (d === 0) c.fault(0); const n = c.r16[0]; const q = Math.floor(n / d); if (q > 0xff) c.fault(0); c.r8[0] = q; c.r8[1] = n % d;`;
    case 16: return `${pre(f)} const d = ${rE(f)}; if (d === 0) c.fault(0); const n = (c.r16[4] * 65536) + c.r16[0]; const q = Math.floor(n / d); if (q > 0xffff) c.fault(0); c.r16[0] = q; c.r16[4] = n % d;`;
    default: return `${pre(f)} const q = H.divu64(c.r32[2], c.r32[0], ${rE(f)}); c.r32[0] = q; c.r32[2] = H.rem();`;
  }
};

const idiv = (f: Form): string => {
  switch (f.size) {
    case 8: return `${pre(f)} const d = ${sx(8, rE(f))}; if (d === 0) c.fault(0); const n = ${sx(16, 'c.r16[0]')}; const q = Math.trunc(n / d); if (q > 127 || q < -128) c.fault(0); c.r8[0] = q & 0xff; c.r8[1] = (n % d) & 0xff;`;
    case 16: return `${pre(f)} const d = ${sx(16, rE(f))}; if (d === 0) c.fault(0); const n = (c.r16[4] << 16) | c.r16[0]; const q = Math.trunc(n / d); if (q > 32767 || q < -32768) c.fault(0); c.r16[0] = q & 0xffff; c.r16[4] = (n % d) & 0xffff;`;
    default: return `${pre(f)} const q = H.divs64(c.r32[2], c.r32[0], ${rE(f)}); c.r32[0] = q; c.r32[2] = H.rem();`;
  }
};

export const MULDIV: OpSpec[] = [
  { op: 0xf6, ext: 4, name: 'mul', operands: 'Eb', width: 'b', hot: 1, body: mul },
  { op: 0xf7, ext: 4, name: 'mul', operands: 'Ev', hot: 2, body: mul },
  { op: 0xf6, ext: 5, name: 'imul', operands: 'Eb', width: 'b', hot: 1, body: imul1 },
  { op: 0xf7, ext: 5, name: 'imul', operands: 'Ev', hot: 2, body: imul1 },
  { op: 0xf6, ext: 6, name: 'div', operands: 'Eb', width: 'b', hot: 1, body: div },
  { op: 0xf7, ext: 6, name: 'div', operands: 'Ev', hot: 2, body: div },
  { op: 0xf6, ext: 7, name: 'idiv', operands: 'Eb', width: 'b', hot: 1, body: idiv },
  { op: 0xf7, ext: 7, name: 'idiv', operands: 'Ev', hot: 2, body: idiv },
  { op: 0x1af, name: 'imul', operands: 'Gv,Ev', hot: 3, body: imulG((f) => rG(f)) },
  { op: 0x69, name: 'imul', operands: 'Gv,Ev,Iz', hot: 2, body: imulG((f) => imm(f.size)) },
  { op: 0x6b, name: 'imul', operands: 'Gv,Ev,Ibs', hot: 2, body: imulG((f) => imm(f.size)) },
];
