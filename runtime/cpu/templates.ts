/**
 * Instruction semantics as source templates.
 *
 * Each opcode's behaviour is written once, as a function from its *form* (operand size, and
 * whether ModRM names memory) to JavaScript source that reads its operands from the decoded
 * instruction `i` and the CPU `c`. The interpreter compiles each (opcode, form) once into a
 * handler; the translation tier will paste the same source, with `i.*` fields replaced by
 * constants, into one function per block. One description, two engines (the v86 model).
 *
 * Conventions inside a template:
 *  - `c` is the Cpu, `i` the Insn, `H` the helper object (helpers.ts) for the long operations.
 *  - Values are held as the CPU keeps them: 32-bit values as int32, 16/8-bit as unsigned.
 *  - A memory form starts with `const ea = <linear address>;` (see `pre`).
 */
import { LF_ADC1, LF_ADD, LF_LOGIC, LF_SBB1, LF_SUB } from './lazyflags.ts';
import type { Handler } from './insn.ts';
import { H } from './helpers.ts';

export type Size = 8 | 16 | 32;

export interface Form {
  /** Operand width of the instruction (8 for byte forms, else the operand size). */
  size: Size;
  /** ModRM refers to memory. */
  mem: boolean;
  /** Operand-size attribute (16 with a 0x66 prefix, else 32). */
  osize: 16 | 32;
  /** String instructions only: the REP prefix (0 none, 1 REP/REPE, 2 REPNE). */
  rep?: number;
}

export type Body = (f: Form) => string;

export const SIGN: Record<Size, string> = { 8: '0x80', 16: '0x8000', 32: '-2147483648' };
export const MASK: Record<Size, string> = { 8: '0xff', 16: '0xffff', 32: '-1' };
export const LF = { LOGIC: LF_LOGIC, ADD: LF_ADD, ADC1: LF_ADC1, SUB: LF_SUB, SBB1: LF_SBB1 };

/** The memory operand's linear address. */
export const EA = '((c.segBase[i.seg] + c.r32[i.base] + (c.r32[i.index] << i.scale) + i.disp) | 0)';
/** EIP of the next instruction (EIP holds the block's start while a block runs). */
export const NEXT = '((c.eip + i.off + i.len) >>> 0)';
/** EIP of this instruction. */
export const SELF = '((c.eip + i.off) >>> 0)';

/** Prologue: compute the effective address for memory forms. */
export const pre = (f: Form): string => (f.mem ? `const ea = ${EA};` : '');
/**
 * Prologue of a read-modify-write instruction: the memory operand must be writable before any
 * state changes, so that a write fault (a read-only page) leaves the instruction restartable
 * (flags and registers untouched), as the processor's locked read-for-write does.
 */
export const preRMW = (f: Form, s: Size = f.size): string => (f.mem ? `const ea = ${EA}; c.probeWrite(ea, ${s / 8});` : '');

/** Truncate an expression to the operand size, in the CPU's representation. */
export const tr = (s: Size, e: string): string => (s === 32 ? `((${e}) | 0)` : `((${e}) & ${MASK[s]})`);
/** Sign-extend a value of size s to int32. */
export const sx = (s: Size, e: string): string => (s === 32 ? `((${e}) | 0)` : s === 16 ? `(((${e}) << 16) >> 16)` : `(((${e}) << 24) >> 24)`);

/** Register operand n (an expression) of size s: read and write. */
export const reg = (s: Size, n: 'reg' | 'rm'): string =>
  s === 32 ? `c.r32[i.${n}]` : s === 16 ? `c.r16[i.${n} << 1]` : `c.r8[i.${n}8]`;
/** A fixed register (0–7) of size s. */
export const fixed = (s: Size, n: number): string =>
  s === 32 ? `c.r32[${n}]` : s === 16 ? `c.r16[${n * 2}]` : `c.r8[${n < 4 ? n * 4 : (n - 4) * 4 + 1}]`;

const rd = (s: Size): string => (s === 32 ? 'read32' : s === 16 ? 'read16' : 'read8');
const wr = (s: Size): string => (s === 32 ? 'write32' : s === 16 ? 'write16' : 'write8');

