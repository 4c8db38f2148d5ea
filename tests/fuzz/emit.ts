/**
 * Emitting one instruction: an `Emit` is handed to a family's emitter (families/), which picks
 * operands through it — each pick both shapes the encoding and reads or updates the abstract
 * state (state.ts) — and then assembles the bytes from the opcode table record.
 *
 * An emitter that cannot be satisfied in the current state throws `Need` (the generator inserts
 * a setup instruction — MOV reg, imm; CMP to define flags; PUSH imm for POPF — and retries) or
 * `INFEASIBLE` (the generator picks another instruction).
 */
import type { OpSpec } from '../../runtime/cpu/spec.ts';
import { HAS_MODRM } from '../../runtime/cpu/table.ts';
import { chooseMem, memBytes, randomMem, type Access, type MemForm } from './encode.ts';
import { DATA_BUF, DATA_BUF_SIZE, EDGES, PAGES_SIZE, STACK_BUF, STACK_BUF_SIZE, STACK_PAGES, mapped } from './layout.ts';
import type { Rng } from './rng.ts';
import { sizeMask, type AState, type AV, type Size } from './state.ts';

export class Need {
  constructor(
    readonly kind: 'reg' | 'flags' | 'safeFlags',
    readonly reg = -1,
    readonly value = 0,
  ) {}
}
export const INFEASIBLE = Symbol('infeasible');

export type Loc =
  | { kind: 'reg'; r: number; size: Size }
  | { kind: 'mem'; ea: number; size: Size; bytes: number }
  | { kind: 'imm'; v: number; size: Size };

export type Access4 = 'r' | 'w' | 'rw' | 'n';

/** Whether [addr, addr+bytes) is within a few bytes of a page edge the generator aims at. */
export function nearEdge(addr: number, bytes: number): boolean {
  addr >>>= 0;
  return EDGES.some((e) => addr + bytes > e - 64 && addr < e + 64);
}

/** Whether [addr, addr+bytes) lies in one of the random buffers. */
export function inBuffers(addr: number, bytes: number): boolean {
  addr >>>= 0;
  return (addr >= DATA_BUF && addr + bytes <= DATA_BUF + DATA_BUF_SIZE) || (addr >= STACK_BUF && addr + bytes <= STACK_BUF + STACK_BUF_SIZE);
}

export interface Template {
  spec: OpSpec;
  family: string;
  weight: number;
  /** Probability of a 0x66 prefix. */
  osize16: number;
  emit(e: Emit): void;
}

/** Where the instruction sits in the sequence (for jumps). */
export interface SeqPos {
  position: number;
  total: number;
  /** The case runs with paging: accesses beyond the mapped pages fault (as natively). */
  paging: boolean;
}

const SEG_PREFIX = [0x26, 0x2e, 0x36, 0x3e]; // ES CS SS DS (FS/GS have other bases natively)

export class Emit {
  osize: 16 | 32;
  /** Operand width of the instruction. */
  size: Size;
  readonly prefixes: number[] = [];
  lock = false;
  /** Segment override prefix byte, or 0. */
  seg = 0;
  /** ModRM.reg (group extension, G register, CR/DR/Sreg number). */
  reg = 0;
  private rm: MemForm | number | undefined;
  readonly imms: number[] = [];
  memAccess = false;
  memWrite = false;
  /**
   * A transfer to a later position: rel8/rel32 displacement (patched by the generator), or 0
   * bytes for an indirect one whose target address comes from `labelReloc`.
   */
  jump: { bytes: 0 | 1 | 4; target: number } | undefined;
  /** Bytes of an instruction placed before this one (indirect transfers load their target). */
  readonly preamble: number[] = [];
  /** Store the address of position `target` as a u32 at byte `at` of the preamble. */
  labelReloc: { at: number; target: number } | undefined;
  /** This instruction always ends the case (a fault). */
  endsCase = false;
  /** It may fault: the case may end here, so its state counts for the comparison masks. */
  mayFault = false;
  /** Register bits an implementation may leave changed when it faults (POPA loads some first). */
  readonly faultRegTaint = new Uint32Array(8);
  /** Bytes of a companion instruction appended after this one (self-modifying code). */
  readonly trailer: number[] = [];
  /** Make the disp32 of this instruction's memory operand point into the code: at the start of the trailer + `add`. */
  codeTarget: { add: number } | undefined;
  /** Mnemonic for coverage and listings (prefix-qualified for strings, e.g. 'rep movsw'). */
  mnemonic: string;

  constructor(
    readonly t: Template,
    readonly st: AState,
    readonly rng: Rng,
    readonly pos: SeqPos,
  ) {
    this.osize = rng.chance(t.osize16) ? 16 : 32;
    if (this.osize === 16) this.prefixes.push(0x66);
    const w = t.spec.width;
    this.size = w === 'b' ? 8 : w === 'w' ? 16 : w === 'd' ? 32 : this.osize;
    this.mnemonic = t.spec.name;
    if (t.spec.ext !== undefined) this.reg = t.spec.ext;
  }

