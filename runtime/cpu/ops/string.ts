/**
 * String instructions: MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS with REP/REPE/REPNE and DF
 * (SDM Vol. 2 "REP/REPE/REPZ/REPNE/REPNZ" and each instruction). Sources use DS:ESI (segment
 * overridable), destinations ES:EDI. A repeated instruction updates ECX/ESI/EDI per element,
 * so a fault leaves it restartable, and yields after a bounded number of elements by
 * re-executing itself, so a long copy never delays the embedder.
 */
import type { OpSpec } from '../spec.ts';
import { LF, NEXT, SELF, fixed, lazy, tr, type Form, type Size } from '../templates.ts';

const CHUNK = 16384;

const src = 'c.segBase[i.seg] + c.r32[6]';
const dst = 'c.segBase[0] + c.r32[7]';
const rd = (s: Size, a: string): string => `c.read${s}((${a}) | 0)`;
const wr = (s: Size, a: string, v: string): string => `c.write${s}((${a}) | 0, ${v});`;
const advSI = 'c.r32[6] = (c.r32[6] + d) | 0;';
const advDI = 'c.r32[7] = (c.r32[7] + d) | 0;';

type Kind = 'movs' | 'cmps' | 'stos' | 'lods' | 'scas' | 'ins' | 'outs';

function element(kind: Kind, s: Size): string {
  switch (kind) {
    case 'movs': return `${wr(s, dst, rd(s, src))} ${advSI} ${advDI}`;
    case 'stos': return `${wr(s, dst, fixed(s, 0))} ${advDI}`;
    case 'lods': return `${fixed(s, 0)} = ${rd(s, src)}; ${advSI}`;
    case 'cmps': return `const a = ${rd(s, src)}; const b = ${rd(s, dst)}; const res = ${tr(s, 'a - b')}; ${lazy(LF.SUB, s, 'a', 'b', 'res')} ${advSI} ${advDI}`;
    case 'scas': return `const a = ${fixed(s, 0)}; const b = ${rd(s, dst)}; const res = ${tr(s, 'a - b')}; ${lazy(LF.SUB, s, 'a', 'b', 'res')} ${advDI}`;
    case 'ins': return `c.mmu.probeWrite((${dst}) | 0); ${wr(s, dst, `H.portIn(c, c.r16[4], ${s})`)} ${advDI}`;
    case 'outs': return `H.portOut(c, c.r16[4], ${s}, ${rd(s, src)}); ${advSI}`;
  }
}

/** The body for one form; with a REP prefix the instruction loops and sets EIP itself. */
export function stringBody(kind: Kind, f: Form, rep: number): string {
  const s = f.size;
  // INS/OUTS check I/O privilege before anything else, even with ECX = 0 (SDM Vol. 2B INS).
  const step = `${kind === 'ins' || kind === 'outs' ? 'H.iopl(c); ' : ''}const d = (c.flags & 0x400) ? -${s / 8} : ${s / 8};`;
  if (!rep) return `${step} ${element(kind, s)}`;
  const compares = kind === 'cmps' || kind === 'scas';
  const stop = compares ? (rep === 1 ? 'if (res !== 0) break;' : 'if (res === 0) break;') : '';
  return `${step} let budget = ${CHUNK};
    while (c.r32[1] !== 0) {
      if (--budget < 0) { c.eip = ${SELF}; return; }
      ${element(kind, s)}
      c.r32[1] = (c.r32[1] - 1) | 0;
      ${stop}
    }
    c.eip = ${NEXT};`;
}

const KINDS: [number, Kind][] = [[0xa4, 'movs'], [0xa6, 'cmps'], [0xaa, 'stos'], [0xac, 'lods'], [0xae, 'scas'], [0x6c, 'ins'], [0x6e, 'outs']];

export const STRING: OpSpec[] = KINDS.flatMap(([op, kind]): OpSpec[] => [
  { op, name: `${kind}b`, operands: '', width: 'b', string: true, hot: 2, body: (f) => stringBody(kind, f, f.rep ?? 0) },
  { op: op + 1, name: `${kind}d`, operands: '', string: true, hot: 2, body: (f) => stringBody(kind, f, f.rep ?? 0) },
]);
