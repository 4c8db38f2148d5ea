/**
 * ModRM memory operands for the generator (SDM Vol. 2A §2.1.5, Tables 2-2 and 2-3; 32-bit
 * addressing only). `chooseMem` picks an addressing form — absolute disp32, [base],
 * [base+disp8/32], or SIB [base+index*scale+disp] — built from registers whose values are known
 * at that point, with a displacement computed so the access lands inside a buffer.
 * `randomMem` builds any form at all, for instructions that never access memory (LEA, hint NOPs).
 */
import { DATA_BUF, DATA_BUF_SIZE, EDGES, STACK_BUF, STACK_BUF_SIZE } from './layout.ts';
import type { Rng } from './rng.ts';
import type { AState } from './state.ts';

export interface MemForm {
  mod: number;
  rm: number;
  sib: number | undefined;
  disp: number;
  dispBytes: 0 | 1 | 4;
  /** Effective address (offset; segments are flat). */
  ea: number;
  /** Registers used (-1: none), and the scale as a shift. */
  base: number;
  index: number;
  scale: number;
}

/** What the instruction accesses relative to the effective address. */
export interface Access {
  bytes: number;
  /** The access starts at ea + adj (BT's bit-string offset). */
  adj?: number;
  /** ESP as a base reads as its known value + espDelta (POP r/m computes after the pop). */
  espDelta?: number;
  /** Restrict to one buffer. */
  region?: 'data' | 'stack';
  /** Aim at a mapped/unmapped (or writable/read-only) page boundary instead (paging only). */
  edge?: boolean;
}

const REGIONS = [
  { name: 'data', start: DATA_BUF, end: DATA_BUF + DATA_BUF_SIZE },
  { name: 'stack', start: STACK_BUF, end: STACK_BUF + STACK_BUF_SIZE },
] as const;

function valid(ea: number, a: Access): boolean {
  const at = (ea + (a.adj ?? 0)) >>> 0;
  if (a.edge) return EDGES.some((e) => at + a.bytes > e - 24 && at < e + 24);
  for (const r of REGIONS) {
    if ((a.region === undefined || a.region === r.name) && at >= r.start && at + a.bytes <= r.end) return true;
  }
  return false;
}

/** A random valid effective address: often aligned to the access size. */
function place(rng: Rng, a: Access): number {
  if (a.edge) return (rng.pick(EDGES) + rng.range(-a.bytes - 8, 8) - (a.adj ?? 0)) >>> 0;
  const r = a.region === 'stack' ? REGIONS[1] : a.region === 'data' ? REGIONS[0] : rng.chance(0.8) ? REGIONS[0] : REGIONS[1];
  let at = r.start + rng.int(r.end - r.start - a.bytes + 1);
  if (rng.chance(0.5)) at &= ~(Math.min(a.bytes, 4) - 1);
  return (at - (a.adj ?? 0)) >>> 0;
}

export function memBytes(reg: number, m: MemForm): number[] {
  const out = [(m.mod << 6) | (reg << 3) | m.rm];
  if (m.sib !== undefined) out.push(m.sib);
  if (m.dispBytes === 1) out.push(m.disp & 0xff);
  else if (m.dispBytes === 4) out.push(m.disp & 0xff, (m.disp >>> 8) & 0xff, (m.disp >>> 16) & 0xff, (m.disp >>> 24) & 0xff);
  return out;
}

/** Pick a displacement for sum S: none, disp8 or disp32. Returns undefined when impossible. */
function fitDisp(rng: Rng, a: Access, sum: number, dispBytes: 0 | 1 | 4): { disp: number; ea: number } | undefined {
  if (dispBytes === 0) return valid(sum, a) ? { disp: 0, ea: sum } : undefined;
  if (dispBytes === 4) {
    const ea = place(rng, a);
    return { disp: (ea - sum) | 0, ea };
  }
  for (let tries = 0; tries < 6; tries++) {
    // Aim at a valid address near the sum, then check it is reachable with 8 bits.
    const d = tries < 3 ? rng.range(-128, 127) : ((place(rng, a) - sum) | 0);
    if (d >= -128 && d <= 127 && valid((sum + d) >>> 0, a)) return { disp: d, ea: (sum + d) >>> 0 };
  }
  return undefined;
}

