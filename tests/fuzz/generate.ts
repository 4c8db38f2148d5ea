/**
 * The sequence generator: a case is 1–8 instructions drawn from the opcode table (templates.ts),
 * preceded where needed by setup instructions the emitters ask for, and closed by int3.
 *
 * The generator walks the sequence with an abstract state (state.ts). Forward jumps name a later
 * position; the state at a position merges every edge into it. What may be undefined at any
 * exit (the final int3, or an instruction that may fault) becomes the comparison's masks.
 * Everything is drawn from Rng(seed, case index), so one case regenerates alone.
 */
import { ARITH6 } from '../../runtime/cpu/flags-table.ts';
import { Emit, INFEASIBLE, Need, type Template } from './emit.ts';
import { CODE_BASE, CODE_SIZE, DATA_BUF, DATA_BUF_SIZE, STACK_BUF, STACK_BUF_SIZE, type CaseInput } from './layout.ts';
import { Rng } from './rng.ts';
import { AState } from './state.ts';
import type { TemplateSet } from './templates.ts';

export interface Listed {
  off: number;
  len: number;
  mnemonic: string;
  family: string;
  /** A setup instruction the generator inserted. */
  setup: boolean;
  /** Prefixes used: 'lock', 'o16', 'seg' (for coverage). */
  prefixes?: string[];
  /** The opcode record it came from: 'op' or 'op/ext' in hex (for coverage). */
  record?: string;
}

/** What may be undefined at the end: masked when comparing. */
export interface Masks {
  regTaint: Uint32Array;
  undefFlags: number;
  memTaint: number[];
}

export interface GeneratedCase {
  seed: number;
  index: number;
  input: CaseInput;
  listing: Listed[];
  masks: Masks;
}

interface Item {
  bytes: number[];
  mnemonic: string;
  family: string;
  setup: boolean;
  prefixes?: string[];
  record?: string;
  jump?: { at: number; bytes: 0 | 1 | 4; target: number };
  /** Store the address of position `target` as a u32 at byte `at`. */
  labelReloc?: { at: number; target: number };
  /** Store the code address of this item + `add` as a u32 at byte `at`. */
  codeReloc?: { at: number; add: number };
  /** What may be undefined before it runs (an exit point if its fetch is cut off). */
  pre: Masks;
}

const DF = 0x400;

/** The initial registers and flags: pointers into the buffers, small counts, edge values. */
function initialState(rng: Rng): { regs: Uint32Array; eflags: number; st: AState } {
  const regs = new Uint32Array(8);
  for (let r = 0; r < 8; r++) {
    if (r === 4) {
      const sp = STACK_BUF + 160 + rng.int(STACK_BUF_SIZE - 320);
      regs[r] = rng.chance(0.9) ? sp & ~3 : sp;
      continue;
    }
    regs[r] = rng.weighted([
      [0.3, () => DATA_BUF + rng.int(DATA_BUF_SIZE)],
      [0.1, () => STACK_BUF + rng.int(STACK_BUF_SIZE)],
      [r === 1 ? 0.4 : 0.15, () => rng.int(40)],
      [0.45, () => rng.value(32)],
    ] as const)() >>> 0;
  }
  const eflags = (rng.u32() & ARITH6) | (rng.chance(0.25) ? DF : 0) | 0x2;
  const st = new AState();
  for (let r = 0; r < 8; r++) st.val[r] = regs[r];
  st.df = eflags & DF ? 1 : 0;
  return { regs, eflags, st };
}

function pickTemplate(set: TemplateSet, rng: Rng): Template {
  const c = set.cumulative;
  const x = rng.u32() / 0x100000000 * c[c.length - 1]!;
  let lo = 0, hi = c.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return set.templates[lo]!;
}

