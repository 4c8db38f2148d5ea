/**
 * The contract between `bench/run.ts` and a bench suite. A suite is a folder `bench/<name>/`
 * whose `index.ts` exports `suite: BenchSuite`; run.ts finds it by that folder alone, so a new
 * suite (bench/hv, bench/controller, …) plugs in by adding its folder and nothing else.
 *
 * Benches print figures; they never assert times (CONVENTIONS.md). They do fail — throw — when
 * a workload computes a wrong result: a fast wrong answer is an error, not a figure.
 */
export interface BenchSuite {
  /** The folder name, e.g. 'cpu'. */
  readonly name: string;
  /** One line for `npm run bench -- --list`. */
  readonly description: string;
  /**
   * Run the suite and return its one JSON document (it must carry `suite: <name>`).
   * `log` writes human-readable progress and tables to stderr.
   */
  run(log: (line: string) => void): Promise<BenchReport>;
}

export interface BenchReport {
  suite: string;
  [key: string]: unknown;
}

/** Thrown for a bench that cannot produce a trustworthy figure (wrong output, crash). */
export class BenchError extends Error {
  readonly code = 'BENCH_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'BenchError';
  }
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A fixed-width text table for stderr. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => r[c]!.length)));
  const line = (r: string[]): string => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
