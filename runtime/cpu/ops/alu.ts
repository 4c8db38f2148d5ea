/**
 * Integer ALU: ADD OR ADC SBB AND SUB XOR CMP in all their encodings, INC, DEC, NEG, NOT, TEST
 * (SDM Vol. 2 entries of each; opcode map Vol. 2 Appendix A, Table A-2).
 */
import type { OpSpec } from '../spec.ts';
import { LF, logic, lazy, pre, preRMW, rE, rG, tr, wE, wG, fixed, type Form, type Size } from '../templates.ts';

const NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'] as const;

/** Immediate of size s as the CPU holds values. */
export const imm = (s: Size): string => (s === 32 ? 'i.imm' : s === 16 ? '(i.imm & 0xffff)' : '(i.imm & 0xff)');

/** Statements computing `res` from `a` and `b` for ALU operation k, recording flags. */
function compute(k: number, s: Size): string {
  switch (k) {
    case 0: return `const res = ${tr(s, 'a + b')}; ${lazy(LF.ADD, s, 'a', 'b', 'res')}`;
    case 1: return `const res = ${tr(s, 'a | b')}; ${logic(s, 'res')}`;
    case 2: return `const cin = c.cf(); const res = ${tr(s, 'a + b + cin')}; ${lazy(`cin ? ${LF.ADC1} : ${LF.ADD}`, s, 'a', 'b', 'res')}`;
    case 3: return `const cin = c.cf(); const res = ${tr(s, 'a - b - cin')}; ${lazy(`cin ? ${LF.SBB1} : ${LF.SUB}`, s, 'a', 'b', 'res')}`;
    case 4: return `const res = ${tr(s, 'a & b')}; ${logic(s, 'res')}`;
    case 5:
    case 7: return `const res = ${tr(s, 'a - b')}; ${lazy(LF.SUB, s, 'a', 'b', 'res')}`;
    default: return `const res = ${tr(s, 'a ^ b')}; ${logic(s, 'res')}`;
  }
}

/** E ← E op src (or only flags, for CMP). */
const toE = (k: number, src: (f: Form) => string) => (f: Form): string =>
  `${k === 7 ? pre(f) : preRMW(f)} const a = ${rE(f)}; const b = ${src(f)}; ${compute(k, f.size)} ${k === 7 ? '' : wE(f, 'res')}`;

const specs: OpSpec[] = [];
NAMES.forEach((name, k) => {
  const base = k * 8;
  const lock = k !== 7;
  specs.push(
    { op: base, name, operands: 'Eb,Gb', width: 'b', lock, hot: 2, body: toE(k, (f) => rG(f)) },
    { op: base + 1, name, operands: 'Ev,Gv', lock, hot: 3, body: toE(k, (f) => rG(f)) },
    {
      op: base + 2, name, operands: 'Gb,Eb', width: 'b', hot: 2,
      body: (f) => `${pre(f)} const a = ${rG(f)}; const b = ${rE(f)}; ${compute(k, f.size)} ${k === 7 ? '' : wG(f, 'res')}`,
    },
    {
      op: base + 3, name, operands: 'Gv,Ev', hot: 3,
      body: (f) => `${pre(f)} const a = ${rG(f)}; const b = ${rE(f)}; ${compute(k, f.size)} ${k === 7 ? '' : wG(f, 'res')}`,
    },
    {
      op: base + 4, name, operands: 'AL,Ib', width: 'b', hot: 2,
      body: () => `const a = ${fixed(8, 0)}; const b = i.imm & 0xff; ${compute(k, 8)} ${k === 7 ? '' : `${fixed(8, 0)} = res;`}`,
    },
    {
      op: base + 5, name, operands: 'eAX,Iz', hot: 2,
      body: (f) => `const a = ${fixed(f.size, 0)}; const b = ${imm(f.size)}; ${compute(k, f.size)} ${k === 7 ? '' : `${fixed(f.size, 0)} = res;`}`,
    },
    { op: 0x80, ext: k, name, operands: 'Eb,Ib', width: 'b', lock, hot: 2, body: toE(k, () => imm(8)) },
    { op: 0x81, ext: k, name, operands: 'Ev,Iz', lock, hot: 3, body: toE(k, (f) => imm(f.size)) },
    { op: 0x82, ext: k, name, operands: 'Eb,Ib', width: 'b', lock, hot: 1, body: toE(k, () => imm(8)) },
    { op: 0x83, ext: k, name, operands: 'Ev,Ibs', lock, hot: 3, body: toE(k, (f) => imm(f.size)) },
  );
});

