/**
 * The decoder: bytes → Insn records → blocks, driven by the opcode table (table.ts), and the
 * code cache of decoded blocks keyed by machine address, invalidated when their frame is
 * written (mem/ marks code frames; every writer honours the mark).
 */
import type { Cpu } from './cpu.ts';
import { Block, Insn, type Handler } from './insn.ts';
import { HAS_MODRM, MAP } from './table.ts';
import type { OpSpec } from './spec.ts';
import { compile, type Form } from './templates.ts';
import { CpuFault } from './fault.ts';
import { GP, UD } from './constants.ts';
import type { CodeInvalidator, MachineMemory } from '../mem/machine.ts';

/** Decoded instruction lists by code bytes (see decodeBlock). */
const sharedDecodes = new Map<string, Insn[]>();
const MAX_SHARED = 65536;

const MAX_BLOCK_INSNS = process.env.XENOFORM_CPU_STEP ? 1 : 64;
const NEEDS_MORE = -1;

export class CodeCache implements CodeInvalidator {
  private readonly blocks = new Map<number, Block>();
  private readonly byFrame = new Map<number, Block[]>();

  constructor(readonly mem: MachineMemory) {
    mem.addInvalidator(this);
  }

  get(phys: number): Block | undefined {
    return this.blocks.get(phys);
  }

  add(block: Block): void {
    const mfn = Math.floor(block.phys / 4096);
    this.blocks.set(block.phys, block);
    let list = this.byFrame.get(mfn);
    if (!list) this.byFrame.set(mfn, (list = []));
    list.push(block);
    this.mem.markCode(mfn);
  }

  invalidateFrame(mfn: number): void {
    const list = this.byFrame.get(mfn);
    if (!list) return;
    for (const b of list) {
      b.valid = false;
      if (this.blocks.get(b.phys) === b) this.blocks.delete(b.phys);
    }
    this.byFrame.delete(mfn);
  }

  get size(): number {
    return this.blocks.size;
  }
}

// ---- handlers -------------------------------------------------------------------------------

const raiseUD: Handler = (c) => c.fault(UD);
const raiseGP: Handler = (c) => c.fault(GP, 0);
const handlerCache = new Map<OpSpec, Handler[]>();

function handlerFor(spec: OpSpec, f: Form): Handler {
  const key = (f.size === 8 ? 0 : f.size === 16 ? 1 : 2) * 16 + (f.mem ? 8 : 0) + (f.osize === 16 ? 4 : 0) + (f.rep ?? 0);
  let list = handlerCache.get(spec);
  if (!list) handlerCache.set(spec, (list = []));
  return (list[key] ??= compile(spec.body, f, spec.name));
}

/** Operand codes that are immediates (all others are implicit or ModRM-encoded). */
const IMMEDIATES = new Set(['Ib', 'Ibs', 'Iw', 'Iz', 'Iv', 'Jb', 'Jz', 'Ap']);

const byteIndex = (r: number): number => (r < 4 ? r * 4 : (r - 4) * 4 + 1);

/** Where instruction bytes come from: `at(k)` is byte k of the instruction, or -1 past the end. */
interface Bytes {
  at(k: number): number;
}

export interface Decoded {
  insn: Insn;
  /** Ends its block: 'jump' (sets EIP), 'stop' (falls through), or undefined. */
  kind: 'jump' | 'stop' | undefined;
}

/**
 * Decode one instruction. Returns NEEDS_MORE when its bytes run past what `bytes` holds.
 * Invalid encodings decode to an instruction that raises #UD (or #GP for one over 15 bytes).
 */
