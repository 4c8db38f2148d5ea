/**
 * Per-family emitters: how the generator encodes each kind of instruction from its opcode-table
 * record (operands in SDM Appendix A notation) and what it does to the abstract state. The
 * semantics here are deliberately coarse — which registers, memory and flags an instruction
 * reads and writes, and exact values only where cheap (MOV, ADD, LEA, ...) — because their only
 * job is to keep memory operands inside the buffers and to know what is undefined.
 */
import { ARITH6, flagReads } from '../../runtime/cpu/flags-table.ts';
import { Emit, INFEASIBLE, Need, inBuffers, nearEdge, type Loc } from './emit.ts';
import { randomMem } from './encode.ts';
import { DATA_BUF, DATA_BUF_SIZE, EDGES, STACK_PAGES, mapped } from './layout.ts';
import { sizeMask, type AV, type Size } from './state.ts';

const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
const TF = 0x100, AC = 0x40000;

const sx = (v: number, s: Size): number => (s === 32 ? v | 0 : s === 16 ? (v << 16) >> 16 : (v << 24) >> 24);
const taint = (...avs: AV[]): boolean => avs.some((a) => a.t);
const unknown = (t: boolean): AV => ({ v: undefined, t });

/** Exact result of the operations the generator follows, or undefined. */
function evaluate(name: string, size: Size, a: AV, b: AV): number | undefined {
  if (a.v === undefined || (b.v === undefined && name !== 'inc' && name !== 'dec' && name !== 'not' && name !== 'neg')) return undefined;
  const x = a.v, y = b.v ?? 0;
  let r: number;
  switch (name) {
    case 'add': r = x + y; break;
    case 'sub': r = x - y; break;
    case 'and': r = x & y; break;
    case 'or': r = x | y; break;
    case 'xor': r = x ^ y; break;
    case 'inc': r = x + 1; break;
    case 'dec': r = x - 1; break;
    case 'not': r = ~x; break;
    case 'neg': r = -x; break;
    default: return undefined;
  }
  return (r & sizeMask(size)) >>> 0;
}

/** Resolve an operand token of a generic two/three-operand instruction. */
function operand(e: Emit, tok: string, access: 'r' | 'w' | 'rw'): Loc {
  const s = e.sizeOf(tok);
  switch (tok[0]) {
    case 'E': return e.E(s, access);
    case 'G': return e.G(s, access);
    case 'I': return e.immTok(tok, s);
  }
  if (tok === 'AL' || tok === 'eAX') return e.fixed(EAX, s);
  if (tok === 'CL') return e.fixed(ECX, 8);
  if (tok === 'DX') return e.fixed(EDX, 16);
  if (tok === '1') return { kind: 'imm', v: 1, size: 8 };
  if (tok === 'Zv' || tok === 'Zb') return e.fixed(e.t.spec.op & 7, s);
  throw new Error(`fuzz: operand ${tok} of ${e.t.spec.name} not handled`);
}

const toks = (e: Emit): string[] => e.t.spec.operands.split(',').filter((x) => x !== '');

// ---- arithmetic ---------------------------------------------------------------------------------

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

// ---- data movement ---------------------------------------------------------------------------------

/** MOV in all its encodings (E/G, imm, moffs, register-in-opcode). */
export function mov(e: Emit): void {
  const [dt, stok] = toks(e) as [string, string];
  let d: Loc, s: Loc;
  if (dt[0] === 'O' || stok[0] === 'O') {
    // moffs: an absolute address (disp32) in a buffer.
    const size = e.sizeOf(dt[0] === 'O' ? dt : stok);
    const ea = e.E(size, dt[0] === 'O' ? 'w' : 'r', { memOnly: true });
    e.imms.push(...Array.from({ length: 4 }, (_, k) => (ea.kind === 'mem' ? ea.ea >>> (8 * k) : 0) & 0xff));
    const acc = e.fixed(EAX, size);
    [d, s] = dt[0] === 'O' ? [ea, acc] : [acc, ea];
  } else {
    d = operand(e, dt, 'w');
    s = operand(e, stok, 'r');
  }
  e.write(d, e.read(s));
  e.maybeSeg();
}

