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

export const KNOWN_FAILURES: KnownFailure[] = [
  // F2–F7 and F10 were fixed (FINDINGS.md); add new entries here as the fuzzer finds them.
];

export function knownFailure(g: GeneratedCase, n: NativeResult, e: EmulatedResult): KnownFailure | undefined {
  return KNOWN_FAILURES.find((k) => k.matches(g, n, e));
}
