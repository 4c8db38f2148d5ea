/**
 * Which arithmetic flags each instruction reads, defines and leaves undefined, and when its
 * result is undefined — as data, keyed by mnemonic (the `name` of the opcode table's records).
 *
 * Source: Intel SDM Vol. 2 (Order No. 325383), the "Flags Affected" section of each entry, and
 * Vol. 1 Appendix A (EFLAGS Cross-Reference, Table A-2) and Appendix B (condition codes). The
 * differential fuzzer uses this table to compare only what the architecture defines; the
 * translation tier can use it to skip computing flags nobody reads.
 *
 * An entry lists the flags the instruction reads, and one or more cases. A case gives the flags
 * it sets to defined values and those it leaves undefined; every other flag is unaffected. When
 * several cases exist, each has a condition (`when`) on the masked shift count or the source
 * value; `flagEffect` picks the one that holds, or, when the condition's input is not known,
 * reports every case that may hold so the caller can merge them.
 */
import { AF, CF, OF, PF, SF, ZF } from './constants.ts';

export const ARITH6 = CF | PF | AF | ZF | SF | OF;

/** Conditions a case may depend on. Counts are the masked count (COUNT AND 1FH). */
export type FlagCondition =
  | 'count=0'
  | 'count=1'
  /** 1 < count < operand size (for 32-bit operands: any count 2–31). */
  | 'count>1'
  /** count ≥ operand size (8- and 16-bit operands only: the 5-bit mask keeps 32-bit counts below 32). */
  | 'count>=size'
  /** 1 < count ≤ operand size (SHLD/SHRD). */
  | 'count<=size'
  /** count > operand size (16-bit SHLD/SHRD). */
  | 'count>size'
  | 'src=0'
  | 'src!=0'
  | 'size=16'
  | 'size!=16';

export interface FlagCase {
  when?: FlagCondition;
  /** Flags set to defined values. */
  defines: number;
  /** Flags left undefined. */
  undefined: number;
  /** The destination's value is undefined too. */
  resultUndefined?: boolean;
}

export interface FlagEntry {
  /** Flags read (for Jcc/SETcc/CMOVcc, by condition code: see `conditionReads`). */
  reads: number;
  cases: FlagCase[];
  /** SDM Vol. 2 entry the facts come from. */
  sdm: string;
}

const NONE: FlagCase[] = [{ defines: 0, undefined: 0 }];
const ALL: FlagCase[] = [{ defines: ARITH6, undefined: 0 }];
const LOGIC: FlagCase[] = [{ defines: CF | OF | SF | ZF | PF, undefined: AF }];
const MUL: FlagCase[] = [{ defines: CF | OF, undefined: SF | ZF | AF | PF }];

/** SHL/SAL/SHR: CF is undefined when an 8/16-bit operand is shifted by its width or more. */
const SHIFT_LOGICAL: FlagCase[] = [
  { when: 'count=0', defines: 0, undefined: 0 },
  { when: 'count=1', defines: CF | OF | SF | ZF | PF, undefined: AF },
  { when: 'count>1', defines: CF | SF | ZF | PF, undefined: OF | AF },
  { when: 'count>=size', defines: SF | ZF | PF, undefined: CF | OF | AF },
];
/** SAR: CF is the last bit shifted out for any count (it is the sign once the count passes the width). */
const SHIFT_ARITH: FlagCase[] = [
  { when: 'count=0', defines: 0, undefined: 0 },
  { when: 'count=1', defines: CF | OF | SF | ZF | PF, undefined: AF },
  { when: 'count>1', defines: CF | SF | ZF | PF, undefined: OF | AF },
  { when: 'count>=size', defines: CF | SF | ZF | PF, undefined: OF | AF },
];
/** ROL/ROR/RCL/RCR: only CF and OF; OF only for 1-bit rotates. */
const ROTATE: FlagCase[] = [
  { when: 'count=0', defines: 0, undefined: 0 },
  { when: 'count=1', defines: CF | OF, undefined: 0 },
  { when: 'count>1', defines: CF, undefined: OF },
  { when: 'count>=size', defines: CF, undefined: OF },
];
/** SHLD/SHRD: a count above the operand size (16-bit only) leaves result and flags undefined. */
const DOUBLE_SHIFT: FlagCase[] = [
  { when: 'count=0', defines: 0, undefined: 0 },
  { when: 'count=1', defines: CF | OF | SF | ZF | PF, undefined: AF },
  { when: 'count<=size', defines: CF | SF | ZF | PF, undefined: OF | AF },
  { when: 'count>size', defines: 0, undefined: ARITH6, resultUndefined: true },
];