/** MOVZX MOVSX Gv,Eb/Ew. */
export function movx(e: Emit): void {
  const stok = toks(e)[1]!;
  const g = e.G(e.size, 'w');
  const from = e.sizeOf(stok);
  const src = e.read(e.E(from, 'r'));
  const v = src.v === undefined ? undefined : e.t.spec.name === 'movsx' ? sx(src.v, from) >>> 0 : src.v;
  e.write(g, { v, t: src.t });
  e.maybeSeg();
}

/** LEA Gv,M: any addressing form, any registers (nothing is accessed). */
export function lea(e: Emit): void {
  const g = e.G(e.size, 'w');
  const { m, known, tainted } = randomMem(e.st, e.rng);
  e.rmMem(m);
  e.write(g, { v: known && !tainted ? m.ea : undefined, t: tainted });
  e.maybeSeg({ any: true });
}

/** XCHG Eb,Gb / Ev,Gv / eAX,Zv. */
export function xchg(e: Emit): void {
  let a: Loc, b: Loc;
  if (e.t.spec.operands === 'Zv') {
    a = e.fixed(EAX, e.size);
    b = e.fixed(e.t.spec.op & 7, e.size);
  } else {
    a = e.E(e.size, 'rw');
    b = e.G(e.size, 'rw');
  }
  const va = e.read(a), vb = e.read(b);
  e.write(a, vb);
  e.write(b, va);
  e.maybeLock();
  e.maybeSeg();
}

/** CMPXCHG Eb,Gb / Ev,Gv: the destination is written either way (memory forms). */
export function cmpxchg(e: Emit): void {
  const d = e.E(e.size, 'rw');
  const s = e.read(e.G(e.size, 'r'));
  const acc = e.st.getReg(EAX, e.size);
  const dv = e.read(d);
  const t = taint(dv, s, acc);
  e.write(d, unknown(t));
  e.st.setReg(EAX, e.size, unknown(t));
  e.st.applyFlags('cmpxchg', { size: e.size }, t);
  e.maybeLock();
  e.maybeSeg();
}

/** CMPXCHG8B m64 (a register operand is #UD). */
export function cmpxchg8b(e: Emit): void {
  if (e.rng.chance(0.02)) {
    e.rmReg(e.rng.int(8));
    e.endsCase = e.mayFault = true;
    return;
  }
  const d = e.E(32, 'rw', { memOnly: true, bytes: 8 });
  const t = taint(e.read(d), ...[EAX, ECX, EDX, EBX].map((r) => e.st.getReg(r, 32)));
  e.write(d, unknown(t));
  e.st.setReg(EAX, 32, unknown(t));
  e.st.setReg(EDX, 32, unknown(t));
  e.st.applyFlags('cmpxchg8b', { size: 32 }, t);
  e.maybeLock();
  e.maybeSeg();
}

/** XADD Eb,Gb / Ev,Gv. */
export function xadd(e: Emit): void {
  const d = e.E(e.size, 'rw');
  const g = e.G(e.size, 'rw');
  const a = e.read(d), b = e.read(g);
  const t = taint(a, b);
  e.write(g, a);
  e.write(d, { v: t ? undefined : evaluate('add', e.size, a, b), t });
  e.st.applyFlags('xadd', { size: e.size }, t);
  e.maybeLock();
  e.maybeSeg();
}

/** CWDE/CBW and CDQ/CWD. */
export function convert(e: Emit): void {
  const s = e.osize;
  if (e.t.spec.name === 'cwde') {
    const a = e.st.getReg(EAX, s === 32 ? 16 : 8);
    e.st.setReg(EAX, s, { v: a.v === undefined ? undefined : (sx(a.v, s === 32 ? 16 : 8) & sizeMask(s)) >>> 0, t: a.t });
    e.mnemonic = s === 32 ? 'cwde' : 'cbw';
  } else {
    const a = e.st.getReg(EAX, s);
    e.st.setReg(EDX, s, { v: a.v === undefined ? undefined : sx(a.v, s) < 0 ? sizeMask(s) : 0, t: a.t });
    e.mnemonic = s === 32 ? 'cdq' : 'cwd';
  }
}