/** A setup instruction that satisfies `need`, applied to `st`; undefined if none applies. */
function setup(need: Need, st: AState, rng: Rng): Omit<Item, 'pre'>[] | undefined {
  if (need.kind === 'reg') {
    st.setReg(need.reg, 32, { v: need.value, t: false });
    const v = need.value;
    return [{ bytes: [0xb8 + need.reg, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24], mnemonic: 'mov', family: 'mov', setup: true }];
  }
  if (need.kind === 'flags') {
    // CMP r32, imm8 defines all six flags from an untainted register.
    const clean = [0, 1, 2, 3, 5, 6, 7].filter((r) => st.taint[r] === 0);
    if (clean.length === 0) return undefined;
    const r = rng.pick(clean);
    st.applyFlags('cmp', { size: 32 }, false);
    return [{ bytes: [0x83, 0xf8 | r, rng.value(8)], mnemonic: 'cmp', family: 'alu', setup: true }];
  }
  // A word POPF may load: PUSH imm32 with TF (bit 8) and AC (bit 18) clear and other bits
  // random — POPF in ring 3 must ignore IOPL, IF, VM, RF, VIF, VIP and the reserved bits.
  const out: Omit<Item, 'pre'>[] = [];
  let sp = st.known(4);
  if (sp === undefined || sp - 4 < STACK_BUF || sp > STACK_BUF + STACK_BUF_SIZE) {
    sp = (STACK_BUF + 160 + rng.int(STACK_BUF_SIZE - 320)) & ~3;
    out.push(...setup(new Need('reg', 4, sp), st, rng)!);
  }
  let v = (rng.u32() & ARITH6) | (rng.chance(0.3) ? DF : 0) | 0x2;
  if (rng.chance(0.3)) v |= rng.u32() & ~(0x100 | 0x40000);
  sp = (sp - 4) >>> 0;
  st.setMem(sp, 4, { v, t: false });
  st.val[4] = sp;
  st.safeFlags = { addr: sp, bytes: 4, df: ((v >>> 10) & 1) as 0 | 1 };
  out.push({ bytes: [0x68, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24], mnemonic: 'push', family: 'pushPop', setup: true });
  return out;
}

/**
 * Rare prefix mutations that must fault: LOCK where it is not allowed (#UD: a register or
 * non-memory destination, or an instruction LOCK does not apply to; SDM Vol. 2A "LOCK"), and
 * redundant prefixes that push an instruction past 15 bytes (#GP(0)).
 */
function mutatePrefixes(e: Emit, rng: Rng): void {
  if (e.t.family === 'privileged' || e.endsCase) return;
  if (!e.lock && rng.chance(0.004)) {
    e.lock = true;
    if (!e.t.spec.lock || !e.memWrite) e.endsCase = e.mayFault = true;
  }
  if (rng.chance(0.004)) {
    // Repeat a prefix the instruction already has, or add redundant DS overrides.
    const extra = rng.range(1, 12);
    const p = e.osize === 16 && rng.chance(0.5) ? 0x66 : 0x3e;
    if (p === 0x3e && e.seg && e.seg !== 0x3e) return;
    for (let k = 0; k < extra; k++) e.prefixes.push(p);
  }
}

/** Coverage key of a template: family, opcode and extension ('alu 81/7'). */
export function recordKey(t: Template): string {
  return `${t.family} ${t.spec.op.toString(16)}${t.spec.ext !== undefined ? '/' + t.spec.ext : ''}`;
}

function masksOf(st: AState): Masks {
  const m: Masks = { regTaint: new Uint32Array(8), undefFlags: 0, memTaint: [] };
  addMasks(m, st);
  return m;
}

function unionMasks(into: Masks, m: Masks): void {
  for (let r = 0; r < 8; r++) into.regTaint[r]! |= m.regTaint[r]!;
  into.undefFlags |= m.undefFlags;
  into.memTaint.push(...m.memTaint);
}

function addMasks(m: Masks, st: AState): void {
  for (let r = 0; r < 8; r++) m.regTaint[r]! |= st.taint[r]!;
  m.undefFlags |= st.undef;
  for (const a of st.memTaint) m.memTaint.push(a);
}

/** Generate case `index` of run `seed`. */
export function generateCase(set: TemplateSet, seed: number, index: number): GeneratedCase {
  const rng = new Rng(seed, index);
  for (;;) {
    const c = tryGenerate(set, rng, seed, index);
    if (c) return c;
  }
}

