/**
 * Control transfer: Jcc, JMP, CALL, RET (near and far), LOOP/LOOPE/LOOPNE, JECXZ, INT n, INT3,
 * INTO, INT1, IRET, HLT, BOUND (SDM Vol. 2). All of them end their block and set EIP
 * themselves (kind 'jump'). Relative targets are computed from EIP at run time, so a decoded
 * block is position-independent.
 */
import type { OpSpec } from '../spec.ts';
import { CC_NAMES, NEXT, SELF, cond, pre, rE, rG, rM, sx, type Form } from '../templates.ts';

/** EIP ← target, truncated to 16 bits with a 16-bit operand size. */
const setEip = (f: Form, t: string): string => (f.osize === 32 ? `c.eip = (${t}) >>> 0;` : `c.eip = (${t}) & 0xffff;`);
const rel = `(${NEXT} + i.imm)`;

const specs: OpSpec[] = [];
for (let cc = 0; cc < 16; cc++) {
  const body = (f: Form): string => `if (${cond(cc)}) { ${setEip(f, rel)} } else c.eip = ${NEXT};`;
  specs.push(
    { op: 0x70 + cc, name: `j${CC_NAMES[cc]}`, operands: 'Jb', kind: 'jump', hot: 3, body },
    { op: 0x180 + cc, name: `j${CC_NAMES[cc]}`, operands: 'Jz', kind: 'jump', hot: 3, body },
  );
}

const push = (f: Form, v: string): string => (f.osize === 32 ? `c.push32(${v});` : `c.push16((${v}) & 0xffff);`);
const pop = (f: Form): string => (f.osize === 32 ? 'c.pop32()' : 'c.pop16()');

specs.push(
  { op: 0xeb, name: 'jmp', operands: 'Jb', kind: 'jump', hot: 3, body: (f) => setEip(f, rel) },
  { op: 0xe9, name: 'jmp', operands: 'Jz', kind: 'jump', hot: 3, body: (f) => setEip(f, rel) },
  { op: 0xff, ext: 4, name: 'jmp', operands: 'Ev', kind: 'jump', hot: 2, body: (f) => `${pre(f)} ${setEip(f, rE(f))}` },
  { op: 0xe8, name: 'call', operands: 'Jz', kind: 'jump', hot: 3, body: (f) => `const next = ${NEXT}; ${push(f, 'next')} ${setEip(f, 'next + i.imm')}` },
  { op: 0xff, ext: 2, name: 'call', operands: 'Ev', kind: 'jump', hot: 2, body: (f) => `${pre(f)} const t = ${rE(f)}; ${push(f, NEXT)} ${setEip(f, 't')}` },
  { op: 0xc3, name: 'ret', operands: '', kind: 'jump', hot: 3, body: (f) => setEip(f, pop(f)) },
  {
    op: 0xc2, name: 'ret', operands: 'Iw', kind: 'jump', hot: 2,
    body: (f) => `const t = ${pop(f)}; c.r32[4] = (c.r32[4] + (i.imm & 0xffff)) | 0; ${setEip(f, 't')}`,
  },
  { op: 0xcb, name: 'retf', operands: '', kind: 'jump', hot: 1, body: (f) => `H.farReturn(c, ${f.osize}, 0, false);` },
  { op: 0xca, name: 'retf', operands: 'Iw', kind: 'jump', hot: 1, body: (f) => `H.farReturn(c, ${f.osize}, i.imm & 0xffff, false);` },
  { op: 0xcf, name: 'iret', operands: '', kind: 'jump', hot: 1, body: (f) => `H.farReturn(c, ${f.osize}, 0, true);` },
  { op: 0xea, name: 'jmp far', operands: 'Ap', kind: 'jump', hot: 1, body: () => 'H.farJump(c, i.imm2, i.imm);' },
  { op: 0x9a, name: 'call far', operands: 'Ap', kind: 'jump', hot: 1, body: (f) => `H.farCall(c, i.imm2, i.imm, ${NEXT}, ${f.osize});` },
  {
    op: 0xff, ext: 5, name: 'jmp far', operands: 'Mp', kind: 'jump', hot: 1,
    body: (f) => `${pre(f)} const off = ${rM(f.size, 'ea')}; const sel = c.read16((ea + ${f.size / 8}) | 0); H.farJump(c, sel, off);`,
  },
  {
    op: 0xff, ext: 3, name: 'call far', operands: 'Mp', kind: 'jump', hot: 1,
    body: (f) => `${pre(f)} const off = ${rM(f.size, 'ea')}; const sel = c.read16((ea + ${f.size / 8}) | 0); H.farCall(c, sel, off, ${NEXT}, ${f.osize});`,
  },
  // LOOPcc and JECXZ count in ECX (32-bit address size).
  { op: 0xe2, name: 'loop', operands: 'Jb', kind: 'jump', hot: 1, body: (f) => `const n = (c.r32[1] - 1) | 0; c.r32[1] = n; if (n !== 0) { ${setEip(f, rel)} } else c.eip = ${NEXT};` },
  { op: 0xe1, name: 'loope', operands: 'Jb', kind: 'jump', hot: 1, body: (f) => `const n = (c.r32[1] - 1) | 0; c.r32[1] = n; if (n !== 0 && c.zf() !== 0) { ${setEip(f, rel)} } else c.eip = ${NEXT};` },
  { op: 0xe0, name: 'loopne', operands: 'Jb', kind: 'jump', hot: 1, body: (f) => `const n = (c.r32[1] - 1) | 0; c.r32[1] = n; if (n !== 0 && c.zf() === 0) { ${setEip(f, rel)} } else c.eip = ${NEXT};` },
  { op: 0xe3, name: 'jecxz', operands: 'Jb', kind: 'jump', hot: 1, body: (f) => `if (c.r32[1] === 0) { ${setEip(f, rel)} } else c.eip = ${NEXT};` },
  { op: 0xcc, name: 'int3', operands: '', kind: 'jump', hot: 1, body: () => `H.softInt(c, 3, ${NEXT}, ${SELF});` },
  { op: 0xcd, name: 'int', operands: 'Ib', kind: 'jump', hot: 2, body: () => `H.softInt(c, i.imm & 0xff, ${NEXT}, ${SELF});` },
  { op: 0xce, name: 'into', operands: '', kind: 'jump', hot: 1, body: () => `if (c.of() !== 0) H.softInt(c, 4, ${NEXT}, ${SELF}); else c.eip = ${NEXT};` },
  // INT1 (ICEBP): a debug trap, delivered like a hardware #DB (no privilege check on the gate).
  { op: 0xf1, name: 'int1', operands: '', kind: 'jump', hot: 1, body: () => `const self = ${SELF}; c.eip = ${NEXT}; c.deliver(1, -1, false, self);` },
  { op: 0xf4, name: 'hlt', operands: '', kind: 'jump', hot: 1, body: () => `H.ring0(c); c.eip = ${NEXT}; c.halt();` },
  {
    op: 0x62, name: 'bound', operands: 'Gv,Ma', hot: 1,
    body: (f) => `${pre(f)} const v = ${sx(f.size, rG(f))}; const lo = ${sx(f.size, rM(f.size, 'ea'))}; const hi = ${sx(f.size, rM(f.size, `(ea + ${f.size / 8}) | 0`))}; if (v < lo || v > hi) c.fault(5);`,
  },
);

export const CONTROL = specs;
