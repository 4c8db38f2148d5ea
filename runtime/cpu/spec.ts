/**
 * The opcode table's record type. The table is data: the decoder reads operand encodings from
 * `operands` (Intel's notation, SDM Vol. 2 Appendix A), the interpreter compiles `body`, the
 * fuzzer generates encodings from the same records, and the translation tier will inline the
 * same bodies.
 */
import type { Body } from './templates.ts';

export interface OpSpec {
  /** 0x00–0xff: one-byte map; 0x100–0x1ff: the 0F map. */
  op: number;
  /** For group opcodes: the ModRM.reg value selecting this entry. */
  ext?: number;
  name: string;
  /**
   * Operands, e.g. 'Ev,Gv'. Addressing: E (ModRM r/m), G (ModRM reg), M (memory only), R (ModRM
   * r/m register, mod ignored), S (segment register in reg), C/D (control/debug register in reg),
   * I (immediate), J (relative offset), O (moffs), A (far pointer); sizes b, w, d, v (operand
   * size), z (16 or 32), p (far pointer); 'Ibs' is a sign-extended byte immediate.
   * Plain names (AL, eAX, CL, 1) are implicit.
   */
  operands: string;
  body: Body;
  /** Operand width: 'b' (8), 'w' (16), 'd' (32), 'v' (operand size: the default). */
  width?: 'b' | 'w' | 'd' | 'v';
  /** 'jump': sets EIP itself; 'stop': ends the block (mode changes), EIP falls through. */
  kind?: 'jump' | 'stop';
  /** A string instruction: REP prefixes select a looping form that sets EIP itself. */
  string?: boolean;
  /** LOCK prefix allowed (with a memory destination). */
  lock?: boolean;
  /** How hot the opcode is in gcc-compiled code: 3 hot, 2 warm, 1 rare (a guide for tuning). */
  hot?: 1 | 2 | 3;
}