const entry = (reads: number, cases: FlagCase[], sdm: string): FlagEntry => ({ reads, cases, sdm });

export const FLAGS_TABLE: Readonly<Record<string, FlagEntry>> = {
  add: entry(0, ALL, 'ADD'),
  adc: entry(CF, ALL, 'ADC'),
  sub: entry(0, ALL, 'SUB'),
  sbb: entry(CF, ALL, 'SBB'),
  cmp: entry(0, ALL, 'CMP'),
  neg: entry(0, ALL, 'NEG'),
  xadd: entry(0, ALL, 'XADD'),
  cmpxchg: entry(0, ALL, 'CMPXCHG'),
  // String compares: as CMP for each element; with REP and ECX = 0 nothing executes (the
  // caller handles the zero-iteration case as 'no effect').
  cmpsb: entry(0, ALL, 'CMPS'),
  cmpsd: entry(0, ALL, 'CMPS'),
  scasb: entry(0, ALL, 'SCAS'),
  scasd: entry(0, ALL, 'SCAS'),
  inc: entry(0, [{ defines: OF | SF | ZF | AF | PF, undefined: 0 }], 'INC: CF not affected'),
  dec: entry(0, [{ defines: OF | SF | ZF | AF | PF, undefined: 0 }], 'DEC: CF not affected'),
  and: entry(0, LOGIC, 'AND: OF, CF cleared; AF undefined'),
  or: entry(0, LOGIC, 'OR: OF, CF cleared; AF undefined'),
  xor: entry(0, LOGIC, 'XOR: OF, CF cleared; AF undefined'),
  test: entry(0, LOGIC, 'TEST: OF, CF cleared; AF undefined'),
  not: entry(0, NONE, 'NOT: none affected'),
  mul: entry(0, MUL, 'MUL: SF, ZF, AF, PF undefined'),
  imul: entry(0, MUL, 'IMUL: SF, ZF, AF, PF undefined'),
  div: entry(0, [{ defines: 0, undefined: ARITH6 }], 'DIV: all undefined'),
  idiv: entry(0, [{ defines: 0, undefined: ARITH6 }], 'IDIV: all undefined'),
  shl: entry(0, SHIFT_LOGICAL, 'SAL/SAR/SHL/SHR'),
  sal: entry(0, SHIFT_LOGICAL, 'SAL/SAR/SHL/SHR'),
  shr: entry(0, SHIFT_LOGICAL, 'SAL/SAR/SHL/SHR'),
  sar: entry(0, SHIFT_ARITH, 'SAL/SAR/SHL/SHR'),
  rol: entry(0, ROTATE, 'RCL/RCR/ROL/ROR'),
  ror: entry(0, ROTATE, 'RCL/RCR/ROL/ROR'),
  // RCL/RCR read CF only when they rotate (count ≠ 0); listing it always is the safe side.
  rcl: entry(CF, ROTATE, 'RCL/RCR/ROL/ROR'),
  rcr: entry(CF, ROTATE, 'RCL/RCR/ROL/ROR'),
  shld: entry(0, DOUBLE_SHIFT, 'SHLD'),
  shrd: entry(0, DOUBLE_SHIFT, 'SHRD'),
  bt: entry(0, [{ defines: CF, undefined: OF | SF | AF | PF }], 'BT: ZF unaffected'),
  bts: entry(0, [{ defines: CF, undefined: OF | SF | AF | PF }], 'BTS: ZF unaffected'),
  btr: entry(0, [{ defines: CF, undefined: OF | SF | AF | PF }], 'BTR: ZF unaffected'),
  btc: entry(0, [{ defines: CF, undefined: OF | SF | AF | PF }], 'BTC: ZF unaffected'),
  bsf: entry(0, [
    { when: 'src!=0', defines: ZF, undefined: CF | OF | SF | AF | PF },
    { when: 'src=0', defines: ZF, undefined: CF | OF | SF | AF | PF, resultUndefined: true },
  ], 'BSF: destination undefined for a zero source'),
  bsr: entry(0, [
    { when: 'src!=0', defines: ZF, undefined: CF | OF | SF | AF | PF },
    { when: 'src=0', defines: ZF, undefined: CF | OF | SF | AF | PF, resultUndefined: true },
  ], 'BSR: destination undefined for a zero source'),
  bswap: entry(0, [
    { when: 'size!=16', defines: 0, undefined: 0 },
    { when: 'size=16', defines: 0, undefined: 0, resultUndefined: true },
  ], 'BSWAP: a 16-bit operand gives an undefined result'),
  daa: entry(CF | AF, [{ defines: CF | AF | SF | ZF | PF, undefined: OF }], 'DAA: OF undefined'),
  das: entry(CF | AF, [{ defines: CF | AF | SF | ZF | PF, undefined: OF }], 'DAS: OF undefined'),
  aaa: entry(AF, [{ defines: AF | CF, undefined: OF | SF | ZF | PF }], 'AAA'),
  aas: entry(AF, [{ defines: AF | CF, undefined: OF | SF | ZF | PF }], 'AAS'),
  aam: entry(0, [{ defines: SF | ZF | PF, undefined: OF | AF | CF }], 'AAM'),
  aad: entry(0, [{ defines: SF | ZF | PF, undefined: OF | AF | CF }], 'AAD'),
  cmpxchg8b: entry(0, [{ defines: ZF, undefined: 0 }], 'CMPXCHG8B/CMPXCHG16B'),
  arpl: entry(0, [{ defines: ZF, undefined: 0 }], 'ARPL'),
  sahf: entry(0, [{ defines: SF | ZF | AF | PF | CF, undefined: 0 }], 'SAHF'),
  lahf: entry(SF | ZF | AF | PF | CF, NONE, 'LAHF'),
  pushf: entry(ARITH6, NONE, 'PUSHF/PUSHFD'),
  popf: entry(0, ALL, 'POPF/POPFD'),
  clc: entry(0, [{ defines: CF, undefined: 0 }], 'CLC'),
  stc: entry(0, [{ defines: CF, undefined: 0 }], 'STC'),
  cmc: entry(CF, [{ defines: CF, undefined: 0 }], 'CMC'),
  // SALC (D6, undocumented by Intel; AMD APM lists it as invalid only in 64-bit mode): AL ← CF.
  salc: entry(CF, NONE, 'SALC'),
  into: entry(OF, NONE, 'INTO'),
  loope: entry(ZF, NONE, 'LOOPcc'),
  loopne: entry(ZF, NONE, 'LOOPcc'),
};