  // ---- operands ----------------------------------------------------------------------------

  /** Size of an operand token ('Eb', 'Gv', 'Iz', 'eAX', ...). */
  sizeOf(tok: string): Size {
    if (tok === 'AL' || tok === 'CL') return 8;
    if (tok === 'DX') return 16;
    if (tok === 'eAX') return this.osize;
    const s = tok.slice(1);
    if (s === 'b') return 8;
    if (s === 'w') return 16;
    if (s === 'd') return 32;
    return this.osize;
  }

  /** A register for an operand: ESP rarely as a destination (it would lose the stack). */
  pickReg(size: Size, write: boolean): number {
    if (size === 8 || !write || this.rng.chance(0.03)) return this.rng.int(8);
    return this.rng.pick([0, 1, 2, 3, 5, 6, 7]);
  }

  /** The ModRM r/m operand. */
  E(size: Size, access: Access4, o: { memOnly?: boolean; regOnly?: boolean; bytes?: number; adj?: number; espDelta?: number; region?: 'data' | 'stack' } = {}): Loc {
    const mem = o.memOnly || (!o.regOnly && this.rng.chance(0.5));
    if (!mem) {
      const r = this.pickReg(size, access !== 'r' && access !== 'n');
      this.rm = r;
      return { kind: 'reg', r, size };
    }
    if (access === 'n') {
      const { m } = randomMem(this.st, this.rng);
      this.rm = m;
      return { kind: 'mem', ea: m.ea, size, bytes: 0 };
    }
    const bytes = o.bytes ?? size / 8;
    const edge = this.pos.paging && !o.region && this.rng.chance(0.03);
    const a: Access = { bytes, adj: o.adj, espDelta: o.espDelta, region: o.region, edge };
    const m = chooseMem(this.st, this.rng, a);
    this.rm = m;
    this.memAccess = true;
    if (access !== 'r') this.memWrite = true;
    const at = (m.ea + (o.adj ?? 0)) >>> 0;
    if (edge && !mapped(at, bytes, access !== 'r')) this.endsCase = this.mayFault = true;
    return { kind: 'mem', ea: at, size, bytes };
  }

  /** ModRM r/m as a given register (mod = 3). */
  rmReg(r: number): void {
    this.rm = r;
  }

  /** ModRM r/m as a memory form built elsewhere (LEA, NOP). */
  rmMem(m: MemForm): void {
    this.rm = m;
  }

  /** The ModRM reg operand. */
  G(size: Size, access: Access4): Loc {
    const r = this.pickReg(size, access !== 'r');
    this.reg = r;
    return { kind: 'reg', r, size };
  }

  /** A fixed register operand (AL, eAX, CL, DX, or the register in the opcode). */
  fixed(r: number, size: Size): Loc {
    return { kind: 'reg', r, size };
  }

  /** An immediate of `bytes` bytes; its value is `value` or random. Returns it at `size`. */
  imm(bytes: 1 | 2 | 4, size: Size, value?: number, signExtend = false): Loc {
    const raw = (value ?? this.rng.value(bytes === 1 ? 8 : bytes === 2 ? 16 : 32)) >>> 0;
    for (let k = 0; k < bytes; k++) this.imms.push((raw >>> (8 * k)) & 0xff);
    let v = raw & (bytes === 4 ? 0xffffffff : (1 << (8 * bytes)) - 1);
    if (signExtend && bytes === 1 && v & 0x80) v |= 0xffffff00;
    if (signExtend && bytes === 2 && v & 0x8000) v |= 0xffff0000;
    return { kind: 'imm', v: (v & sizeMask(size)) >>> 0, size };
  }

  /** Immediate for an Iz/Iv/Iw/Ib/Ibs token. */
  immTok(tok: string, size: Size, value?: number): Loc {
    if (tok === 'Ib') return this.imm(1, size, value);
    if (tok === 'Ibs') return this.imm(1, size, value, true);
    if (tok === 'Iw') return this.imm(2, size, value);
    return this.imm(this.osize === 16 ? 2 : 4, size, value);
  }

  read(l: Loc): AV {
    if (l.kind === 'imm') return { v: l.v, t: false };
    if (l.kind === 'reg') return this.st.getReg(l.r, l.size);
    return this.st.getMem(l.ea, l.bytes);
  }

  write(l: Loc, av: AV): void {
    const v = av.v === undefined ? undefined : (av.v & sizeMask(l.size)) >>> 0;
    if (l.kind === 'reg') this.st.setReg(l.r, l.size, { v, t: av.t });
    else if (l.kind === 'mem') this.st.setMem(l.ea, l.bytes, av);
  }

