/**
 * Shifts and rotates: group 2 (C0 C1 D0–D3), SHLD, SHRD (SDM Vol. 2B "SAL/SAR/SHL/SHR",
 * "RCL/RCR/ROL/ROR", "SHLD", "SHRD"). The count is masked to 5 bits; a masked count of 0
 * changes neither the operand nor the flags.
 */
import type { OpSpec } from '../spec.ts';
import { preRMW, rE, rG, resultFlags, sx, tr, wE, type Form, type Size } from '../templates.ts';

type Count = 'Ib' | '1' | 'CL';
const count = (c: Count): string => (c === 'Ib' ? '(i.imm & 0x1f)' : c === '1' ? '1' : '(c.r8[4] & 0x1f)');
const msb = (s: Size, v: string): string => `((${v} >>> ${s - 1}) & 1)`;

function shl(s: Size): string {
  return `const res = ${tr(s, 'a << n')}; const cf = n <= ${s} ? (a >>> (${s} - n)) & 1 : 0; ${resultFlags(s, 'res', 'cf', `${msb(s, 'res')} ^ cf`)}`;
}
function shr(s: Size): string {
  const ua = s === 32 ? '(a >>> 0)' : 'a';
  return `const res = ${tr(s, `${ua} >>> n`)}; const cf = n <= ${s} ? (${ua} >>> (n - 1)) & 1 : 0; ${resultFlags(s, 'res', 'cf', msb(s, 'a'))}`;
}
function sar(s: Size): string {
  return `const sa = ${sx(s, 'a')}; const res = ${tr(s, 'sa >> n')}; const cf = (sa >> (n - 1)) & 1; ${resultFlags(s, 'res', 'cf', '0')}`;
}

const ROT = ['rol', 'ror', 'rcl', 'rcr'] as const;

function body(ext: number, cnt: Count) {
  return (f: Form): string => {
    const s = f.size;
    if (ext < 4) {
      return `${preRMW(f)} const n = ${count(cnt)}; const a = ${rE(f)}; const res = H.${ROT[ext]}(c, ${s}, a, n); if (n !== 0) { ${wE(f, 'res')} }`;
    }
    const op = ext === 5 ? shr(s) : ext === 7 ? sar(s) : shl(s);
    return `${preRMW(f)} const n = ${count(cnt)}; if (n !== 0) { const a = ${rE(f)}; ${op} ${wE(f, 'res')} }`;
  };
}

const NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
const FORMS: [number, string, Count, 'b' | 'v'][] = [
  [0xc0, 'Eb,Ib', 'Ib', 'b'],
  [0xc1, 'Ev,Ib', 'Ib', 'v'],
  [0xd0, 'Eb,1', '1', 'b'],
  [0xd1, 'Ev,1', '1', 'v'],
  [0xd2, 'Eb,CL', 'CL', 'b'],
  [0xd3, 'Ev,CL', 'CL', 'v'],
];

const specs: OpSpec[] = [];
for (const [op, operands, cnt, width] of FORMS) {
  for (let ext = 0; ext < 8; ext++) {
    specs.push({ op, ext, name: NAMES[ext]!, operands, width, hot: ext >= 4 ? 3 : 1, body: body(ext, cnt) });
  }
}

const dshift = (fn: 'shld' | 'shrd', cnt: Count) => (f: Form): string =>
  `${preRMW(f)} const n = ${count(cnt)}; const a = ${rE(f)}; const res = H.${fn}(c, ${f.size}, a, ${rG(f)}, n); if (n !== 0) { ${wE(f, 'res')} }`;

specs.push(
  { op: 0x1a4, name: 'shld', operands: 'Ev,Gv,Ib', hot: 2, body: dshift('shld', 'Ib') },
  { op: 0x1a5, name: 'shld', operands: 'Ev,Gv,CL', hot: 2, body: dshift('shld', 'CL') },
  { op: 0x1ac, name: 'shrd', operands: 'Ev,Gv,Ib', hot: 2, body: dshift('shrd', 'Ib') },
  { op: 0x1ad, name: 'shrd', operands: 'Ev,Gv,CL', hot: 2, body: dshift('shrd', 'CL') },
);

export const SHIFT = specs;
