/** Emitters for data movement, exchange, conversion, flag and NOP instructions, and BOUND/INTO/ARPL. */
import { flagReads } from '../../../runtime/cpu/flags-table.ts';
import { INFEASIBLE, inBuffers, type Emit, type Loc } from '../emit.ts';
import { randomMem } from '../encode.ts';
import { DATA_BUF, DATA_BUF_SIZE } from '../layout.ts';
import { sizeMask } from '../state.ts';
import { EAX, EBX, ECX, EDX, evaluate, operand, sx, taint, toks, unknown } from './common.ts';

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