/** XLAT: AL ← [EBX + AL] (segment overridable). */
export function xlat(e: Emit): void {
  const al = e.st.getReg(EAX, 8);
  const span = al.v === undefined ? 256 : 1;
  const base = e.require(EBX, (v) => inBuffers(v + (al.v ?? 0), span), () => DATA_BUF + e.rng.int(DATA_BUF_SIZE - 256));
  const m = e.st.getMem(base + (al.v ?? 0), span);
  e.st.setReg(EAX, 8, unknown(m.t || al.t));
  e.memAccess = true;
  e.maybeSeg();
}

/** LAHF SAHF CLC STC CMC CLD STD SALC. */
export function flagOps(e: Emit): void {
  const name = e.t.spec.name;
  e.needFlags(flagReads(name));
  switch (name) {
    case 'lahf': e.st.setReg(4, 8, unknown(false)); break; // AH
    case 'sahf': e.st.applyFlags('sahf', { size: 8 }, e.st.getReg(4, 8).t); break;
    case 'salc': e.st.setReg(EAX, 8, unknown(false)); break;
    case 'cld': e.st.df = 0; break;
    case 'std': e.st.df = 1; break;
    default: e.st.applyFlags(name, { size: 8 }, false);
  }
}

/** NOP, the hint NOPs (0F 18–1F, any ModRM: nothing is accessed), PAUSE, ENDBR32, FWAIT. */
export function nop(e: Emit): void {
  const op = e.t.spec.op;
  if (op === 0x90 && e.rng.chance(0.3)) {
    e.prefixes.push(0xf3);
    e.mnemonic = 'pause';
  } else if (op === 0x11e && e.rng.chance(0.5)) {
    e.prefixes.push(0xf3);
    e.rmReg(3); // F3 0F 1E FB: ENDBR32
    e.reg = 7;
    e.mnemonic = 'endbr32';
    return;
  }
  if (op >= 0x118) {
    if (e.rng.chance(0.3)) e.rmReg(e.rng.int(8));
    else e.rmMem(randomMem(e.st, e.rng).m);
    if (op === 0x11f) e.mnemonic = 'nopl';
  }
  e.maybeSeg({ any: true });
}

/** MOV Ew,Sw (8C): a 32-bit register gets the selector with implementation-dependent upper bits. */
export function movFromSeg(e: Emit): void {
  e.reg = e.rng.int(6);
  const d = e.E(16, 'w');
  if (d.kind === 'reg' && e.osize === 32) {
    e.st.setReg(d.r, 32, unknown(false));
    // SDM Vol. 2B "MOV": the two high-order bytes are implementation dependent (zero on P6+).
    e.st.taint[d.r]! |= 0xffff0000;
    e.st.val[d.r] = undefined;
  } else e.write(d, unknown(false));
  e.maybeSeg();
}

/** ARPL Ew,Gw. */
export function arpl(e: Emit): void {
  const d = e.E(16, 'rw');
  const s = e.read(e.G(16, 'r'));
  const a = e.read(d);
  const t = taint(a, s);
  e.write(d, unknown(t));
  e.st.applyFlags('arpl', { size: 16 }, t);
  e.maybeSeg();
}

/** BOUND Gv,Ma: #BR when the index is outside the bounds; no other effect. */
export function bound(e: Emit): void {
  const g = e.read(e.G(e.size, 'r'));
  const m = e.E(e.size, 'r', { memOnly: true, bytes: (2 * e.size) / 8 });
  if (g.t || e.read(m).t) throw INFEASIBLE;
  e.mayFault = true;
  e.maybeSeg();
}

