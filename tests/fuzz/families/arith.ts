/** Emitters for arithmetic and bit instructions (SDM Vol. 2 entries of each). */
import { ARITH6, flagReads } from '../../../runtime/cpu/flags-table.ts';
import { INFEASIBLE, type Emit, type Loc } from '../emit.ts';
import type { AV } from '../state.ts';
import { EAX, ECX, EDX, evaluate, operand, sx, taint, toks, unknown } from './common.ts';

/** ADD OR ADC SBB AND SUB XOR CMP TEST, every encoding. */
export function alu(e: Emit): void {
  const name = e.t.spec.name;
  e.needFlags(flagReads(name));
  const writes = name !== 'cmp' && name !== 'test';
  const [dt, stok] = toks(e) as [string, string];
  const d = operand(e, dt, writes ? 'rw' : 'r');
  const s = operand(e, stok, 'r');
  const a = e.read(d), b = e.read(s);
  const t = taint(a, b);
  if (writes) e.write(d, { v: t ? undefined : evaluate(name, e.size, a, b), t });
  e.st.applyFlags(name, { size: e.size }, t);
  e.maybeLock();
  e.maybeSeg();
}

/** INC DEC NOT NEG (Zv, Eb, Ev). */
export function unary(e: Emit): void {
  const name = e.t.spec.name;
  const d = operand(e, toks(e)[0]!, 'rw');
  const a = e.read(d);
  e.write(d, { v: a.t ? undefined : evaluate(name, d.size, a, a), t: a.t });
  e.st.applyFlags(name, { size: d.size }, a.t);
  e.maybeLock();
  e.maybeSeg();
}

/** Shift counts that probe every flag rule: 0, 1, below and at the width, above it, masked. */
function shiftCount(e: Emit): number {
  return e.rng.chance(0.7) ? e.rng.pick([0, 1, 1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 63]) : e.rng.int(256);
}

/** ROL ROR RCL RCR SHL SHR SAL SAR by 1, CL or imm8. */
export function shift(e: Emit): void {
  const name = e.t.spec.name;
  const [dt, ct] = toks(e) as [string, string];
  const d = e.E(e.sizeOf(dt), 'rw');
  let count: AV;
  if (ct === 'CL') count = e.read(e.fixed(ECX, 8));
  else if (ct === '1') count = { v: 1, t: false };
  else count = e.read(e.imm(1, 8, shiftCount(e)));
  const masked = count.v === undefined ? undefined : count.v & 0x1f;
  if (masked !== 0) e.needFlags(flagReads(name)); // RCL/RCR read CF unless the count is 0
  const a = e.read(d);
  const t = taint(a, count);
  if (masked !== 0) e.write(d, unknown(t));
  e.st.applyFlags(name, { size: d.size, count: masked }, t);
  e.maybeSeg();
}

/** SHLD SHRD by imm8 or CL; a 16-bit count above 16 leaves the result undefined. */
export function doubleShift(e: Emit): void {
  const name = e.t.spec.name;
  const ct = toks(e)[2]!;
  const d = e.E(e.size, 'rw');
  const s = e.G(e.size, 'r');
  const count = ct === 'CL' ? e.read(e.fixed(ECX, 8)) : e.read(e.imm(1, 8, shiftCount(e)));
  const masked = count.v === undefined ? undefined : count.v & 0x1f;
  const a = e.read(d), b = e.read(s);
  const t = taint(a, b, count);
  const undefResult = e.st.applyFlags(name, { size: e.size, count: masked }, t);
  if (masked !== 0) e.write(d, unknown(t || undefResult));
  e.maybeSeg();
}

/** MUL IMUL DIV IDIV with one operand: AL/AX/EAX (and AH/DX/EDX) implicit. */
export function mulDiv(e: Emit): void {
  const name = e.t.spec.name;
  const s = e.size;
  const src = e.read(e.E(s, 'r'));
  const divide = name === 'div' || name === 'idiv';
  const inputs = [src];
  if (s === 8) inputs.push(e.st.getReg(EAX, divide ? 16 : 8));
  else inputs.push(e.st.getReg(EAX, s), ...(divide ? [e.st.getReg(EDX, s)] : []));
  const t = taint(...inputs);
  // Whether DIV faults depends on the values: never let that hinge on an undefined one.
  if (divide && t) throw INFEASIBLE;
  if (divide) e.mayFault = true;
  if (s === 8) e.st.setReg(EAX, 16, unknown(t));
  else {
    e.st.setReg(EAX, s, unknown(t));
    e.st.setReg(EDX, s, unknown(t));
  }
  e.st.applyFlags(name, { size: s }, t);
  e.maybeSeg();
}

