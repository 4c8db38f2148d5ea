/**
 * Hand-written cases: the minimal reproducers of known failures, and ad-hoc cases from the CLI
 * (`npm run fuzz -- --code 'f7 f1' --regs eax=1,ecx=0`). Nothing is masked in them.
 */
import { compareCase, describe, type Verdict } from './compare.ts';
import { EmulatorRunner } from './emulator.ts';
import type { GeneratedCase } from './generate.ts';
import { initialShadow, REG_NAMES, SHADOW_SIZE, STACK_BUF, type EmulatedResult, type NativeResult } from './layout.ts';
import { runNative } from './native.ts';

export interface HandCase {
  /** Instruction bytes in hex (spaces allowed); the closing int3 is appended. */
  code: string;
  /** Register values by name; unspecified ones are 0, ESP is in the stack buffer. */
  regs?: Partial<Record<string, number>>;
  eflags?: number;
  paging?: boolean;
  jit?: boolean;
  codeAddr?: number;
  memSeed?: number;
  /** The instructions, for matchers that look at mnemonics: [mnemonic, length]. */
  insns?: [string, number][];
}

export function handCase(h: HandCase): GeneratedCase {
  const bytes = [...Buffer.from(h.code.replace(/\s+/g, ''), 'hex'), 0xcc];
  const regs = new Uint32Array(8);
  regs[4] = STACK_BUF + 0x200;
  for (const [name, v] of Object.entries(h.regs ?? {})) {
    const r = REG_NAMES.indexOf(name);
    if (r < 0) throw new Error(`unknown register ${name}`);
    regs[r] = v! >>> 0;
  }
  let off = 0;
  const listing = (h.insns ?? []).map(([mnemonic, len]) => {
    const l = { off, len, mnemonic, family: 'hand', setup: false };
    off += len;
    return l;
  });
  listing.push({ off: bytes.length - 1, len: 1, mnemonic: 'int3', family: 'end', setup: true });
  return {
    seed: 0,
    index: 0,
    input: { codeAddr: h.codeAddr ?? 0x10000000, code: Uint8Array.from(bytes), regs, eflags: h.eflags ?? 0x2, memSeed: h.memSeed ?? 1, paging: h.paging ?? true, jit: h.jit ?? false },
    listing,
    masks: { regTaint: new Uint32Array(8), undefFlags: 0, memTaint: [] },
  };
}

export interface Ran {
  verdict: Verdict;
  native: NativeResult;
  emulated: EmulatedResult;
  report: string;
}

/** Run one case natively (its own harness process) and emulated, and compare. */
export function runOne(g: GeneratedCase): Ran {
  const native = runNative([g.input]);
  const initial = initialShadow(g.input.memSeed);
  const emulated = new EmulatorRunner(native.selectors, g.input.paging, g.input.jit).run(g.input, initial);
  const n = native.results[0]!;
  const verdict = compareCase(g, initial, n, emulated, new Uint8Array(SHADOW_SIZE));
  return { verdict, native: n, emulated, report: describe(g, verdict, n, emulated) };
}

/** Parse 'eax=1,ecx=0x10' into register values. */
export function parseRegs(s: string | undefined): Partial<Record<string, number>> {
  const out: Partial<Record<string, number>> = {};
  for (const part of (s ?? '').split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    out[k!.trim()] = Number(v);
  }
  return out;
}