/** INTO: #OF (a trap) when OF = 1. */
export function into(e: Emit): void {
  e.needFlags(flagReads('into'));
  e.mayFault = true;
}

// ---- stack -------------------------------------------------------------------------------------------

/** PUSH r / r/m / imm, POP r / r/m. */
export function pushPop(e: Emit): void {
  const name = e.t.spec.name;
  const n = (e.osize / 8) as 2 | 4;
  const tok = toks(e)[0]!;
  if (name === 'push') {
    let v: AV;
    if (tok === 'Zv') v = e.st.getReg(e.t.spec.op & 7, e.osize);
    else if (tok === 'Ev') v = e.read(e.E(e.osize, 'r'));
    else v = e.read(e.immTok(tok, e.osize));
    const sp = e.push(n, v);
    if (tok !== 'Ev' && tok !== 'Zv') noteSafeFlags(e, sp, n, v.v);
  } else {
    if (tok === 'Zv') e.write(e.fixed(e.t.spec.op & 7, e.osize), e.pop(n));
    else {
      // POP r/m: an ESP base is read after the pop (SDM Vol. 2B "POP").
      const sp = e.stackRoom(0, n);
      const d = e.E(e.osize, 'w', { espDelta: n });
      const v = e.st.getMem(sp, n);
      e.st.val[ESP] = (sp + n) >>> 0;
      if (!(d.kind === 'reg' && d.r === ESP)) e.write(d, v);
      else e.st.setReg(ESP, e.osize, unknown(v.t));
    }
  }
  e.maybeSeg();
}

/** A pushed immediate POPF may load: TF and AC clear (a trace trap or alignment checks otherwise). */
function noteSafeFlags(e: Emit, addr: number, bytes: 2 | 4, v: number | undefined): void {
  if (v === undefined || v & TF || (bytes === 4 && v & AC)) return;
  e.st.safeFlags = { addr, bytes, df: ((v >>> 10) & 1) as 0 | 1 };
}

/** PUSH ES/CS/SS/DS/FS/GS: a 32-bit push may write 2 or 4 bytes (SDM Vol. 2B "PUSH"). */
export function pushSeg(e: Emit): void {
  const n = (e.osize / 8) as 2 | 4;
  // Whether the upper half is written is implementation-specific, so is a fault on it alone.
  const now = e.st.known(ESP);
  if (n === 4 && now !== undefined && mapped(now - 4, 2, true) !== mapped(now - 4, 4, true)) throw INFEASIBLE;
  const sp = e.push(n, unknown(false));
  if (n === 4) e.st.setMem(sp + 2, 2, unknown(true));
}

/** PUSHA/POPA (PUSHAD/POPAD). */
export function pushaPopa(e: Emit): void {
  const n = (e.osize / 8) as 2 | 4;
  const s = e.osize;
  if (e.t.spec.name === 'pusha') {
    const sp = e.stackRoom(8 * n, 0);
    for (let r = 0; r < 8; r++) e.st.setMem(sp - (r + 1) * n, n, r === ESP ? unknown(false) : e.st.getReg(r, s));
    e.st.val[ESP] = (sp - 8 * n) >>> 0;
    e.mnemonic = s === 32 ? 'pushad' : 'pushaw';
  } else {
    const sp = e.stackRoom(0, 8 * n);
    // A POPA that faults part way may already have loaded some registers (the CPU does; the
    // SDM only requires it to be restartable): those are not compared then.
    if (e.endsCase) for (let r = 0; r < 8; r++) if (r !== ESP) e.faultRegTaint[r] = sizeMask(s);
    for (let k = 0; k < 8; k++) if (7 - k !== ESP) e.st.setReg(7 - k, s, e.st.getMem(sp + k * n, n));
    e.st.val[ESP] = (sp + 8 * n) >>> 0;
    e.mnemonic = s === 32 ? 'popad' : 'popaw';
  }
}