export function decodeInsn(bytes: Bytes): Decoded | typeof NEEDS_MORE {
  let pos = 0;
  let osize: 16 | 32 = 32;
  let seg = -1;
  let rep = 0;
  let lock = false;
  let b: number;
  const next = (): number => {
    const v = bytes.at(pos++);
    if (v < 0) throw NEEDS_MORE;
    return v;
  };
  try {
    for (;;) {
      if (pos >= 15) return fail(raiseGP, pos);
      b = next();
      if (b === 0x66) osize = 16;
      else if (b === 0xf0) lock = true;
      else if (b === 0xf2) rep = 2;
      else if (b === 0xf3) rep = 1;
      else if (b === 0x26) seg = 0;
      else if (b === 0x2e) seg = 1;
      else if (b === 0x36) seg = 2;
      else if (b === 0x3e) seg = 3;
      else if (b === 0x64) seg = 4;
      else if (b === 0x65) seg = 5;
      else break;
    }
    if (b === 0x67) return fail(raiseUD, pos); // 16-bit addressing is not supported
    let op = b;
    if (op === 0x0f) op = 0x100 | next();
    const entry = MAP[op];
    const i = new Insn(raiseUD);
    i.op = op;
    i.osize = osize;
    i.rep = rep;
    i.lock = lock;
    let spec: OpSpec | undefined;
    let hasMem = false;
    if (HAS_MODRM[op]) {
      const m = next();
      const mod = m >> 6;
      i.reg = (m >> 3) & 7;
      i.rm = m & 7;
      i.reg8 = byteIndex(i.reg);
      i.rm8 = byteIndex(i.rm);
      spec = Array.isArray(entry) ? entry[i.reg] : entry;
      if (spec && /(^|,)R[a-z]/.test(spec.operands)) {
        i.regForm = true; // MOV CRn/DRn ignore mod (SDM Vol. 2B "MOV—Move to/from Control Registers")
      } else if (mod === 3) {
        i.regForm = true;
      } else {
        hasMem = true;
        let base = i.rm;
        if (i.rm === 4) {
          const sib = next();
          i.scale = sib >> 6;
          const index = (sib >> 3) & 7;
          i.index = index === 4 ? 8 : index;
          base = sib & 7;
          if (base === 5 && mod === 0) {
            base = 8;
            i.disp = next() | (next() << 8) | (next() << 16) | (next() << 24);
          }
        } else if (i.rm === 5 && mod === 0) {
          base = 8;
          i.disp = next() | (next() << 8) | (next() << 16) | (next() << 24);
        }
        i.base = base;
        if (mod === 1) i.disp = (next() << 24) >> 24;
        else if (mod === 2) i.disp = next() | (next() << 8) | (next() << 16) | (next() << 24);
        i.seg = seg >= 0 ? seg : base === 4 || base === 5 ? 2 : 3;
      }
    } else {
      spec = Array.isArray(entry) ? undefined : entry;
      i.seg = seg >= 0 ? seg : 3;
    }
    if (!spec) return fail(raiseUD, pos);
    // Operands: register-in-opcode, memory-only checks, immediates in order.
    let nimm = 0;
    for (const o of spec.operands.split(',')) {
      if (o === '') continue;
      const a = o[0]!;
      if (a === 'Z') {
        i.rm = op & 7;
        i.rm8 = byteIndex(i.rm);
        i.regForm = true;
      } else if (a === 'M' && i.regForm) {
        return fail(raiseUD, pos);
      } else if (a === 'O') {
        hasMem = true;
        i.base = 8;
        i.disp = next() | (next() << 8) | (next() << 16) | (next() << 24);
      } else if (IMMEDIATES.has(o)) {
        let v: number;
        if (o === 'Ib' || o === 'Jb') v = o === 'Jb' ? (next() << 24) >> 24 : next();
        else if (o === 'Ibs') v = (next() << 24) >> 24;
        else if (o === 'Iw') v = next() | (next() << 8);
        else if (o === 'Ap') {
          i.imm = osize === 32 ? next() | (next() << 8) | (next() << 16) | (next() << 24) : next() | (next() << 8);
          i.imm2 = next() | (next() << 8);
          continue;
        } else if (osize === 16) v = o[0] === 'J' ? ((next() | (next() << 8)) << 16) >> 16 : next() | (next() << 8);
        else v = next() | (next() << 8) | (next() << 16) | (next() << 24);
        if (nimm++ === 0) i.imm = v;
        else i.imm2 = v;
      }
    }
    // Length > 15 outranks invalid-opcode (SDM Vol. 3 §6.9, Table 6-2).
    if (pos > 15) return fail(raiseGP, pos);
    if (lock && (!spec.lock || !hasMem)) return fail(raiseUD, pos);
    const size = spec.width === 'b' ? 8 : spec.width === 'w' ? 16 : spec.width === 'd' ? 32 : osize;
    const form: Form = { size, mem: hasMem, osize, rep: spec.string ? rep : 0 };
    i.fn = handlerFor(spec, form);
    i.len = pos;
    const kind = spec.kind ?? (spec.string && rep ? 'jump' : undefined);
    return { insn: i, kind };
  } catch (e) {
    if (e === NEEDS_MORE) return NEEDS_MORE;
    throw e;
  }
}

/** An instruction that faults when executed; it ends its block. */
function fail(fn: Handler, len: number): Decoded {
  const i = new Insn(fn);
  i.len = len;
  return { insn: i, kind: 'jump' };
}

/**
 * Decode the block starting at linear `eip` (machine address `phys`, page bytes at
 * `u8[base..base+4095]`). A block never crosses its page; an instruction that does is decoded
 * on its own through linear fetches into an uncached block.
 */
export function decodeBlock(cpu: Cpu, eip: number, phys: number, u8: Uint8Array, base: number): Block {
  const insns: Insn[] = [];
  let off = eip & 0xfff;
  const start = off;
  let endsInJump = false;
  const bytes: Bytes = { at: (k) => (off + k < 4096 ? u8[base + off + k]! : -1) };
  while (insns.length < MAX_BLOCK_INSNS) {
    const d = decodeInsn(bytes);
    if (d === NEEDS_MORE) break;
    d.insn.off = off - start;
    insns.push(d.insn);
    off += d.insn.len;
    if (d.kind !== undefined) {
      endsInJump = d.kind === 'jump';
      break;
    }
    if (off >= 4096) break;
  }
  if (insns.length === 0) return decodeCrossing(cpu, eip);
  // Identical code (the same kernel in many domains) shares one decoded instruction list:
  // decoding is a pure function of the bytes and the decoded records are position-independent.
  const key = String.fromCharCode.apply(null, u8.subarray(base + start, base + off) as unknown as number[]);
  let shared = sharedDecodes.get(key);
  if (shared === undefined) {
    // Bounded: past the cap the index starts afresh (blocks keep the lists they hold).
    if (sharedDecodes.size >= MAX_SHARED) sharedDecodes.clear();
    sharedDecodes.set(key, (shared = insns));
  }
  const block = new Block(phys, shared, off - start, endsInJump);
  cpu.code.add(block);
  return block;
}

/** The one instruction at `eip` that straddles a page boundary, fetched byte by byte. */
function decodeCrossing(cpu: Cpu, eip: number): Block {
  const fetched: number[] = [];
  const bytes: Bytes = {
    at: (k) => {
      if (k >= 15) return -1;
      while (fetched.length <= k) fetched.push(cpu.mmu.fetch8((eip + fetched.length) | 0));
      return fetched[k]!;
    },
  };
  const d = decodeInsn(bytes);
  if (d === NEEDS_MORE) throw new CpuFault(GP, 0);
  return new Block(-1, [d.insn], d.insn.len, d.kind === 'jump');
}
