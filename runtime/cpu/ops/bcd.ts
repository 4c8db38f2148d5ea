/** Decimal arithmetic: DAA, DAS, AAA, AAS, AAM, AAD (SDM Vol. 2A; semantics in helpers.ts). */
import type { OpSpec } from '../spec.ts';

export const BCD: OpSpec[] = [
  { op: 0x27, name: 'daa', operands: '', hot: 1, body: () => 'H.daa(c);' },
  { op: 0x2f, name: 'das', operands: '', hot: 1, body: () => 'H.das(c);' },
  { op: 0x37, name: 'aaa', operands: '', hot: 1, body: () => 'H.aaa(c);' },
  { op: 0x3f, name: 'aas', operands: '', hot: 1, body: () => 'H.aas(c);' },
  { op: 0xd4, name: 'aam', operands: 'Ib', hot: 1, body: () => 'H.aam(c, i.imm & 0xff);' },
  { op: 0xd5, name: 'aad', operands: 'Ib', hot: 1, body: () => 'H.aad(c, i.imm & 0xff);' },
];
