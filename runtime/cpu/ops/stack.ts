/**
 * Stack instructions: PUSH, POP (registers, memory, immediates, segment registers), PUSHA,
 * POPA, PUSHF, POPF, ENTER, LEAVE (SDM Vol. 2B). A 32-bit stack (SS.B = 1) is assumed, as in
 * flat protected mode. Every instruction commits ESP only after its memory accesses succeed,
 * so a fault leaves it restartable.
 */
import type { OpSpec } from '../spec.ts';
import { pre, rE, wE, EA, type Form } from '../templates.ts';
import { imm } from './alu.ts';

const SS_BASE = 'c.segBase[2]';
const push = (f: Form, v: string): string => (f.osize === 32 ? `c.push32(${v});` : `c.push16(${v});`);
const pop = (f: Form): string => (f.osize === 32 ? 'c.pop32()' : 'c.pop16()');

const specs: OpSpec[] = [];
for (let r = 0; r < 8; r++) {
  specs.push(
    { op: 0x50 + r, name: 'push', operands: 'Zv', hot: 3, body: (f) => push(f, f.osize === 32 ? 'c.r32[i.rm]' : 'c.r16[i.rm << 1]') },
    { op: 0x58 + r, name: 'pop', operands: 'Zv', hot: 3, body: (f) => (f.osize === 32 ? 'const v = c.pop32(); c.r32[i.rm] = v;' : 'const v = c.pop16(); c.r16[i.rm << 1] = v;') },
  );
}