function tryGenerate(set: TemplateSet, rng: Rng, seed: number, index: number): GeneratedCase | undefined {
  const { regs, eflags, st: st0 } = initialState(rng);
  let st = st0;
  const total = rng.range(1, 8);
  const paging = rng.chance(0.5);
  const items: Item[] = [];
  const labels: number[] = [];
  const pending = new Map<number, AState[]>();
  const masks: Masks = { regTaint: new Uint32Array(8), undefFlags: 0, memTaint: [] };
  let pos = 0;
  for (; pos < total; pos++) {
    for (const p of pending.get(pos) ?? []) st.merge(p);
    labels[pos] = items.length;
    let ended = false;
    for (let tries = 0; tries < 40; tries++) {
      const t = pickTemplate(set, rng);
      let setups = 0;
      let placed = false;
      for (;;) {
        const trial = st.clone();
        const e = new Emit(t, trial, rng, { position: pos, total, paging });
        try {
          t.emit(e);
        } catch (x) {
          if (x instanceof Need && setups < 3) {
            const pre = masksOf(st);
            const s = setup(x, st, rng)?.map((it) => ({ ...it, pre }));
            if (s) {
              items.push(...s);
              setups++;
              continue;
            }
          }
          if (x === INFEASIBLE || x instanceof Need) break;
          throw x;
        }
        mutatePrefixes(e, rng);
        if (e.mayFault) {
          addMasks(masks, st);
          for (let r = 0; r < 8; r++) masks.regTaint[r]! |= e.faultRegTaint[r]!;
        }
        const { bytes, jumpAt, codeReloc, labelReloc } = e.assemble();
        if (bytes.length > 15) {
          // SDM Vol. 2A §2.1: an instruction longer than 15 bytes raises #GP(0).
          e.endsCase = true;
          addMasks(masks, st);
        }
        const prefixes = [...(e.lock ? ['lock'] : []), ...(e.osize === 16 ? ['o16'] : []), ...(e.seg ? ['seg'] : [])];
        const record = recordKey(t);
        const item: Item = { bytes, mnemonic: e.mnemonic, family: t.family, setup: false, prefixes, codeReloc, labelReloc, record, pre: masksOf(st) };
        if (e.jump) {
          item.jump = { at: jumpAt, bytes: e.jump.bytes, target: e.jump.target };
          const list = pending.get(e.jump.target) ?? [];
          list.push(trial.clone());
          pending.set(e.jump.target, list);
        }
        items.push(item);
        st = trial;
        ended = e.endsCase;
        placed = true;
        break;
      }
      if (placed) break;
    }
    if (ended) {
      pos++;
      break;
    }
  }
  // Jumps past the last generated position land on the closing int3.
  for (const [target, list] of pending) if (target >= pos) for (const p of list) st.merge(p);
  for (let k = pos; k <= total; k++) labels[k] = items.length;
  addMasks(masks, st);
  items.push({ bytes: [0xcc], mnemonic: 'int3', family: 'end', setup: true, pre: masksOf(st) });

  // Lay out, then patch jump displacements.
  const offs: number[] = [];
  let len = 0;
  for (const it of items) {
    offs.push(len);
    len += it.bytes.length;
  }
  for (let k = 0; k < items.length; k++) {
    const j = items[k]!.jump;
    if (!j || j.bytes === 0) continue;
    const disp = offs[labels[j.target]!]! - (offs[k]! + items[k]!.bytes.length);
    if (disp < 0 || (j.bytes === 1 && disp > 127)) return undefined;
    for (let b = 0; b < j.bytes; b++) items[k]!.bytes[j.at + b] = (disp >>> (8 * b)) & 0xff;
  }
  // Usually near the start of the code page; sometimes straddling into the next one. With
  // paging, sometimes cut at the end of the code pages inside an instruction: its fetch faults.
  let codeAddr = rng.chance(0.25) ? CODE_BASE + 0x1000 - rng.range(1, Math.min(len, 64)) : CODE_BASE + rng.int(0x100);
  const cuttable = items.map((it, k) => k).filter((k) => items[k]!.bytes.length > 1);
  if (paging && cuttable.length && rng.chance(0.04)) {
    const k = rng.pick(cuttable);
    len = offs[k]! + rng.range(1, items[k]!.bytes.length - 1);
    codeAddr = CODE_BASE + CODE_SIZE - len;
    // The case can now end at the fetch of item k, or of any later one a jump lands on.
    for (let j = k; j < items.length; j++) unionMasks(masks, items[j]!.pre);
  }
  const put32 = (k: number, at: number, v: number): void => {
    for (let b = 0; b < 4; b++) items[k]!.bytes[at + b] = (v >>> (8 * b)) & 0xff;
  };
  for (let k = 0; k < items.length; k++) {
    const r = items[k]!.codeReloc;
    if (r) put32(k, r.at, codeAddr + offs[k]! + r.add);
    const l = items[k]!.labelReloc;
    if (l) put32(k, l.at, codeAddr + offs[labels[l.target]!]!);
  }
  const whole = new Uint8Array(offs[items.length - 1]! + 1);
  items.forEach((it, k) => whole.set(it.bytes, offs[k]));
  const code = whole.slice(0, len);
  return {
    seed,
    index,
    input: { codeAddr, code, regs, eflags, memSeed: rng.u32(), paging, jit: rng.chance(0.35) },
    listing: items.map((it, k) => ({ off: offs[k]!, len: it.bytes.length, mnemonic: it.mnemonic, family: it.family, setup: it.setup, prefixes: it.prefixes, record: it.record })),
    masks,
  };
}