/** PUSHF/POPF: POPF only loads a word known to be safe (see state.ts `safeFlags`). */
export function pushfPopf(e: Emit): void {
  const n = (e.osize / 8) as 2 | 4;
  if (e.t.spec.name === 'pushf') {
    e.needFlags(ARITH6);
    const sp = e.push(n, unknown(false));
    e.st.safeFlags = { addr: sp, bytes: n, df: e.st.df };
  } else {
    const sp = e.stackRoom(0, n);
    const f = e.st.safeFlags;
    if (!f || f.addr !== sp || f.bytes < n) throw new Need('safeFlags');
    e.st.val[ESP] = (sp + n) >>> 0;
    e.st.applyFlags('popf', { size: e.osize }, false);
    e.st.df = f.df;
  }
  e.mnemonic += e.osize === 32 ? 'd' : 'w';
}

/** ENTER Iw,Ib: nested levels copy frame pointers from [EBP - k*n]. */
export function enter(e: Emit): void {
  const n = (e.osize / 8) as 2 | 4;
  const level = e.rng.chance(0.5) ? 0 : e.rng.chance(0.8) ? e.rng.range(1, 4) : e.rng.pick([5, 31, 32, 33, 255]);
  const pushes = (level & 0x1f) === 0 ? 1 : (level & 0x1f) + 1;
  const sp = e.stackRoom(pushes * n, 0);
  // ENTER probes a write at the final stack pointer (SDM Vol. 2A "ENTER", #PF): keep it in the
  // mapped stack pages, since the emulator runs without paging and could not fault there.
  // With paging, a final ESP outside the stack pages must fault as natively.
  const room = sp - pushes * n - STACK_PAGES - 64;
  const want = e.rng.chance(0.8) ? e.rng.int(48) : e.rng.pick([0x100, 0xffff, e.rng.int(0x10000)]);
  const size = e.read(e.imm(2, 16, want <= room || e.pos.paging ? want : e.rng.int(Math.max(1, Math.min(room, 64))))).v!;
  if (!mapped(sp - pushes * n - size, 1, true)) e.endsCase = e.mayFault = true;
  e.read(e.imm(1, 8, level));
  const bp = e.st.getReg(EBP, 32);
  let t = bp.t;
  if ((level & 0x1f) > 1) {
    const copies = (level & 0x1f) - 1;
    const base = e.require(EBP, (v) => inBuffers(v - copies * n, copies * n), () => e.freshEsp());
    t = t || e.st.getMem(base - copies * n, copies * n).t;
  }
  e.st.setMem(sp - pushes * n, pushes * n, unknown(t));
  const frame = (sp - n) >>> 0;
  if (e.osize === 32) e.st.setReg(EBP, 32, { v: frame, t: false });
  else {
    e.st.setReg(EBP, 16, { v: frame & 0xffff, t: false });
    // With levels the SDM decrements EBP itself before BP is reloaded: leave the high half unknown.
    if ((level & 0x1f) > 1) e.st.val[EBP] = undefined;
  }
  e.st.val[ESP] = (sp - pushes * n - size) >>> 0;
}

/** LEAVE: ESP ← EBP, then pop EBP. */
export function leave(e: Emit): void {
  const n = (e.osize / 8) as 2 | 4;
  const bp = e.require(EBP, (v) => inBuffers(v, n), () => e.freshEsp());
  const v = e.st.getMem(bp, n);
  e.st.setReg(ESP, 32, { v: (bp + n) >>> 0, t: false });
  e.st.setReg(EBP, e.osize, unknown(v.t));
}

// ---- strings -------------------------------------------------------------------------------------------

