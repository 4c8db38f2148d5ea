/**
 * Helpers shared by the family emitters (families/*.ts): register numbers, abstract-value
 * shorthands, the exact arithmetic the generator follows, and operand-token resolution.
 */
import type { Emit, Loc } from '../emit.ts';
import { sizeMask, type AV, type Size } from '../state.ts';

export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
export const TF = 0x100, AC = 0x40000;

export const sx = (v: number, s: Size): number => (s === 32 ? v | 0 : s === 16 ? (v << 16) >> 16 : (v << 24) >> 24);
export const taint = (...avs: AV[]): boolean => avs.some((a) => a.t);
export const unknown = (t: boolean): AV => ({ v: undefined, t });

/** Exact result of the operations the generator follows, or undefined. */
export function evaluate(name: string, size: Size, a: AV, b: AV): number | undefined {
  if (a.v === undefined || (b.v === undefined && name !== 'inc' && name !== 'dec' && name !== 'not' && name !== 'neg')) return undefined;
  const x = a.v, y = b.v ?? 0;
  let r: number;
  switch (name) {
    case 'add': r = x + y; break;
    case 'sub': r = x - y; break;
    case 'and': r = x & y; break;
    case 'or': r = x | y; break;
    case 'xor': r = x ^ y; break;
    case 'inc': r = x + 1; break;
    case 'dec': r = x - 1; break;
    case 'not': r = ~x; break;
    case 'neg': r = -x; break;
    default: return undefined;
  }
  return (r & sizeMask(size)) >>> 0;
}

/** Resolve an operand token of a generic two/three-operand instruction. */
export function operand(e: Emit, tok: string, access: 'r' | 'w' | 'rw'): Loc {
  const s = e.sizeOf(tok);
  switch (tok[0]) {
    case 'E': return e.E(s, access);
    case 'G': return e.G(s, access);
    case 'I': return e.immTok(tok, s);
  }
  if (tok === 'AL' || tok === 'eAX') return e.fixed(EAX, s);
  if (tok === 'CL') return e.fixed(ECX, 8);
  if (tok === 'DX') return e.fixed(EDX, 16);
  if (tok === '1') return { kind: 'imm', v: 1, size: 8 };
  if (tok === 'Zv' || tok === 'Zb') return e.fixed(e.t.spec.op & 7, s);
  throw new Error(`fuzz: operand ${tok} of ${e.t.spec.name} not handled`);
}

export const toks = (e: Emit): string[] => e.t.spec.operands.split(',').filter((x) => x !== '');
