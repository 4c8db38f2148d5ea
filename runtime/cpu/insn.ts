import type { Cpu } from './cpu.ts';

/** An instruction handler: runs one decoded instruction. */
export type Handler = (c: Cpu, i: Insn) => void;

/**
 * One decoded instruction. Every field is set in the constructor, in one order, so all
 * instructions share one hidden class and the interpreter's field loads stay monomorphic.
 */
export class Insn {
  fn: Handler;
  /** Offset of the instruction from the start of its block, and its length in bytes. */
  off = 0;
  len = 0;
  /** Opcode: 0x00–0xff one-byte map, 0x100–0x1ff the 0F map. */
  op = 0;
  /** ModRM.reg and ModRM.rm (register numbers); byte-register indexes into the 8-bit view. */
  reg = 0;
  rm = 0;
  reg8 = 0;
  rm8 = 0;
  /** Memory operand: seg:[base + index<<scale + disp]; absent base/index use register 8 (zero). */
  seg = 3;
  base = 8;
  index = 8;
  scale = 0;
  disp = 0;
  /** Immediates (imm2: ENTER's level, far pointers' selector). */
  imm = 0;
  imm2 = 0;
  /** Operand size (16 or 32) and the REP prefix (0 none, 1 REP/REPE, 2 REPNE). */
  osize = 32;
  rep = 0;
  /** ModRM.mod === 3 (register form), and whether a LOCK prefix was present. */
  regForm = false;
  lock = false;

  constructor(fn: Handler) {
    this.fn = fn;
  }
}

/** How a block's last instruction leaves it. */
export const END_FALLTHROUGH = 0; // loop sets EIP to the block's end
export const END_JUMP = 1; // the instruction set EIP itself

/** A run of decoded instructions from one page, ending at a control transfer or the page end. */
export class Block {
  valid = true;
  /** Times the interpreter ran this block, and its translation once it is hot. */
  hits = 0;
  jit: ((c: Cpu) => void) | undefined = undefined;
  constructor(
    /** Machine (physical) address of the first byte. */
    readonly phys: number,
    readonly insns: Insn[],
    /** Byte length of the block. */
    readonly size: number,
    /** Whether the last instruction sets EIP (control transfer) or falls through. */
    readonly endsInJump: boolean,
  ) {}
}