/** MOVS CMPS STOS LODS SCAS with REP/REPE/REPNE, DF either way, a source segment override. */
export function string(e: Emit): void {
  const kind = e.t.spec.name.slice(0, 4);
  const eb = e.size / 8;
  const rep = e.rng.weighted([[4, 0], [4, 0xf3], [2, 0xf2]] as const);
  if (rep) e.prefixes.push(rep);
  const compares = kind === 'cmps' || kind === 'scas';
  const count = rep ? e.require(ECX, (v) => v <= 24, () => e.rng.int(13)) : 1;
  const df = e.st.df;
  const span = (p: number): [number, number] => {
    // [lo, hi) touched by `count` elements from p, in the known direction (both if unknown).
    const lo = df === 0 ? p : p - (count - 1) * eb;
    const hi = df === 1 ? p + eb : p + count * eb;
    return count === 0 ? [p, p] : [lo, hi];
  };
  // With paging, a range that runs off the mapped pages is accepted: the string faults part
  // way (ECX/ESI/EDI must then say how far it got, as natively).
  const faults = (p: number, write: boolean): boolean => {
    const [lo, hi] = span(p);
    return e.pos.paging && hi > lo && nearEdge(lo, hi - lo) && !mapped(lo, hi - lo, write);
  };
  const ok = (write: boolean) => (p: number): boolean => {
    const [lo, hi] = span(p);
    return hi === lo || inBuffers(lo, hi - lo) || faults(p, write);
  };
  const ptr = (): number => {
    if (e.pos.paging && count > 0 && e.rng.chance(0.15)) return (e.rng.pick(EDGES) + e.rng.range(-count * eb, count * eb)) >>> 0;
    return DATA_BUF + 64 + e.rng.int(DATA_BUF_SIZE - 128);
  };
  const src = kind === 'movs' || kind === 'cmps' || kind === 'lods';
  const dst = kind !== 'lods';
  const dstWrites = kind === 'movs' || kind === 'stos';
  const si = src ? e.require(ESI, ok(false), ptr) : 0;
  const di = dst ? e.require(EDI, ok(dstWrites), ptr) : 0;
  if ((src && faults(si, false)) || (dst && faults(di, dstWrites))) e.endsCase = e.mayFault = true;
  const acc = e.st.getReg(EAX, e.size);
  let t = false;
  if (src && count) t = t || e.st.getMem(span(si)[0], span(si)[1] - span(si)[0]).t;
  if (compares && count) t = t || (kind === 'scas' ? acc.t : false) || e.st.getMem(span(di)[0], span(di)[1] - span(di)[0]).t;
  if (count > 0) {
    if (kind === 'movs') e.st.setMem(span(di)[0], span(di)[1] - span(di)[0], unknown(t));
    if (kind === 'stos') e.st.setMem(span(di)[0], span(di)[1] - span(di)[0], unknown(acc.t));
    if (kind === 'lods') e.st.setReg(EAX, e.size, unknown(t));
    if (compares) e.st.applyFlags(e.t.spec.name, { size: e.size }, t);
  }
  const step = (p: number, k: number): number | undefined => (df === undefined ? undefined : (p + (df ? -k : k) * eb) >>> 0);
  const done = compares && rep ? undefined : count; // REPE/REPNE stop early, data-dependent
  const after = (r: number, p: number): void => {
    if (count === 0) return;
    const v = done === undefined ? undefined : step(p, done);
    e.st.setReg(r, 32, { v, t: done === undefined && t });
  };
  if (src) after(ESI, si);
  if (dst) after(EDI, di);
  if (rep && count > 0) e.st.setReg(ECX, 32, done === undefined ? unknown(t) : { v: 0, t: false });
  e.memAccess = true;
  e.memWrite = kind === 'movs' || kind === 'stos';
  // The override applies to the source only (ES:EDI is fixed), so CS is fine for MOVS too.
  if (src) e.maybeSeg({ readOnly: true });
  else if (e.rng.chance(0.1)) e.maybeSeg({ any: true }); // ignored without a source
  const w = e.size === 8 ? 'b' : e.size === 16 ? 'w' : 'd';
  e.mnemonic = `${rep === 0xf3 ? (compares ? 'repe ' : 'rep ') : rep === 0xf2 ? 'repne ' : ''}${kind}${w}`;
}

// ---- control transfer -------------------------------------------------------------------------------