/** Read the ModRM r/m operand (E). */
export const rE = (f: Form, s: Size = f.size): string => (f.mem ? `c.${rd(s)}(ea)` : reg(s, 'rm'));
/** Write the ModRM r/m operand (E). */
export const wE = (f: Form, v: string, s: Size = f.size): string => (f.mem ? `c.${wr(s)}(ea, ${v});` : `${reg(s, 'rm')} = ${v};`);
/** Read/write the ModRM reg operand (G). */
export const rG = (f: Form, s: Size = f.size): string => reg(s, 'reg');
export const wG = (f: Form, v: string, s: Size = f.size): string => `${reg(s, 'reg')} = ${v};`;
/** Memory read/write of size s at an address expression. */
export const rM = (s: Size, a: string): string => `c.${rd(s)}(${a})`;
export const wM = (s: Size, a: string, v: string): string => `c.${wr(s)}(${a}, ${v});`;

/** Record an arithmetic result for lazy flags: all six flags (or all but CF). */
export const lazy = (op: number | string, s: Size, a: string, b: string, res: string, keepCF = false): string =>
  `${keepCF ? 'c.keepCarry(); ' : ''}c.lfOp = ${op}; c.lfA = ${a}; c.lfB = ${b}; c.lfRes = ${res}; c.lfSign = ${SIGN[s]}; c.lazy = ${keepCF ? 0x8d4 : 0x8d5};`;

/** Result flags of a logical operation (CF = OF = 0; AF undefined, kept 0). */
export const logic = (s: Size, res: string): string =>
  `c.lfOp = ${LF_LOGIC}; c.lfRes = ${res}; c.lfSign = ${SIGN[s]}; c.lazy = 0x8d5;`;

/**
 * SF, ZF, PF from a result, with CF/OF/AF given as expressions (0/1): shifts, multiplies, BCD.
 * CF/OF/AF become concrete; the result flags stay lazy.
 */
export const resultFlags = (s: Size, res: string, cf: string, of: string, af = '0'): string =>
  `c.flags = (c.flags & ~0x8d5) | (${cf}) | ((${of}) << 11) | ((${af}) << 4); c.lfOp = ${LF_LOGIC}; c.lfRes = ${res}; c.lfSign = ${SIGN[s]}; c.lazy = 0xc4;`;

// ---- compilation --------------------------------------------------------------------------------

const cache = new Map<string, Handler>();
/** Source of every compiled handler, for the translation tier. */
export const SOURCE = new WeakMap<Handler, string>();

/** Compile a body for a form into a handler (memoized by source text). */
export function compile(body: Body, f: Form, name: string): Handler {
  const src = body(f);
  let fn = cache.get(src);
  if (fn === undefined) {
    try {
      fn = new Function('H', `"use strict"; return function op_${name.replace(/[^\w]/g, '_')}(c, i) { ${src} };`)(H) as Handler;
    } catch (e) {
      throw new Error(`template for ${name} (size ${f.size}, ${f.mem ? 'mem' : 'reg'}) does not compile: ${(e as Error).message}\n${src}`);
    }
    cache.set(src, fn);
    SOURCE.set(fn, src);
  }
  return fn;
}

/**
 * Condition cc (Jcc/SETcc/CMOVcc low nibble; SDM Vol. 1 Appendix B) as an expression. After a
 * 32-bit CMP/SUB every flag is still lazy, and the comparisons read its operands directly.
 */
export function cond(cc: number): string {
  const fast = `(c.lazy === 0x8d5 && c.lfOp === ${LF_SUB} && c.lfSign === -2147483648)`;
  const positive = (n: number): string => {
    switch (n) {
      case 0: return 'c.of() !== 0';
      case 2: return `(${fast} ? (c.lfA >>> 0) < (c.lfB >>> 0) : c.cf() !== 0)`;
      case 4: return 'c.zf() !== 0';
      case 6: return `(${fast} ? (c.lfA >>> 0) <= (c.lfB >>> 0) : (c.cf() | c.zf()) !== 0)`;
      case 8: return 'c.sf() !== 0';
      case 0xa: return 'c.pf() !== 0';
      case 0xc: return `(${fast} ? c.lfA < c.lfB : c.sf() !== c.of())`;
      default: return `(${fast} ? c.lfA <= c.lfB : (c.zf() !== 0 || c.sf() !== c.of()))`;
    }
  };
  return cc & 1 ? `!(${positive(cc & ~1)})` : positive(cc);
}

export const CC_NAMES = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
