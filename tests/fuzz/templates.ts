/**
 * The fuzzable instructions, derived from the CPU's opcode table (runtime/cpu/table.ts
 * `OPCODES`): every record is either given a family emitter (families/) and a weight, or
 * excluded with the reason. A record the classification does not know is an error, so a new
 * opcode cannot slip past the fuzzer unnoticed.
 */
import { OPCODES } from '../../runtime/cpu/table.ts';
import type { OpSpec } from '../../runtime/cpu/spec.ts';
import type { Emit, Template } from './emit.ts';
import * as F from './families/index.ts';

interface Family {
  emit: (e: Emit) => void;
  /** Relative weight of the whole family (shared by its records). */
  weight: number;
  /** Probability of a 0x66 prefix on records whose size follows the operand size. */
  osize16: number;
}

const FAMILIES: Record<string, Family> = {
  alu: { emit: F.alu, weight: 10, osize16: 0.25 },
  unary: { emit: F.unary, weight: 4, osize16: 0.25 },
  shift: { emit: F.shift, weight: 8, osize16: 0.25 },
  doubleShift: { emit: F.doubleShift, weight: 3, osize16: 0.3 },
  mulDiv: { emit: F.mulDiv, weight: 5, osize16: 0.25 },
  imulG: { emit: F.imulG, weight: 2, osize16: 0.25 },
  bitTest: { emit: F.bitTest, weight: 3, osize16: 0.25 },
  bitScan: { emit: F.bitScan, weight: 2, osize16: 0.25 },
  bswap: { emit: F.bswap, weight: 1, osize16: 0.1 },
  setcc: { emit: F.setcc, weight: 2, osize16: 0 },
  cmovcc: { emit: F.cmovcc, weight: 2, osize16: 0.25 },
  mov: { emit: F.mov, weight: 5, osize16: 0.25 },
  movFromSeg: { emit: F.movFromSeg, weight: 0.5, osize16: 0.3 },
  movx: { emit: F.movx, weight: 2, osize16: 0.25 },
  lea: { emit: F.lea, weight: 2, osize16: 0.2 },
  xchg: { emit: F.xchg, weight: 1.5, osize16: 0.25 },
  cmpxchg: { emit: F.cmpxchg, weight: 1.5, osize16: 0.25 },
  cmpxchg8b: { emit: F.cmpxchg8b, weight: 1, osize16: 0.05 },
  xadd: { emit: F.xadd, weight: 1.5, osize16: 0.25 },
  convert: { emit: F.convert, weight: 1, osize16: 0.4 },
  xlat: { emit: F.xlat, weight: 1, osize16: 0 },
  flagOps: { emit: F.flagOps, weight: 3, osize16: 0 },
  nop: { emit: F.nop, weight: 1, osize16: 0.2 },
  arpl: { emit: F.arpl, weight: 0.5, osize16: 0.1 },
  bound: { emit: F.bound, weight: 0.5, osize16: 0.3 },
  into: { emit: F.into, weight: 0.5, osize16: 0 },
  pushPop: { emit: F.pushPop, weight: 4, osize16: 0.2 },
  pushSeg: { emit: F.pushSeg, weight: 0.5, osize16: 0.3 },
  pushaPopa: { emit: F.pushaPopa, weight: 1, osize16: 0.3 },
  pushfPopf: { emit: F.pushfPopf, weight: 2, osize16: 0.3 },
  enter: { emit: F.enter, weight: 1, osize16: 0.3 },
  leave: { emit: F.leave, weight: 1, osize16: 0.3 },
  string: { emit: F.string, weight: 5, osize16: 0.25 },
  bcd: { emit: F.bcd, weight: 2, osize16: 0 },
  // Jumps never take 0x66: a 16-bit operand size truncates EIP to 16 bits.
  jump: { emit: F.jump, weight: 5, osize16: 0 },
  indirect: { emit: F.indirect, weight: 2, osize16: 0 },
  privileged: { emit: F.privileged, weight: 0.4, osize16: 0.1 },
  // Synthetic: built on the MOV Ev,Iz / Eb,Ib records (see SYNTHETIC).
  smc: { emit: F.smc, weight: 1, osize16: 0 },
};

/** Extra templates that reuse a record for another purpose: [family, opcode, ModRM ext]. */
const SYNTHETIC: [string, number, number][] = [['smc', 0xc7, 0], ['smc', 0xc6, 0]];

/** Records the fuzzer leaves out, and why. */
const EXCLUDED: [RegExp, string][] = [
  [/^esc$/, 'x87 escapes: #NM here by design (no FPU), executed natively'],
  [/^(cpuid|rdtsc)$/, 'the host CPU reports its own identity and clock'],
  [/^(ud1|ud2)$/, 'raises #UD by definition'],
  [/^(int|int3|int1|iret|retf)$/, 'INT n is a Linux system call or #GP natively; INT3 closes every case; IRET/RETF load CS'],
  [/^(jmp far|call far)$/, 'far transfers load CS'],
  [/^(les|lds|lss|lfs|lgs|pop (es|ss|ds|fs|gs))$/, 'segment loads'],
  [/^(lar|lsl|verr|verw)$/, 'read the host GDT/LDT'],
  [/^(sldt|str|sgdt|sidt|smsw)$/, 'UMIP: Linux emulates these in ring 3 with made-up values'],
];

const PRIVILEGED = /^(hlt|cli|sti|in|out|insb|insd|outsb|outsd|clts|invd|wbinvd|lgdt|lidt|lldt|ltr|lmsw|invlpg|rdmsr|wrmsr)$/;

