/**
 * CPU discrepancies the fuzzer found that are written up in FINDINGS.md and not fixed yet. A
 * mismatch an entry explains is counted (and printed as a summary) instead of failing, so the
 * test keeps catching everything else. Each entry stays narrow — it names the instruction and
 * checks the precise symptom — and carries a minimal reproducer. The test runs every reproducer:
 * once the CPU is fixed it agrees with the host, the test fails, and the entry must go.
 */
import type { GeneratedCase } from './generate.ts';
import type { EmulatedResult, NativeResult } from './layout.ts';
import type { HandCase } from './repro.ts';

export interface KnownFailure {
  /** FINDINGS.md section. */
  id: string;
  summary: string;
  matches(g: GeneratedCase, n: NativeResult, e: EmulatedResult): boolean;
  /** Minimal cases that show it (paging on unless stated). */
  repro: HandCase[];
}

const has = (g: GeneratedCase, re: RegExp): boolean => g.listing.some((l) => re.test(l.mnemonic));

export const KNOWN_FAILURES: KnownFailure[] = [
  {
    id: 'F2',
    summary: 'INS/OUTS in ring 3 touch memory before the I/O privilege check, and REP INS/OUTS with ECX = 0 skip it',
    matches: (g, n, e) => n.vector === 13 && e.vector !== 13 && has(g, /^(ins|outs)[bwd]$/),
    repro: [
      { code: '6e', regs: { esi: 0x7fff0000 }, insns: [['outsb', 1]] },
      { code: 'f3 6c', regs: { ecx: 0, edi: 0x10100c00 }, insns: [['insb', 2]] },
    ],
  },
  {
    id: 'F3',
    summary: 'an instruction over 15 bytes that is also invalid (LOCK misuse) raises #UD instead of #GP(0)',
    matches: (g, n, e) => n.vector === 13 && e.vector === 6 && g.listing.some((l) => l.len > 15),
    repro: [{ code: '3e3e3e3e3e3e3e3e3e3e3e f0 0f85 00000000', insns: [['jne', 18]] }],
  },
  {
    id: 'F4',
    summary: 'ENTER does not probe the final stack pointer: no #PF when ESP - frame size is not writable',
    matches: (g, n, e) => n.vector === 14 && e.vector !== 14 && has(g, /^enter$/),
    repro: [{ code: 'c8 0080 00', regs: { esp: 0x10201000 }, insns: [['enter', 4]] }],
  },
  {
    id: 'F5',
    summary: 'a 32-bit read crossing into a page that faults reports CR2 off by up to 3 bytes (bytes are read high to low)',
    matches: (_g, n, e) => n.vector === 14 && e.vector === 14 && n.cr2 !== e.cr2 && n.cr2 >>> 12 === e.cr2 >>> 12 && n.errorCode === e.errorCode,
    repro: [{ code: '8b 05 feff0f10', insns: [['mov', 6]] }],
  },
  {
    id: 'F6',
    summary: 'XCHG m and CMPXCHG8B read before they check the write: a fault is reported as a read (W clear), sometimes on the other page',
    matches: (g, n, e) => n.vector === 14 && e.vector === 14 && (n.errorCode & 2) !== 0 && (e.errorCode & 2) === 0 && has(g, /^(cmpxchg8b|xchg)$/),
    repro: [
      { code: '87 05 00000f10', insns: [['xchg', 6]] },
      { code: '0fc7 0d 00000f10', insns: [['cmpxchg8b', 7]] },
    ],
  },
  {
    id: 'F7',
    summary: 'LLDT, LTR and LMSW in ring 3 read their memory operand before the CPL check (#PF instead of #GP(0))',
    matches: (g, n, e) => n.vector === 13 && e.vector === 14 && has(g, /^(lldt|ltr|lmsw)$/),
    repro: [{ code: '0f00 1d 00000f10', insns: [['ltr', 7]] }],
  },
];

export function knownFailure(g: GeneratedCase, n: NativeResult, e: EmulatedResult): KnownFailure | undefined {
  return KNOWN_FAILURES.find((k) => k.matches(g, n, e));
}