/** Jcc, JMP (rel8/rel32), LOOP/LOOPE/LOOPNE, JECXZ, CALL rel32: forward only, inside the sequence. */
export function jump(e: Emit): void {
  const name = e.t.spec.name;
  e.needFlags(flagReads(name));
  const { position, total } = e.pos;
  const rel8 = e.t.spec.operands === 'Jb';
  const loops = name === 'loop' || name === 'loope' || name === 'loopne' || name === 'jecxz';
  if (rel8 && !loops && name !== 'jmp' && e.pos.paging && e.rng.chance(0.02)) {
    // Jcc with a 16-bit operand size: a taken branch truncates EIP to 16 bits (SDM Vol. 2A
    // "Jcc"), far below anything mapped, so it faults on the fetch; not taken, it falls through.
    e.prefixes.push(0x66);
    e.imm(1, 8);
    e.mayFault = true;
    e.mnemonic = `${name} (o16)`;
    return;
  }
  const far = Math.min(total, position + (rel8 ? 4 : 8));
  const target = e.rng.range(position + 1, far);
  e.jump = { bytes: rel8 ? 1 : 4, target };
  // Prefixes the CPU ignores here: branch hints (2E/3E) on Jcc, BND (F2) as in MPX-era code.
  if (!loops && name !== 'call' && name !== 'jmp' && e.rng.chance(0.1)) e.seg = e.rng.pick([0x2e, 0x3e]);
  if (!loops && e.rng.chance(0.05)) e.prefixes.push(0xf2);
  if (name === 'loop' || name === 'loope' || name === 'loopne') {
    const c = e.st.getReg(ECX, 32);
    if (c.t) throw INFEASIBLE;
    e.st.setReg(ECX, 32, { v: c.v === undefined ? undefined : (c.v - 1) >>> 0, t: false });
  } else if (name === 'jecxz') {
    if (e.st.getReg(ECX, 32).t) throw INFEASIBLE;
  } else if (name === 'call') {
    e.push(4, unknown(false));
  }
}

/**
 * Indirect JMP/CALL through a register or memory, sometimes with the NOTRACK (3E) prefix gcc's
 * -fcf-protection emits, and RET / RET imm16: a preceding MOV or PUSH loads the target, the
 * address of a later position, so the transfer stays forward and inside the sequence.
 */
export function indirect(e: Emit): void {
  const { position, total } = e.pos;
  const target = e.rng.range(position + 1, Math.min(total, position + 8));
  const name = e.t.spec.name;
  if (name === 'ret') {
    e.preamble.push(0x68, 0, 0, 0, 0); // push imm32 (the target)
    e.labelReloc = { at: 1, target };
    e.push(4, unknown(false));
    e.pop(4);
    // REPZ RET (gcc's AMD K8 tuning) and BND RET: prefixes the CPU ignores on RET.
    if (e.rng.chance(0.15)) {
      const p = e.rng.pick([0xf3, 0xf2]);
      e.prefixes.push(p);
      e.mnemonic = p === 0xf3 ? 'repz ret' : 'bnd ret';
    }
    if (e.t.spec.operands === 'Iw') {
      const n = e.read(e.imm(2, 16, e.rng.pick([0, 2, 4, 8, 12, e.rng.int(64)]))).v!;
      const sp = e.st.known(ESP)!;
      e.st.val[ESP] = (sp + n) >>> 0;
    }
  } else {
    if (e.rng.chance(0.5)) {
      const r = e.rng.pick([0, 1, 2, 3, 5, 6, 7]);
      e.preamble.push(0xb8 + r, 0, 0, 0, 0); // mov r32, imm32 (the target)
      e.labelReloc = { at: 1, target };
      e.rmReg(r);
      e.st.setReg(r, 32, unknown(false));
    } else {
      const m = e.E(32, 'r', { memOnly: true, region: 'data' });
      if (m.kind !== 'mem') throw INFEASIBLE;
      // mov dword [ea], imm32 (the target); the transfer then reads it through any form.
      e.preamble.push(0xc7, 0x05, m.ea & 0xff, (m.ea >>> 8) & 0xff, (m.ea >>> 16) & 0xff, m.ea >>> 24, 0, 0, 0, 0);
      e.labelReloc = { at: 6, target };
      e.st.setMem(m.ea, 4, unknown(false));
    }
    if (name === 'call') e.push(4, unknown(false));
    if (e.rng.chance(0.3)) {
      e.seg = 0x3e;
      e.mnemonic = `notrack ${name}`;
    }
  }
  e.jump = { bytes: 0, target };
  if (name !== 'ret') e.mnemonic = e.mnemonic === name ? `${name} indirect` : `${e.mnemonic} indirect`;
}

