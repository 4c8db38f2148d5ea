/**
 * The fuzzing loop shared by the test and the CLI: generate a batch, run it natively in one
 * harness process and on the emulator, compare case by case.
 */
import { EmulatorRunner } from './emulator.ts';
import { compareCase, describe, type Verdict } from './compare.ts';
import { generateCase, type GeneratedCase } from './generate.ts';
import { initialShadow, SHADOW_SIZE } from './layout.ts';
import { runNative } from './native.ts';
import { buildTemplates, type TemplateSet } from './templates.ts';
import { KNOWN_FAILURES, knownFailure } from './known-failures.ts';

export interface Mismatch {
  caseIndex: number;
  report: string;
  generated: GeneratedCase;
  verdict: Verdict;
}

export interface BatchStats {
  cases: number;
  nativeSeconds: number;
  emulatedSeconds: number;
  generateSeconds: number;
  /** Cases per mnemonic (setup instructions excluded). */
  mnemonics: Map<string, number>;
  /** Instructions per template (generate.ts recordKey). */
  records: Map<string, number>;
  /** Instructions with a LOCK, 0x66 or segment-override prefix. */
  prefixes: Map<string, number>;
  /** Cases that ended in a fault (vector other than the closing #BP). */
  faults: Map<number, number>;
  mismatches: Mismatch[];
  /** Mismatches explained by an entry of known-failures.ts, per entry id. */
  known: Map<string, number>;
}

export interface FuzzOptions {
  seed: number;
  /** First case index and count. */
  first: number;
  count: number;
  /** Keep only templates this accepts (e.g. one family). */
  templates?: TemplateSet;
  /** Stop collecting after this many (unexplained) mismatches. */
  maxMismatches?: number;
}

/** One emulator per paging mode (switching modes per case would flush the TLB every time). */
const emulators: (EmulatorRunner | undefined)[] = [];
let defaultTemplates: TemplateSet | undefined;

export function newStats(): BatchStats {
  return { cases: 0, nativeSeconds: 0, emulatedSeconds: 0, generateSeconds: 0, mnemonics: new Map(), records: new Map(), prefixes: new Map(), faults: new Map(), mismatches: [], known: new Map() };
}

const now = (): number => Number(process.hrtime.bigint()) / 1e9;

/**
 * Run cases [first, first+count) of `seed`. Counts accumulate into `totals` when given; the
 * returned stats hold this batch's own figures and mismatches.
 */
export function runBatch(o: FuzzOptions, totals?: BatchStats): BatchStats {
  const stats = newStats();
  runInto(o, stats);
  if (totals) mergeStats(totals, stats);
  return stats;
}

function add<K>(into: Map<K, number>, from: Map<K, number>): void {
  for (const [k, n] of from) into.set(k, (into.get(k) ?? 0) + n);
}

export function mergeStats(into: BatchStats, s: BatchStats): void {
  into.cases += s.cases;
  into.nativeSeconds += s.nativeSeconds;
  into.emulatedSeconds += s.emulatedSeconds;
  into.generateSeconds += s.generateSeconds;
  add(into.mnemonics, s.mnemonics);
  add(into.records, s.records);
  add(into.prefixes, s.prefixes);
  add(into.faults, s.faults);
  add(into.known, s.known);
  into.mismatches.push(...s.mismatches);
}

function runInto(o: FuzzOptions, stats: BatchStats): void {
  const set = o.templates ?? (defaultTemplates ??= buildTemplates());
  let t0 = now();
  const cases: GeneratedCase[] = [];
  for (let k = 0; k < o.count; k++) cases.push(generateCase(set, o.seed, o.first + k));
  stats.generateSeconds += now() - t0;

  t0 = now();
  const native = runNative(cases.map((c) => c.input));
  stats.nativeSeconds += now() - t0;

  const emulator = (paging: boolean): EmulatorRunner => (emulators[+paging] ??= new EmulatorRunner(native.selectors, paging));
  const initial = new Uint8Array(SHADOW_SIZE);
  const scratch = new Uint8Array(SHADOW_SIZE);
  t0 = now();
  for (let k = 0; k < cases.length; k++) {
    const g = cases[k]!;
    initialShadow(g.input.memSeed, initial);
    const e = emulator(g.input.paging).run(g.input, initial);
    const n = native.results[k]!;
    const v = compareCase(g, initial, n, e, scratch);
    stats.cases++;
    for (const l of g.listing) {
      if (l.setup) continue;
      stats.mnemonics.set(l.mnemonic, (stats.mnemonics.get(l.mnemonic) ?? 0) + 1);
      if (l.record) stats.records.set(l.record, (stats.records.get(l.record) ?? 0) + 1);
      for (const p of l.prefixes ?? []) stats.prefixes.set(p, (stats.prefixes.get(p) ?? 0) + 1);
    }
    if (n.vector !== 3) stats.faults.set(n.vector, (stats.faults.get(n.vector) ?? 0) + 1);
    if (v.ok) continue;
    const known = knownFailure(g, n, e);
    if (known) {
      stats.known.set(known.id, (stats.known.get(known.id) ?? 0) + 1);
      continue;
    }
    if (stats.mismatches.length < (o.maxMismatches ?? 1)) {
      stats.mismatches.push({ caseIndex: g.index, report: describe(g, v, n, e), generated: g, verdict: v });
    }
  }
  stats.emulatedSeconds += now() - t0;
}

export { KNOWN_FAILURES };