specs.push(
  { op: 0xff, ext: 6, name: 'push', operands: 'Ev', hot: 2, body: (f) => `${pre(f)} const v = ${rE(f)}; ${push(f, 'v')}` },
  {
    // POP r/m: an ESP-based address is computed after ESP is incremented (SDM Vol. 2B "POP").
    op: 0x8f, ext: 0, name: 'pop', operands: 'Ev', hot: 1,
    body: (f) => {
      const n = f.osize / 8;
      if (!f.mem) return `const v = ${pop(f)}; ${wE(f, 'v')}`;
      return `const sp = c.r32[4]; const v = c.read${f.osize}((${SS_BASE} + sp) | 0); c.r32[4] = (sp + ${n}) | 0; const ea = ${EA}; c.r32[4] = sp; ${wE(f, 'v')} c.r32[4] = (sp + ${n}) | 0;`;
    },
  },
  { op: 0x68, name: 'push', operands: 'Iz', hot: 2, body: (f) => push(f, imm(f.osize)) },
  { op: 0x6a, name: 'push', operands: 'Ibs', hot: 2, body: (f) => push(f, imm(f.osize)) },
  {
    op: 0x60, name: 'pusha', operands: '', hot: 1,
    body: (f) => {
      const n = f.osize / 8;
      const w = f.osize === 32 ? 'write32' : 'write16';
      const r = (k: number): string => (f.osize === 32 ? `c.r32[${k}]` : `c.r16[${k * 2}]`);
      let s = `const sp = c.r32[4]; const b = ${SS_BASE};`;
      for (let k = 0; k < 8; k++) s += ` c.${w}((b + sp - ${(k + 1) * n}) | 0, ${k === 4 ? (f.osize === 32 ? 'sp' : 'sp & 0xffff') : r(k)});`;
      return `${s} c.r32[4] = (sp - ${8 * n}) | 0;`;
    },
  },
  {
    op: 0x61, name: 'popa', operands: '', hot: 1,
    body: (f) => {
      const n = f.osize / 8;
      let s = `const sp = c.r32[4]; const b = ${SS_BASE}; const v = [];`;
      for (let k = 0; k < 8; k++) s += ` v.push(c.read${f.osize}((b + sp + ${k * n}) | 0));`;
      for (let k = 0; k < 8; k++) {
        if (k === 3) continue; // the saved ESP is discarded
        s += f.osize === 32 ? ` c.r32[${7 - k}] = v[${k}];` : ` c.r16[${(7 - k) * 2}] = v[${k}];`;
      }
      return `${s} c.r32[4] = (sp + ${8 * n}) | 0;`;
    },
  },
  { op: 0x9c, name: 'pushf', operands: '', hot: 1, body: (f) => push(f, f.osize === 32 ? 'c.getFlags() & ~0x30000' : 'c.getFlags() & 0xffff') },
  { op: 0x9d, name: 'popf', operands: '', kind: 'stop', hot: 1, body: (f) => `const v = ${pop(f)}; H.popf(c, v, ${f.osize});` },
  {
    op: 0xc8, name: 'enter', operands: 'Iw,Ib', hot: 1,
    body: (f) => {
      const n = f.osize / 8;
      const w = f.osize === 32 ? 'write32' : 'write16';
      const rd = f.osize === 32 ? 'read32' : 'read16';
      const bp = f.osize === 32 ? 'c.r32[5]' : 'c.r16[10]';
      return `const b = ${SS_BASE}; const size = i.imm & 0xffff; const level = i.imm2 & 0x1f;
        let sp = (c.r32[4] - ${n}) | 0; c.${w}((b + sp) | 0, ${bp}); const frame = sp;
        if (level > 0) {
          let p = c.r32[5];
          for (let k = 1; k < level; k++) { p = (p - ${n}) | 0; sp = (sp - ${n}) | 0; c.${w}((b + sp) | 0, c.${rd}((b + p) | 0)); }
          sp = (sp - ${n}) | 0; c.${w}((b + sp) | 0, frame${f.osize === 16 ? ' & 0xffff' : ''});
        }
        c.probeWrite((b + sp - size) | 0, ${n}); /* a write at the final ESP must not fault (SDM ENTER #PF) */
        ${f.osize === 32 ? 'c.r32[5] = frame;' : 'c.r16[10] = frame & 0xffff;'} c.r32[4] = (sp - size) | 0;`;
    },
  },
  {
    op: 0xc9, name: 'leave', operands: '', hot: 2,
    body: (f) => (f.osize === 32
      ? `const bp = c.r32[5]; const v = c.read32((${SS_BASE} + bp) | 0); c.r32[4] = (bp + 4) | 0; c.r32[5] = v;`
      : `const bp = c.r32[5]; const v = c.read16((${SS_BASE} + bp) | 0); c.r32[4] = (bp + 2) | 0; c.r16[10] = v;`),
  },
);

/** PUSH Sreg: a 32-bit push writes only the selector's 16 bits (recent processors). */
const pushSeg = (seg: number) => (f: Form): string =>
  f.osize === 32 ? `const sp = (c.r32[4] - 4) | 0; c.write16((${SS_BASE} + sp) | 0, c.sel[${seg}]); c.r32[4] = sp;` : `c.push16(c.sel[${seg}]);`;
const popSeg = (seg: number) => (f: Form): string =>
  `const sp = c.r32[4]; const v = c.read16((${SS_BASE} + sp) | 0); H.loadSeg(c, ${seg}, v); c.r32[4] = (sp + ${f.osize / 8}) | 0;`;

const SEGS: [number, number, number, string][] = [
  [0x06, 0x07, 0, 'es'], [0x0e, -1, 1, 'cs'], [0x16, 0x17, 2, 'ss'], [0x1e, 0x1f, 3, 'ds'], [0x1a0, 0x1a1, 4, 'fs'], [0x1a8, 0x1a9, 5, 'gs'],
];
for (const [pushOp, popOp, seg, name] of SEGS) {
  specs.push({ op: pushOp, name: `push ${name}`, operands: '', hot: 1, body: pushSeg(seg) });
  if (popOp >= 0) specs.push({ op: popOp, name: `pop ${name}`, operands: '', hot: 1, body: popSeg(seg) });
}

export const STACK = specs;