// ---- self-modifying code ------------------------------------------------------------------------------

/**
 * A store into the instruction that follows it: MOV m32/m8, imm rewriting the immediate of a
 * MOV r32, imm32, or MOV m8, imm8 turning one INC/DEC r32 into another. x86 guarantees the
 * store is seen by the next fetch (SDM Vol. 3 §11.6); the emulator must drop the decoded block.
 */
export function smc(e: Emit): void {
  const byteStore = e.t.spec.op === 0xc6;
  e.rmMem({ mod: 0, rm: 5, sib: undefined, disp: 0, dispBytes: 4, ea: 0, base: -1, index: -1, scale: 0 });
  e.memAccess = e.memWrite = true;
  const r = e.rng.pick([0, 1, 2, 3, 5, 6, 7]);
  if (!byteStore || e.rng.chance(0.5)) {
    // Rewrite (part of) the immediate of MOV r32, imm32.
    const y = e.rng.value(32);
    e.trailer.push(0xb8 + r, y & 0xff, (y >>> 8) & 0xff, (y >>> 16) & 0xff, y >>> 24);
    const k = byteStore ? e.rng.int(4) : 0;
    const x = e.read(e.imm(byteStore ? 1 : 4, byteStore ? 8 : 32)).v!;
    e.codeTarget = { add: 1 + k };
    const v = byteStore ? ((y & ~(0xff << (8 * k))) | (x << (8 * k))) >>> 0 : x;
    e.st.setReg(r, 32, { v, t: false });
    e.mnemonic = `smc ${byteStore ? 'movb' : 'movl'} imm`;
  } else {
    // Turn INC/DEC r into INC/DEC r'.
    const before = (e.rng.chance(0.5) ? 0x40 : 0x48) + r;
    const after = (e.rng.chance(0.5) ? 0x40 : 0x48) + e.rng.pick([0, 1, 2, 3, 5, 6, 7]);
    e.trailer.push(before);
    e.imm(1, 8, after);
    e.codeTarget = { add: 0 };
    const name = after < 0x48 ? 'inc' : 'dec';
    const a = e.st.getReg(after & 7, 32);
    e.st.setReg(after & 7, 32, { v: a.t || a.v === undefined ? undefined : (a.v + (name === 'inc' ? 1 : -1)) >>> 0, t: a.t });
    e.st.applyFlags(name, { size: 32 }, a.t);
    e.mnemonic = 'smc movb opcode';
  }
  e.maybeSeg();
}

// ---- instructions that always fault ---------------------------------------------------------------------

/** Privileged or I/O instructions in ring 3: #GP(0), the last instruction of a case. */
export function privileged(e: Emit): void {
  const ops = toks(e);
  for (const tok of ops) {
    if (tok[0] === 'E' || tok[0] === 'M') e.E(e.sizeOf(tok), 'r', { memOnly: tok[0] === 'M' });
    else if (tok[0] === 'R') e.rmReg(e.rng.int(8));
    else if (tok[0] === 'C' || tok[0] === 'D') e.reg = e.rng.pick(tok[0] === 'C' ? [0, 2, 3, 4] : [0, 1, 2, 3, 6, 7]);
    else if (tok[0] === 'I') e.immTok(tok, 8);
  }
  if (e.t.spec.string && e.rng.chance(0.5)) e.prefixes.push(0xf3);
  e.endsCase = e.mayFault = true;
}

export { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };
