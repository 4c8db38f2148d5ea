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
  /** Absent when the mismatch came from a child process. */
  generated?: GeneratedCase;
  verdict?: Verdict;
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

/** One emulator per paging mode and tier (switching per case would flush the TLB every time). */
const emulators: (EmulatorRunner | undefined)[] = [];
let defaultTemplates: TemplateSet | undefined;

/** Blocks the translation-tier runners translated, and declined, so far in this process. */
export function translationStats(): { translated: number; declined: number } {
  let translated = 0, declined = 0;
  for (const e of emulators) {
    if (!e) continue;
    translated += e.translation.translated;
    declined += e.translation.declined;
  }
  return { translated, declined };
}

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

  const emulator = (paging: boolean, jit: boolean): EmulatorRunner => (emulators[+paging + 2 * +jit] ??= new EmulatorRunner(native.selectors, paging, jit));
  const initial = new Uint8Array(SHADOW_SIZE);
  const scratch = new Uint8Array(SHADOW_SIZE);
  t0 = now();
  for (let k = 0; k < cases.length; k++) {
    const g = cases[k]!;
    initialShadow(g.input.memSeed, initial);
    const e = emulator(g.input.paging, g.input.jit).run(g.input, initial);
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

/** BatchStats as plain data (for a child process to send): maps as entry lists, reports only. */
export interface StatsMessage {
  cases: number;
  nativeSeconds: number;
  emulatedSeconds: number;
  generateSeconds: number;
  mnemonics: [string, number][];
  records: [string, number][];
  prefixes: [string, number][];
  faults: [number, number][];
  known: [string, number][];
  mismatches: { caseIndex: number; report: string }[];
}

export function statsToMessage(s: BatchStats): StatsMessage {
  return {
    cases: s.cases,
    nativeSeconds: s.nativeSeconds,
    emulatedSeconds: s.emulatedSeconds,
    generateSeconds: s.generateSeconds,
    mnemonics: [...s.mnemonics],
    records: [...s.records],
    prefixes: [...s.prefixes],
    faults: [...s.faults],
    known: [...s.known],
    mismatches: s.mismatches.map((m) => ({ caseIndex: m.caseIndex, report: m.report })),
  };
}

/** Add a child's message to `into` (mismatches carry their report only). */
export function mergeMessage(into: BatchStats, m: StatsMessage): void {
  const s = newStats();
  s.cases = m.cases;
  s.nativeSeconds = m.nativeSeconds;
  s.emulatedSeconds = m.emulatedSeconds;
  s.generateSeconds = m.generateSeconds;
  for (const [k, n] of m.mnemonics) s.mnemonics.set(k, n);
  for (const [k, n] of m.records) s.records.set(k, n);
  for (const [k, n] of m.prefixes) s.prefixes.set(k, n);
  for (const [k, n] of m.faults) s.faults.set(k, n);
  for (const [k, n] of m.known) s.known.set(k, n);
  mergeStats(into, s);
  for (const x of m.mismatches) into.mismatches.push(x as Mismatch);
}

export { KNOWN_FAILURES };