  // ---- requirements -----------------------------------------------------------------------------

  /** Require defined flags; otherwise the generator defines them first. */
  needFlags(mask: number): void {
    if (!this.st.defined(mask)) throw new Need('flags');
  }

  /** Require a register value satisfying `ok`; otherwise ask for `make()` to be loaded. */
  require(r: number, ok: (v: number) => boolean, make: () => number): number {
    const v = this.st.known(r);
    if (v === undefined || !ok(v)) throw new Need('reg', r, make() >>> 0);
    return v;
  }

  /** A fresh ESP in the stack buffer with room both ways. */
  freshEsp(): number {
    const sp = STACK_BUF + 160 + this.rng.int(STACK_BUF_SIZE - 320);
    return this.rng.chance(0.9) ? sp & ~3 : sp;
  }

  /**
   * Require ESP known with `down` bytes free below and `up` bytes readable above. With paging,
   * sometimes an ESP at the edge of the stack pages instead: the access faults, ending the case.
   */
  stackRoom(down: number, up: number): number {
    const sp = this.st.known(4);
    if (sp !== undefined && this.pos.paging && nearEdge(sp - down, down + up) && !mapped(sp - down, down + up, true)) {
      this.endsCase = this.mayFault = true;
      return sp;
    }
    if (this.pos.paging && this.rng.chance(0.01)) {
      const top = this.rng.chance(0.5);
      throw new Need('reg', 4, top ? STACK_PAGES + PAGES_SIZE - up + this.rng.range(1, 4) : STACK_PAGES + down - this.rng.range(1, 4));
    }
    return this.require(4, (v) => inBuffers(v - down, down + up), () => this.freshEsp());
  }

  push(bytes: 2 | 4, av: AV): number {
    const sp = (this.stackRoom(bytes, 0) - bytes) >>> 0;
    this.st.setMem(sp, bytes, av);
    this.st.val[4] = sp;
    return sp;
  }

  pop(bytes: 2 | 4): AV {
    const sp = this.stackRoom(0, bytes);
    const av = this.st.getMem(sp, bytes);
    this.st.val[4] = (sp + bytes) >>> 0;
    return av;
  }

  // ---- prefixes ---------------------------------------------------------------------------------

  /** A LOCK prefix, sometimes, when the instruction may take one (memory destination). */
  maybeLock(p = 0.3): void {
    if (this.t.spec.lock && this.memWrite && this.rng.chance(p)) this.lock = true;
  }

  /**
   * A segment override: usually on memory operands, rarely elsewhere (ignored there). CS only
   * when the overridden access is a read (CS is not writable); `any`: nothing is accessed, so FS
   * and GS too.
   */
  maybeSeg(o: { any?: boolean; readOnly?: boolean } = {}): void {
    const p = this.memAccess || o.any ? 0.3 : 0.02;
    if (!this.rng.chance(p)) return;
    const choices = this.memWrite && !o.readOnly ? SEG_PREFIX.filter((s) => s !== 0x2e) : SEG_PREFIX;
    this.seg = this.rng.pick(o.any ? [...SEG_PREFIX, 0x64, 0x65] : choices);
  }

  // ---- assembly -----------------------------------------------------------------------------------

  /** The instruction bytes; `jumpAt` is where a jump's displacement starts. */
  assemble(): { bytes: number[]; jumpAt: number; codeReloc?: { at: number; add: number }; labelReloc?: { at: number; target: number } } {
    const pre = [...this.prefixes];
    if (this.lock) pre.push(0xf0);
    if (this.seg) pre.push(this.seg);
    // Prefixes may come in any order (SDM Vol. 2A §2.1.1); shuffle them.
    for (let k = pre.length - 1; k > 0; k--) {
      const j = this.rng.int(k + 1);
      [pre[k], pre[j]] = [pre[j]!, pre[k]!];
    }
    const op = this.t.spec.op;
    const out = [...this.preamble, ...pre, ...(op > 0xff ? [0x0f, op & 0xff] : [op])];
    let dispAt = -1;
    if (HAS_MODRM[op]) {
      const rm = this.rm ?? this.rng.int(8);
      if (typeof rm === 'number') out.push(0xc0 | (this.reg << 3) | rm);
      else {
        dispAt = out.length + 1 + (rm.sib !== undefined ? 1 : 0);
        out.push(...memBytes(this.reg, rm));
      }
    }
    out.push(...this.imms);
    const jumpAt = out.length;
    if (this.jump) for (let k = 0; k < this.jump.bytes; k++) out.push(0);
    // A code address is relative to the instruction's own offset: the generator adds the rest.
    const codeReloc = this.codeTarget ? { at: dispAt, add: out.length + this.codeTarget.add } : undefined;
    out.push(...this.trailer);
    return { bytes: out, jumpAt, codeReloc, labelReloc: this.labelReloc };
  }
}
