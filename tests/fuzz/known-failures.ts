/**
 * CPU discrepancies the fuzzer found that are written up in FINDINGS.md and not fixed yet. A
 * mismatch an entry explains is counted (and printed as a summary) instead of failing, so the
 * test keeps catching everything else. Each entry must stay narrow: it names the instruction
 * and checks the precise symptom; delete it when the CPU is fixed.
 */
import type { GeneratedCase } from './generate.ts';
import type { EmulatedResult, NativeResult } from './layout.ts';

export interface KnownFailure {
  /** FINDINGS.md section, e.g. 'F1'. */
  id: string;
  summary: string;
  matches(g: GeneratedCase, n: NativeResult, e: EmulatedResult): boolean;
}

export const KNOWN_FAILURES: KnownFailure[] = [
  {
    id: 'F2',
    summary: 'INS/OUTS in ring 3 touch memory before the I/O privilege check, and REP INS/OUTS with ECX = 0 skip it',
    matches: (g, n, e) =>
      n.vector === 13 && e.vector !== 13 && g.listing.some((l) => /^(ins|outs)[bwd]$/.test(l.mnemonic)),
  },
  {
    id: 'F3',
    summary: 'an instruction over 15 bytes that is also invalid (LOCK misuse) raises #UD instead of #GP(0)',
    matches: (g, n, e) => n.vector === 13 && e.vector === 6 && g.listing.some((l) => l.len > 15),
  },
  {
    id: 'F4',
    summary: 'ENTER does not probe the final stack pointer: no #PF when ESP - frame size is not writable',
    matches: (g, n, e) => n.vector === 14 && e.vector !== 14 && g.listing.some((l) => l.mnemonic === 'enter'),
  },
  {
    id: 'F5',
    summary: 'a 32-bit read crossing into a page that faults reports CR2 off by up to 3 bytes (bytes are read high to low)',
    matches: (_g, n, e) => n.vector === 14 && e.vector === 14 && n.cr2 !== e.cr2 && n.cr2 >>> 12 === e.cr2 >>> 12 && n.errorCode === e.errorCode,
  },
  {
    id: 'F6',
    summary: 'XCHG m and CMPXCHG8B read before they check the write: a fault is reported as a read (W clear), sometimes on the other page',
    matches: (g, n, e) =>
      n.vector === 14 && e.vector === 14 && (n.errorCode & 2) !== 0 && (e.errorCode & 2) === 0 &&
      g.listing.some((l) => l.mnemonic === 'cmpxchg8b' || l.mnemonic === 'xchg'),
  },
  {
    id: 'F7',
    summary: 'LLDT, LTR and LMSW in ring 3 read their memory operand before the CPL check (#PF instead of #GP(0))',
    matches: (g, n, e) => n.vector === 13 && e.vector === 14 && g.listing.some((l) => /^(lldt|ltr|lmsw)$/.test(l.mnemonic)),
  },
];

export function knownFailure(g: GeneratedCase, n: NativeResult, e: EmulatedResult): KnownFailure | undefined {
  return KNOWN_FAILURES.find((k) => k.matches(g, n, e));
}
