/**
 * bench/cpu: guest MIPS of the IA-32 CPU on the workloads in build/ (README.md here), beside the
 * same binaries run natively, so the ratio is read in one run.
 *
 * Per workload:
 *  - emulator: a fresh Node process (emulate.ts) runs it 1 + 3 times on fresh LinuxUsers. The
 *    first run is reported as `cold` (V8 warm-up and block translation are part of reality),
 *    the best of the next three as the steady-state figure (`emuSeconds`, `emuMips`).
 *    Instructions = instructions retired (cpu.icount; a REP-prefixed instruction counts once,
 *    as hardware counters do).
 *  - native: the median wall-clock time of 5 runs of the process (spawn to exit, so it includes
 *    process creation). Native MIPS is defined as the emulator's instruction count divided by
 *    the native seconds: one instruction count for both sides.
 *  - ratio = emuSeconds / nativeSeconds (how many times slower than the host).
 * Every run's output must equal build/<name>.txt and exit 0, else the suite fails.
 *
 * `node --import tsx bench/cpu/index.ts` runs this suite alone. XENOFORM_CPU_TIER=interp
 * benches the interpreter without the translation tier (reported as `tier`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchError, median, table, type BenchReport, type BenchSuite } from '../suite.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const BUILD = join(HERE, 'build');
/** The issue's target for the interpreter, and the later goal for the translation tier. */
export const TARGET_MIPS = 150;
export const TRANSLATION_GOAL_MIPS = 1000;
const WARM_RUNS = 3;
const NATIVE_RUNS = 5;

export interface Workload {
  name: string;
  instructions: number;
  emuSeconds: number;
  emuMips: number;
  coldSeconds: number;
  coldMips: number;
  nativeSeconds: number | null;
  nativeMips: number | null;
  ratio: number | null;
}

export interface CpuReport extends BenchReport {
  suite: 'cpu';
  host: { cpu: string; cores: number; node: string; platform: string };
  tier: string;
  workloads: Workload[];
  medianEmuMips: number;
  medianColdMips: number;
  medianRatio: number | null;
  target: number;
  translationGoal: number;
  conventions: Record<string, string>;
}

const mips = (instructions: number, seconds: number): number => Math.round((instructions / seconds / 1e6) * 10) / 10;
const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

function workloadNames(): string[] {
  return readdirSync(BUILD)
    .filter((f) => f.endsWith('.elf') && existsSync(join(BUILD, f.replace(/\.elf$/, '.txt'))))
    .map((f) => f.slice(0, -4))
    .sort();
}

/** Cold run + warm runs in a fresh process. */
function emulate(name: string): { instructions: number; seconds: number[] } {
  const script = join(HERE, 'emulate.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, join(BUILD, `${name}.elf`), join(BUILD, `${name}.txt`), '--runs', String(1 + WARM_RUNS)], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new BenchError(`${name} on the emulator: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ') || `exit ${r.status}`}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { instructions: number; seconds: number[] };
}

/** Whether this host runs static i386 Linux binaries (x86 Linux with IA32 emulation). */
function canRunNative(probe: string): boolean {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'ia32')) return false;
  const r = spawnSync(probe, [], { env: {} });
  return r.error === undefined && r.status !== null;
}

/** Median wall-clock seconds of NATIVE_RUNS runs of the process, each checked. */
function native(name: string, expected: string): number {
  const times: number[] = [];
  for (let k = 0; k < NATIVE_RUNS; k++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(join(BUILD, `${name}.elf`), [], { env: {}, encoding: 'latin1' });
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.error) throw r.error;
    if (r.status !== 0 || r.stdout !== expected) throw new BenchError(`${name} natively: exit ${r.status}, printed ${JSON.stringify(r.stdout)}, expected ${JSON.stringify(expected)}`);
    times.push(dt);
  }
  return median(times);
}