const incdec = (dec: boolean) => (f: Form): string =>
  `${preRMW(f)} const a = ${rE(f)}; const res = ${tr(f.size, dec ? 'a - 1' : 'a + 1')}; ${lazy(dec ? LF.SUB : LF.ADD, f.size, 'a', '1', 'res', true)} ${wE(f, 'res')}`;

for (let r = 0; r < 8; r++) {
  // 40+r / 48+r: INC/DEC r16/r32 (reuse the E templates with rm fixed by the decoder).
  specs.push(
    { op: 0x40 + r, name: 'inc', operands: 'Zv', hot: 2, body: incdec(false) },
    { op: 0x48 + r, name: 'dec', operands: 'Zv', hot: 2, body: incdec(true) },
  );
}

specs.push(
  { op: 0xfe, ext: 0, name: 'inc', operands: 'Eb', width: 'b', lock: true, hot: 2, body: incdec(false) },
  { op: 0xfe, ext: 1, name: 'dec', operands: 'Eb', width: 'b', lock: true, hot: 2, body: incdec(true) },
  { op: 0xff, ext: 0, name: 'inc', operands: 'Ev', lock: true, hot: 2, body: incdec(false) },
  { op: 0xff, ext: 1, name: 'dec', operands: 'Ev', lock: true, hot: 2, body: incdec(true) },
);

const test = (src: (f: Form) => string) => (f: Form): string =>
  `${pre(f)} const res = ${tr(f.size, `${rE(f)} & ${src(f)}`)}; ${logic(f.size, 'res')}`;
const not = (f: Form): string => `${preRMW(f)} ${wE(f, tr(f.size, `~${rE(f)}`))}`;
const neg = (f: Form): string =>
  `${preRMW(f)} const b = ${rE(f)}; const res = ${tr(f.size, '-b')}; ${lazy(LF.SUB, f.size, '0', 'b', 'res')} ${wE(f, 'res')}`;

specs.push(
  { op: 0x84, name: 'test', operands: 'Eb,Gb', width: 'b', hot: 3, body: test((f) => rG(f)) },
  { op: 0x85, name: 'test', operands: 'Ev,Gv', hot: 3, body: test((f) => rG(f)) },
  { op: 0xa8, name: 'test', operands: 'AL,Ib', width: 'b', hot: 2, body: () => `const res = ${fixed(8, 0)} & i.imm & 0xff; ${logic(8, 'res')}` },
  { op: 0xa9, name: 'test', operands: 'eAX,Iz', hot: 2, body: (f) => `const res = ${tr(f.size, `${fixed(f.size, 0)} & ${imm(f.size)}`)}; ${logic(f.size, 'res')}` },
  { op: 0xf6, ext: 0, name: 'test', operands: 'Eb,Ib', width: 'b', hot: 2, body: test(() => imm(8)) },
  { op: 0xf6, ext: 1, name: 'test', operands: 'Eb,Ib', width: 'b', hot: 1, body: test(() => imm(8)) },
  { op: 0xf7, ext: 0, name: 'test', operands: 'Ev,Iz', hot: 2, body: test((f) => imm(f.size)) },
  { op: 0xf7, ext: 1, name: 'test', operands: 'Ev,Iz', hot: 1, body: test((f) => imm(f.size)) },
  { op: 0xf6, ext: 2, name: 'not', operands: 'Eb', width: 'b', lock: true, hot: 1, body: not },
  { op: 0xf7, ext: 2, name: 'not', operands: 'Ev', lock: true, hot: 2, body: not },
  { op: 0xf6, ext: 3, name: 'neg', operands: 'Eb', width: 'b', lock: true, hot: 1, body: neg },
  { op: 0xf7, ext: 3, name: 'neg', operands: 'Ev', lock: true, hot: 2, body: neg },
);

export const ALU = specs;