/** Flags read by condition code cc (Jcc/SETcc/CMOVcc low nibble; SDM Vol. 1 Appendix B). */
export function conditionReads(cc: number): number {
  switch (cc >> 1) {
    case 0: return OF;
    case 1: return CF;
    case 2: return ZF;
    case 3: return CF | ZF;
    case 4: return SF;
    case 5: return PF;
    case 6: return SF | OF;
    default: return ZF | SF | OF;
  }
}

const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

/** Flags read by an instruction, including the condition codes of jcc/setcc/cmovcc names. */
export function flagReads(name: string): number {
  const e = FLAGS_TABLE[name];
  if (e) return e.reads;
  const m = /^(j|set|cmov)([a-z]+)$/.exec(name);
  if (m) {
    const cc = CC.indexOf(m[2]!);
    if (cc >= 0) return conditionReads(cc);
  }
  return 0;
}

/** What is known about the operands when looking a case up; undefined means "not known". */
export interface FlagContext {
  /** Masked count (COUNT AND 1FH) of a shift or rotate. */
  count?: number;
  /** Operand size in bits. */
  size: 8 | 16 | 32;
  /** Whether the source operand is zero (BSF/BSR). */
  srcZero?: boolean;
}

function holds(when: FlagCondition | undefined, ctx: FlagContext): boolean | undefined {
  if (when === undefined) return true;
  const { count, size } = ctx;
  switch (when) {
    case 'size=16': return size === 16;
    case 'size!=16': return size !== 16;
    case 'src=0': return ctx.srcZero;
    case 'src!=0': return ctx.srcZero === undefined ? undefined : !ctx.srcZero;
  }
  if (count === undefined) return undefined;
  switch (when) {
    case 'count=0': return count === 0;
    case 'count=1': return count === 1;
    case 'count>1': return count > 1 && count < size;
    case 'count>=size': return count >= size && count > 1;
    case 'count<=size': return count > 1 && count <= size;
    case 'count>size': return count > size;
  }
}

/**
 * The cases of `name` that may apply in `ctx`: one when the context decides it, several when
 * an input is unknown, and the single 'unaffected' case for a name the table does not list
 * (data movement, NOPs, control transfer without flags).
 */
export function flagEffect(name: string, ctx: FlagContext): FlagCase[] {
  const e = FLAGS_TABLE[name];
  if (!e) return NONE;
  const out: FlagCase[] = [];
  for (const c of e.cases) {
    const h = holds(c.when, ctx);
    if (h === true) return [c];
    if (h === undefined) out.push(c);
  }
  return out;
}