export async function runCpuBench(log: (line: string) => void): Promise<CpuReport> {
  const names = workloadNames();
  if (names.length === 0) throw new BenchError(`no workloads in ${BUILD} (make -C bench/cpu)`);
  const nativeOk = canRunNative(join(BUILD, `${names[0]}.elf`));
  if (!nativeOk) log('bench cpu: this host cannot run i386 binaries; native figures are null');
  const workloads: Workload[] = [];
  for (const name of names) {
    const expected = readFileSync(join(BUILD, `${name}.txt`), 'latin1');
    const { instructions, seconds } = emulate(name);
    const cold = seconds[0]!;
    const best = Math.min(...seconds.slice(1));
    const nativeSeconds = nativeOk ? native(name, expected) : null;
    const w: Workload = {
      name,
      instructions,
      emuSeconds: round(best, 4),
      emuMips: mips(instructions, best),
      coldSeconds: round(cold, 4),
      coldMips: mips(instructions, cold),
      nativeSeconds: nativeSeconds === null ? null : round(nativeSeconds, 5),
      nativeMips: nativeSeconds === null ? null : mips(instructions, nativeSeconds),
      ratio: nativeSeconds === null ? null : round(best / nativeSeconds, 1),
    };
    workloads.push(w);
    log(`  ${name}: ${w.emuMips} MIPS (cold ${w.coldMips})${w.nativeMips === null ? '' : `, native ${w.nativeMips} MIPS, ${w.ratio}× slower`}`);
  }
  const ratios = workloads.map((w) => w.ratio).filter((r): r is number => r !== null);
  const report: CpuReport = {
    suite: 'cpu',
    host: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    tier: process.env.XENOFORM_CPU_TIER === 'interp' ? 'interpreter' : 'interpreter+translation',
    workloads,
    medianEmuMips: round(median(workloads.map((w) => w.emuMips)), 1),
    medianColdMips: round(median(workloads.map((w) => w.coldMips)), 1),
    medianRatio: ratios.length ? round(median(ratios), 1) : null,
    target: TARGET_MIPS,
    translationGoal: TRANSLATION_GOAL_MIPS,
    conventions: {
      instructions: 'instructions retired on the emulator (cpu.icount); a REP-prefixed instruction counts once',
      emuSeconds: `best of ${WARM_RUNS} runs after a cold run, each on a fresh LinuxUser in one fresh process per workload`,
      coldSeconds: 'the first run in that fresh process',
      nativeSeconds: `median wall clock of ${NATIVE_RUNS} runs of the native process, spawn to exit`,
      nativeMips: 'the emulator instruction count / nativeSeconds',
      ratio: 'emuSeconds / nativeSeconds',
    },
  };
  log('');
  log(table(
    ['workload', 'instructions', 'emu s', 'emu MIPS', 'cold MIPS', 'native s', 'native MIPS', 'slower'],
    workloads.map((w) => [w.name, w.instructions.toLocaleString('en-US'), w.emuSeconds.toFixed(3), w.emuMips.toFixed(1), w.coldMips.toFixed(1),
      w.nativeSeconds?.toFixed(4) ?? '-', w.nativeMips?.toFixed(0) ?? '-', w.ratio === null ? '-' : `${w.ratio}×`]),
  ));
  log(`median ${report.medianEmuMips} MIPS (cold ${report.medianColdMips}); target ${TARGET_MIPS}; translation-tier goal ${TRANSLATION_GOAL_MIPS}; ${report.host.cpu}, ${report.host.cores} cores, node ${report.host.node}, tier ${report.tier}`);
  return report;
}

export const suite: BenchSuite = {
  name: 'cpu',
  description: 'guest MIPS of the IA-32 CPU on sieve, crc32, strcopy, printf, div64 vs the host CPU',
  run: runCpuBench,
};

// Run alone: node --import tsx bench/cpu/index.ts
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.stdout.write(`${JSON.stringify(await runCpuBench((l) => void process.stderr.write(`${l}\n`)))}\n`);
  } catch (e) {
    process.stderr.write(`bench cpu FAILED: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
