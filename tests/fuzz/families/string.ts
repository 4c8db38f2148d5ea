/** Emitter for the string instructions with REP/REPE/REPNE, DF and source overrides. */
import { INFEASIBLE, inBuffers, nearEdge, type Emit } from '../emit.ts';
import { DATA_BUF, DATA_BUF_SIZE, EDGES, mapped } from '../layout.ts';
import { EAX, ECX, EDI, ESI, unknown } from './common.ts';

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
  const faulting = (src && faults(si, false)) || (dst && faults(di, dstWrites));
  if (faulting) e.endsCase = e.mayFault = true;
  const acc = e.st.getReg(EAX, e.size);
  let t = false;
  if (src && count) t = t || e.st.getMem(span(si)[0], span(si)[1] - span(si)[0]).t;
  if (compares && count) t = t || (kind === 'scas' ? acc.t : false) || e.st.getMem(span(di)[0], span(di)[1] - span(di)[0]).t;
  // REPE/REPNE stop on a comparison: when that may involve an undefined value, so does how far
  // the instruction gets, and a fault at the end of the range must not depend on it.
  if (compares && rep && t && faulting) throw INFEASIBLE;
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
