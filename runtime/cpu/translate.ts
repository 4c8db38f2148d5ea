/**
 * The translation tier: a block that has run often is compiled into one JavaScript function
 * by pasting its instructions' template sources (templates.ts) one after another, with every
 * decoded field (`i.rm`, `i.disp`, `i.imm`, …) replaced by its constant. V8 then optimizes the
 * block as a whole: no per-instruction dispatch, constant registers and addresses.
 *
 * Same contract as the interpreter loop: EIP holds the block's start while it runs; the
 * function records how many instructions completed in `c.exitK` (all of them, or fewer when
 * an instruction asked to stop the block) and, when an instruction faults, which one in
 * `c.faultK` before the fault propagates.
 */
import type { Cpu } from './cpu.ts';
import type { Block, Insn } from './insn.ts';
import { EA, SOURCE } from './templates.ts';
import { H } from './helpers.ts';

/** Executions after which a block is translated. */
export const HOT_THRESHOLD = 16;

const FIELDS = /\bi\.(rm8|reg8|rm|reg|seg|base|index|scale|disp|imm2|imm|off|len|osize|rep|lock|regForm)\b/g;
/** Instructions that may end a block early (write memory: self-modifying code; call helpers). */
const MAY_STOP = /write|H\.|c\.(set|halt|request|deliver|fault|mmu)/;

function effectiveAddress(i: Insn): string {
  const parts = [`c.segBase[${i.seg}]`];
  if (i.base !== 8) parts.push(`c.r32[${i.base}]`);
  if (i.index !== 8) parts.push(i.scale ? `(c.r32[${i.index}] << ${i.scale})` : `c.r32[${i.index}]`);
  if (i.disp !== 0) parts.push(`(${i.disp})`);
  return `((${parts.join(' + ')}) | 0)`;
}

function specialize(i: Insn, src: string): string {
  return src.split(EA).join(effectiveAddress(i)).replace(FIELDS, (_m, f: string) => {
    const v = (i as unknown as Record<string, number | boolean>)[f]!;
    return typeof v === 'boolean' ? String(v) : `(${v})`;
  });
}

/**
 * Translations by source text. Blocks are position-independent, so every copy of the same
 * code — the same kernel in a thousand domains — shares one compiled function.
 */
const compiled = new Map<string, (c: Cpu) => void>();
/** Bounded: past the cap the index starts afresh (blocks keep the functions they hold). */
const MAX_COMPILED = 16384;

/** Compile a block; returns undefined if some instruction has no template source. */
export function translate(block: Block): ((c: Cpu) => void) | undefined {
  const n = block.insns.length;
  let body = '';
  for (let k = 0; k < n; k++) {
    const i = block.insns[k]!;
    const src = SOURCE.get(i.fn);
    if (src === undefined) return undefined;
    if (k === n - 1) {
      body += `k = ${k}; c.exitK = ${n}; { ${specialize(i, src)} }\n`;
    } else {
      body += `k = ${k}; { ${specialize(i, src)} }\n`;
      if (MAY_STOP.test(src)) body += `if (c.stopBlock) { c.exitK = ${k + 1}; return; }\n`;
    }
  }
  let fn = compiled.get(body);
  if (fn === undefined) {
    const src = `"use strict"; return function block(c) { let k = 0; try {\n${body}} catch (e) { c.faultK = k; throw e; } };`;
    fn = new Function('H', src)(H) as (c: Cpu) => void;
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(body, fn);
  }
  return fn;
}