/** A memory operand whose access lands in a buffer, or undefined if none could be built. */
export function chooseMem(st: AState, rng: Rng, a: Access): MemForm {
  const knownVal = (r: number): number | undefined => {
    const v = st.known(r);
    return v === undefined ? undefined : r === 4 ? (v + (a.espDelta ?? 0)) >>> 0 : v;
  };
  const knownRegs: number[] = [];
  for (let r = 0; r < 8; r++) if (knownVal(r) !== undefined) knownRegs.push(r);
  for (let tries = 0; tries < 8 && knownRegs.length > 0; tries++) {
    const kind = rng.int(4);
    const dispBytes = rng.pick([0, 1, 1, 4] as const);
    if (kind === 0) {
      // [base], [base+disp8], [base+disp32]: no SIB, so base ≠ ESP; mod 0 with EBP means disp32.
      const base = rng.pick(knownRegs);
      if (base === 4 || (base === 5 && dispBytes === 0)) continue;
      const d = fitDisp(rng, a, knownVal(base)!, dispBytes);
      if (!d) continue;
      return { mod: dispBytes === 0 ? 0 : dispBytes === 1 ? 1 : 2, rm: base, sib: undefined, ...d, dispBytes, base, index: -1, scale: 0 };
    }
    // SIB: base (or none, with mod 0 and base 5: disp32 only), index (none when 4), scale.
    const noBase = kind === 1 && rng.chance(0.3);
    const base = noBase ? 5 : rng.pick(knownRegs);
    const indexChoices = knownRegs.filter((r) => r !== 4);
    const index = kind === 3 || indexChoices.length === 0 ? 4 : rng.pick(indexChoices);
    const scale = rng.int(4);
    let mod: number;
    let db: 0 | 1 | 4;
    if (noBase) {
      mod = 0;
      db = 4;
    } else if (base === 5 && dispBytes === 0) {
      continue;
    } else {
      mod = dispBytes === 0 ? 0 : dispBytes === 1 ? 1 : 2;
      db = dispBytes;
    }
    const sum = ((noBase ? 0 : knownVal(base)!) + (index === 4 ? 0 : knownVal(index)! << scale)) >>> 0;
    const d = fitDisp(rng, a, sum, db);
    if (!d) continue;
    return {
      mod, rm: 4, sib: (scale << 6) | (index << 3) | base, ...d, dispBytes: db,
      base: noBase ? -1 : base, index: index === 4 ? -1 : index, scale,
    };
  }
  // Absolute: always possible.
  const ea = place(rng, a);
  return { mod: 0, rm: 5, sib: undefined, disp: ea | 0, dispBytes: 4, ea, base: -1, index: -1, scale: 0 };
}

/**
 * Any 32-bit memory form with any registers (the instruction must not access memory). Returns
 * the form with `ea` computed when every register it uses is known (else NaN) and whether a
 * register it uses is tainted.
 */
export function randomMem(st: AState, rng: Rng): { m: MemForm; known: boolean; tainted: boolean } {
  const mod = rng.int(3);
  const rm = rng.int(8);
  let sib: number | undefined;
  let base = rm;
  let index = -1;
  let scale = 0;
  let dispBytes: 0 | 1 | 4 = mod === 1 ? 1 : mod === 2 ? 4 : 0;
  if (rm === 4) {
    sib = rng.int(256);
    scale = sib >> 6;
    index = (sib >> 3) & 7;
    if (index === 4) index = -1;
    base = sib & 7;
    if (base === 5 && mod === 0) {
      base = -1;
      dispBytes = 4;
    }
  } else if (rm === 5 && mod === 0) {
    base = -1;
    dispBytes = 4;
  }
  const disp = dispBytes === 1 ? rng.range(-128, 127) : dispBytes === 4 ? rng.value(32) | 0 : 0;
  let known = true;
  let tainted = false;
  let ea = disp;
  for (const [r, sh] of [[base, 0], [index, scale]] as const) {
    if (r < 0) continue;
    if (st.taint[r] !== 0) tainted = true;
    const v = st.known(r);
    if (v === undefined) known = false;
    else ea = (ea + (v << sh)) | 0;
  }
  return { m: { mod, rm, sib, disp, dispBytes, ea: known ? ea >>> 0 : NaN, base, index, scale }, known, tainted };
}