/** The family of an opcode record, or an exclusion reason. */
export function classify(s: OpSpec): { family: string } | { excluded: string } {
  const n = s.name;
  for (const [re, why] of EXCLUDED) if (re.test(n)) return { excluded: why };
  if (PRIVILEGED.test(n) || (n === 'mov' && s.op >= 0x120 && s.op <= 0x123)) return { family: 'privileged' };
  if (n === 'mov' && s.op === 0x8e) return { excluded: 'segment loads' };
  if (((n === 'jmp' || n === 'call') && s.operands === 'Ev') || n === 'ret') return { family: 'indirect' };
  if (/^(add|or|adc|sbb|and|sub|xor|cmp|test)$/.test(n)) return { family: 'alu' };
  if (/^(inc|dec|not|neg)$/.test(n)) return { family: 'unary' };
  if (/^(rol|ror|rcl|rcr|shl|shr|sal|sar)$/.test(n)) return { family: 'shift' };
  if (n === 'shld' || n === 'shrd') return { family: 'doubleShift' };
  if (/^(mul|div|idiv)$/.test(n) || (n === 'imul' && (s.operands === 'Eb' || s.operands === 'Ev'))) return { family: 'mulDiv' };
  if (n === 'imul') return { family: 'imulG' };
  if (/^bt[src]?$/.test(n)) return { family: 'bitTest' };
  if (n === 'bsf' || n === 'bsr') return { family: 'bitScan' };
  if (n === 'bswap') return { family: 'bswap' };
  if (n.startsWith('set')) return { family: 'setcc' };
  if (n.startsWith('cmov')) return { family: 'cmovcc' };
  if (n === 'mov' && s.op === 0x8c) return { family: 'movFromSeg' };
  if (n === 'mov') return { family: 'mov' };
  if (n === 'movzx' || n === 'movsx') return { family: 'movx' };
  if (n === 'lea') return { family: 'lea' };
  if (n === 'xchg') return { family: 'xchg' };
  if (n === 'cmpxchg' || n === 'cmpxchg8b' || n === 'xadd') return { family: n };
  if (n === 'cwde' || n === 'cdq') return { family: 'convert' };
  if (n === 'xlat') return { family: 'xlat' };
  if (/^(lahf|sahf|clc|stc|cmc|cld|std|salc)$/.test(n)) return { family: 'flagOps' };
  if (n === 'nop' || n === 'fwait') return { family: 'nop' };
  if (n === 'arpl' || n === 'bound' || n === 'into') return { family: n };
  if ((n === 'push' || n === 'pop') && /^(Zv|Ev|Iz|Ibs)$/.test(s.operands)) return { family: 'pushPop' };
  if (/^push (es|cs|ss|ds|fs|gs)$/.test(n)) return { family: 'pushSeg' };
  if (n === 'pusha' || n === 'popa') return { family: 'pushaPopa' };
  if (n === 'pushf' || n === 'popf') return { family: 'pushfPopf' };
  if (n === 'enter' || n === 'leave') return { family: n };
  if (/^(movs|cmps|stos|lods|scas)[bd]$/.test(n)) return { family: 'string' };
  if (/^(daa|das|aaa|aas|aam|aad)$/.test(n)) return { family: 'bcd' };
  if (/^(j[a-z]+|loop|loope|loopne|jecxz)$/.test(n) && /^J[bz]$/.test(s.operands)) return { family: 'jump' };
  if (n === 'call' && s.operands === 'Jz') return { family: 'jump' };
  throw new Error(`fuzz: opcode table record ${n} (${s.op.toString(16)}${s.ext !== undefined ? '/' + s.ext : ''}) is neither fuzzed nor excluded`);
}

export interface TemplateSet {
  templates: Template[];
  /** Cumulative weights for picking. */
  cumulative: Float64Array;
  excluded: { spec: OpSpec; why: string }[];
}

/**
 * Build the templates. `filter` keeps only some (by family or mnemonic); `skip` drops records a
 * known-failure entry covers.
 */
export function buildTemplates(filter?: (t: Template) => boolean): TemplateSet {
  const byFamily = new Map<string, OpSpec[]>();
  const excluded: { spec: OpSpec; why: string }[] = [];
  for (const spec of OPCODES) {
    const c = classify(spec);
    if ('excluded' in c) {
      excluded.push({ spec, why: c.excluded });
      continue;
    }
    if (!byFamily.has(c.family)) byFamily.set(c.family, []);
    byFamily.get(c.family)!.push(spec);
  }
  const templates: Template[] = [];
  for (const [family, specs] of byFamily) {
    const f = FAMILIES[family];
    if (!f) throw new Error(`fuzz: no emitter for family ${family}`);
    for (const spec of specs) {
      // Byte-sized and fixed-size records take 0x66 only rarely: it is ignored there.
      const sized = spec.width === undefined || spec.width === 'v';
      const t: Template = { spec, family, weight: f.weight / specs.length, osize16: sized ? f.osize16 : Math.min(f.osize16, 0.03), emit: f.emit };
      if (!filter || filter(t)) templates.push(t);
    }
  }
  for (const [family, op, ext] of SYNTHETIC) {
    const spec = OPCODES.find((s) => s.op === op && s.ext === ext)!;
    const f = FAMILIES[family]!;
    const t: Template = { spec, family, weight: f.weight / SYNTHETIC.filter(([n]) => n === family).length, osize16: f.osize16, emit: f.emit };
    if (!filter || filter(t)) templates.push(t);
  }
  const cumulative = new Float64Array(templates.length);
  let sum = 0;
  templates.forEach((t, k) => (cumulative[k] = sum += t.weight));
  return { templates, cumulative, excluded };
}