/** IMUL Gv,Ev and IMUL Gv,Ev,imm. */
export function imulG(e: Emit): void {
  const [, , it] = toks(e);
  const g = e.G(e.size, 'w');
  const a = e.read(e.E(e.size, 'r'));
  const b = it ? e.read(e.immTok(it, e.size)) : e.read(g);
  const t = taint(a, b);
  e.write(g, unknown(t));
  e.st.applyFlags('imul', { size: e.size }, t);
  e.maybeSeg();
}

/** BT BTS BTR BTC, Ev,Gv (a memory operand is a bit string indexed by the signed offset) and Ev,Ib. */
export function bitTest(e: Emit): void {
  const name = e.t.spec.name;
  const s = e.size;
  const writes = name !== 'bt';
  const immForm = toks(e)[1] === 'Ib';
  let off: AV;
  let d: Loc;
  if (immForm) {
    d = e.E(s, writes ? 'rw' : 'r');
    off = e.read(e.imm(1, 8, e.rng.chance(0.5) ? e.rng.int(s) : e.rng.int(256)));
  } else {
    const g = e.G(s, 'r');
    off = e.read(g);
    const known = off.v !== undefined;
    // SDM Vol. 2A "BT", Table 3-2: the byte address is ea + 4 * (offset SAR 5) (2 * (offset SAR 4) for 16 bits).
    const adj = !known ? 0 : s === 32 ? (sx(off.v!, 32) >> 5) * 4 : (sx(off.v!, 16) >> 4) * 2;
    d = e.E(s, writes ? 'rw' : 'r', { regOnly: !known, adj });
  }
  const a = e.read(d);
  const t = taint(a, off);
  if (writes) e.write(d, unknown(t));
  e.st.applyFlags(name, { size: s }, t);
  e.maybeLock();
  e.maybeSeg();
}

/** BSF BSR: a zero source leaves the destination undefined. */
export function bitScan(e: Emit): void {
  const name = e.t.spec.name;
  const g = e.G(e.size, 'w');
  const src = e.read(e.E(e.size, 'r'));
  const srcZero = src.v === undefined ? undefined : src.v === 0;
  const undefResult = e.st.applyFlags(name, { size: e.size, srcZero }, src.t);
  if (name === 'bsf' && srcZero === false && e.rng.chance(0.3)) {
    // REP BSF, as gcc emits for __builtin_ctz: TZCNT on a host with BMI1, BSF on an i686.
    // Both give the same index for a nonzero source; their flags differ.
    e.prefixes.push(0xf3);
    e.st.undef = ARITH6;
    e.mnemonic = 'rep bsf';
  }
  e.write(g, unknown(src.t || undefResult));
  e.maybeSeg();
}

/** BSWAP r32 (a 16-bit operand gives an undefined result). */
export function bswap(e: Emit): void {
  const r = e.t.spec.op & 7;
  const a = e.st.getReg(r, e.size);
  const undefResult = e.st.applyFlags('bswap', { size: e.size }, false);
  let v: number | undefined;
  if (!undefResult && a.v !== undefined) v = (((a.v & 0xff) << 24) | ((a.v & 0xff00) << 8) | ((a.v >>> 8) & 0xff00) | (a.v >>> 24)) >>> 0;
  e.st.setReg(r, e.size, { v, t: a.t || undefResult });
}

/** SETcc Eb. */
export function setcc(e: Emit): void {
  e.needFlags(flagReads(e.t.spec.name));
  e.write(e.E(8, 'w'), unknown(false));
  e.maybeSeg();
}

/** CMOVcc Gv,Ev: the source is read (and may fault) whatever the condition. */
export function cmovcc(e: Emit): void {
  e.needFlags(flagReads(e.t.spec.name));
  const g = e.G(e.size, 'rw');
  const src = e.read(e.E(e.size, 'r'));
  e.write(g, unknown(src.t || e.read(g).t));
  e.maybeSeg();
}

/** DAA DAS AAA AAS AAM AAD. */
export function bcd(e: Emit): void {
  const name = e.t.spec.name;
  e.needFlags(flagReads(name));
  const ax = e.st.getReg(EAX, 16);
  let base = 10;
  if (name === 'aam' || name === 'aad') base = e.read(e.imm(1, 8, e.rng.chance(0.7) ? 10 : e.rng.pick([0, 1, 2, 7, 16, 0xff, e.rng.int(256)]))).v!;
  if (name === 'aam' && base === 0) e.endsCase = e.mayFault = true; // #DE
  e.st.setReg(EAX, 16, unknown(ax.t));
  e.st.applyFlags(name, { size: 8 }, ax.t);
}
