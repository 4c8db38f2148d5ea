/** Emitters for stack instructions: PUSH, POP, PUSHA, POPA, PUSHF, POPF, ENTER, LEAVE. */
import { ARITH6 } from '../../../runtime/cpu/flags-table.ts';
import { INFEASIBLE, Need, inBuffers, type Emit } from '../emit.ts';
import { STACK_PAGES, mapped } from '../layout.ts';
import { sizeMask, type AV } from '../state.ts';
import { AC, EBP, ESP, TF, toks, unknown } from './common.ts';

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
