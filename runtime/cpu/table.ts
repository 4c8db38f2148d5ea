/**
 * The opcode table: every instruction family's records, assembled into the decoder's maps.
 * Building it checks the table itself: two records for one encoding is an error at load time.
 */
import type { OpSpec } from './spec.ts';
import { ALU } from './ops/alu.ts';
import { SHIFT } from './ops/shift.ts';
import { MULDIV } from './ops/muldiv.ts';
import { BITS } from './ops/bits.ts';
import { MOVE } from './ops/move.ts';
import { STACK } from './ops/stack.ts';
import { CONTROL } from './ops/control.ts';
import { STRING } from './ops/string.ts';
import { BCD } from './ops/bcd.ts';
import { SYS } from './ops/sys.ts';

export const OPCODES: readonly OpSpec[] = [...ALU, ...SHIFT, ...MULDIV, ...BITS, ...MOVE, ...STACK, ...CONTROL, ...STRING, ...BCD, ...SYS];

/** Per opcode: a plain record, or for group opcodes the eight ModRM.reg entries. */
export type MapEntry = OpSpec | (OpSpec | undefined)[] | undefined;

export const MAP: MapEntry[] = new Array(0x200);
/** Per opcode: whether a ModRM byte follows. */
export const HAS_MODRM = new Uint8Array(0x200);

/** ModRM operands: an addressing letter followed by a size letter ('Ev', 'Gb', 'Mq', 'Rd', 'Sw'), not implicit registers like 'DX'. */
const MODRM_OPERAND = /(^|,)[EGMRSCD][a-z]/;

for (const spec of OPCODES) {
  const cur = MAP[spec.op];
  if (spec.ext === undefined) {
    if (cur !== undefined) throw new Error(`opcode table: two records for ${spec.op.toString(16)}`);
    MAP[spec.op] = spec;
  } else {
    if (cur !== undefined && !Array.isArray(cur)) throw new Error(`opcode table: ${spec.op.toString(16)} is both plain and a group`);
    const group = cur ?? (MAP[spec.op] = new Array<OpSpec | undefined>(8));
    if ((group as (OpSpec | undefined)[])[spec.ext] !== undefined) throw new Error(`opcode table: two records for ${spec.op.toString(16)} /${spec.ext}`);
    (group as (OpSpec | undefined)[])[spec.ext] = spec;
  }
  if (spec.ext !== undefined || MODRM_OPERAND.test(spec.operands)) HAS_MODRM[spec.op] = 1;
}

/** Prefix bytes the decoder accepts (SDM Vol. 2A §2.1.1); 0x67 (address size) is not supported. */
export const PREFIXES = [0x66, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
