/**
 * Comparing a case's native and emulated ends, and describing a mismatch so it can be fixed
 * without rerunning anything: seed and case index (to replay), the disassembly, the initial
 * state, and every difference.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARITH6 } from '../../runtime/cpu/flags-table.ts';
import type { GeneratedCase } from './generate.ts';
import { REG_NAMES, applyChanges, diffShadow, shadowAddress, shadowOffset, type EmulatedResult, type NativeResult } from './layout.ts';

/**
 * EFLAGS bits compared (besides the defined arithmetic flags): TF IF DF IOPL NT AC VIF VIP ID.
 * RF is left out (the processor sets it in the image saved for a fault), as are VM and the
 * fixed bits.
 */
export const FLAGS_COMPARED = 0x100 | 0x200 | 0x400 | 0x3000 | 0x4000 | 0x40000 | 0x80000 | 0x100000 | 0x200000;

export interface Verdict {
  ok: boolean;
  diffs: string[];
}

const hex = (v: number, w = 8): string => (v >>> 0).toString(16).padStart(w, '0');

/** Compare one case; `initial` is its initial shadow image, `scratch` a buffer of the same size. */
export function compareCase(g: GeneratedCase, initial: Uint8Array, n: NativeResult, e: EmulatedResult, scratch: Uint8Array): Verdict {
  const diffs: string[] = [];
  if (e.hostError !== undefined) diffs.push(`the emulator threw: ${e.hostError}`);
  if (n.vector !== e.vector) diffs.push(`vector: native ${n.vector}, emulated ${e.vector}`);
  if (n.errorCode !== e.errorCode) diffs.push(`error code: native ${n.errorCode}, emulated ${e.errorCode}`);
  if (n.cr2 !== e.cr2) diffs.push(`cr2: native ${hex(n.cr2)}, emulated ${hex(e.cr2)}`);
  if (n.eip !== e.eip) diffs.push(`eip: native ${hex(n.eip)}, emulated ${hex(e.eip)}`);
  const m = g.masks;
  for (let r = 0; r < 8; r++) {
    const keep = ~m.regTaint[r]! >>> 0;
    if (((n.regs[r]! ^ e.regs[r]!) & keep) !== 0) {
      diffs.push(`${REG_NAMES[r]}: native ${hex(n.regs[r]!)}, emulated ${hex(e.regs[r]!)}${keep !== 0xffffffff ? ` (compared bits ${hex(keep)})` : ''}`);
    }
  }
  const fmask = ((ARITH6 & ~m.undefFlags) | FLAGS_COMPARED) >>> 0;
  if (((n.eflags ^ e.eflags) & fmask) !== 0) {
    diffs.push(`eflags: native ${hex(n.eflags)}, emulated ${hex(e.eflags)}, differing ${flagNames((n.eflags ^ e.eflags) & fmask)} (compared ${hex(fmask)})`);
  }
  const expected = applyChanges(initial, n.changes, scratch);
  for (const a of m.memTaint) {
    const off = shadowOffset(a);
    if (off >= 0) expected[off] = e.memory[off]!;
  }
  const same = Buffer.from(expected.buffer, expected.byteOffset, expected.length).equals(Buffer.from(e.memory.buffer, e.memory.byteOffset, e.memory.length));
  if (!same) {
    for (const d of diffShadow(expected, e.memory)) {
      const nat = Buffer.from(expected.subarray(d.off, d.off + d.bytes.length)).toString('hex');
      diffs.push(`memory ${hex(shadowAddress(d.off))}: native ${nat}, emulated ${Buffer.from(d.bytes).toString('hex')}`);
    }
  }
  return { ok: diffs.length === 0, diffs };
}

const FLAG_NAMES: [number, string][] = [
  [0x1, 'CF'], [0x4, 'PF'], [0x10, 'AF'], [0x40, 'ZF'], [0x80, 'SF'], [0x100, 'TF'], [0x200, 'IF'], [0x400, 'DF'],
  [0x800, 'OF'], [0x3000, 'IOPL'], [0x4000, 'NT'], [0x40000, 'AC'], [0x80000, 'VIF'], [0x100000, 'VIP'], [0x200000, 'ID'],
];
export const flagNames = (f: number): string => FLAG_NAMES.filter(([b]) => f & b).map(([, n]) => n).join(' ') || '-';

/** The sequence disassembled by objdump when it is installed, else the generator's listing. */
export function disassemble(g: GeneratedCase): string {
  const dir = mkdtempSync(join(tmpdir(), 'xenoform-fuzz-'));
  try {
    const file = join(dir, 'code.bin');
    writeFileSync(file, g.input.code);
    const r = spawnSync('objdump', ['-D', '-b', 'binary', '-mi386', '-Mintel', `--adjust-vma=0x${hex(g.input.codeAddr)}`, file], { encoding: 'utf8' });
    if (r.status === 0) {
      const lines = r.stdout.split('\n').filter((l) => /^\s*[0-9a-f]+:\t/.test(l));
      if (lines.length) return lines.join('\n');
    }
  } catch {
    // fall through to the listing
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return listing(g);
}

export function listing(g: GeneratedCase): string {
  return g.listing
    .map((l) => `  ${hex(g.input.codeAddr + l.off)}: ${Buffer.from(g.input.code.subarray(l.off, l.off + l.len)).toString('hex').padEnd(32)} ${l.mnemonic}${l.setup ? '  (setup)' : ''}`)
    .join('\n');
}

/** The full report of a mismatch. */
export function describe(g: GeneratedCase, v: Verdict, n: NativeResult, e: EmulatedResult): string {
  const i = g.input;
  const regs = (rs: Uint32Array): string => REG_NAMES.map((name, r) => `${name}=${hex(rs[r]!)}`).join(' ');
  const m = g.masks;
  const masked = [
    ...REG_NAMES.flatMap((name, r) => (m.regTaint[r] ? [`${name}&${hex(m.regTaint[r]!)}`] : [])),
    ...(m.undefFlags ? [`flags ${flagNames(m.undefFlags)}`] : []),
    ...(m.memTaint.length ? [`${m.memTaint.length} memory bytes`] : []),
  ];
  return [
    `CPU fuzz mismatch: seed ${g.seed} case ${g.index} (replay: npm run fuzz -- --seed ${g.seed} --case ${g.index})`,
    `code at ${hex(i.codeAddr)}: ${Buffer.from(i.code).toString('hex')}`,
    disassemble(g),
    `initial: ${regs(i.regs)} eflags=${hex(i.eflags)} memSeed=${i.memSeed} paging=${i.paging ? 'on' : 'off'} tier=${i.jit ? 'jit' : 'interp'}`,
    `masked (undefined): ${masked.join(', ') || 'nothing'}`,
    `native:   vector ${n.vector}${n.vector === 14 ? ` (cr2 ${hex(n.cr2)} err ${n.errorCode})` : ''} eip ${hex(n.eip)} ${regs(n.regs)} eflags=${hex(n.eflags)}`,
    `emulated: vector ${e.vector}${e.vector === 14 ? ` (cr2 ${hex(e.cr2)} err ${e.errorCode})` : ''} eip ${hex(e.eip)} ${regs(e.regs)} eflags=${hex(e.eflags)}`,
    ...v.diffs.map((d) => `  ${d}`),
  ].join('\n');
}
