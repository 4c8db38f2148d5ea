/**
 * `npm run fuzz`: the CPU differential fuzzer from the command line.
 *
 *   --count N     cases to run (default 2,000,000)
 *   --seed S      run seed (default: random, printed)
 *   --case K      replay case K of the seed alone and print its full report
 *   --first K     start at case K
 *   --family F    only instructions of family F (templates.ts), e.g. shift, string, bcd
 *   --batch B     cases per native harness process (default 20,000)
 *   --jobs J      processes in parallel (default: the cores, at most 4)
 *   --chunk C     cases per process before it is replaced (default 200,000; bounds memory)
 *   --strict      count known failures (known-failures.ts) as failures too
 *   --known       run the known failures' reproducers and print their reports
 *   --code HEX    run one hand-written case (int3 appended): --regs eax=1,ecx=0x10 --eflags N
 *                 --paging on|off (default on) --tier interp|jit (default interp)
 *
 * Exits 1 on the first unexplained mismatch, after printing its report.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compareCase, describe } from './compare.ts';
import { EmulatorRunner } from './emulator.ts';
import { mergeMessage, newStats, type StatsMessage } from './fuzz.ts';
import type { ChunkOrder } from './fuzz-child.ts';
import { generateCase } from './generate.ts';
import { initialShadow, SHADOW_SIZE } from './layout.ts';
import { FUZZ_DIR, ensureHarness, runNative } from './native.ts';
import { buildTemplates } from './templates.ts';
import { KNOWN_FAILURES } from './known-failures.ts';
import { handCase, parseRegs, runOne } from './repro.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', multiple: true },
    seed: { type: 'string' },
    case: { type: 'string' },
    first: { type: 'string' },
    family: { type: 'string' },
    batch: { type: 'string' },
    strict: { type: 'boolean' },
    known: { type: 'boolean' },
    code: { type: 'string' },
    regs: { type: 'string' },
    eflags: { type: 'string' },
    paging: { type: 'string' },
    tier: { type: 'string' },
    jobs: { type: 'string' },
    chunk: { type: 'string' },
  },
});

const last = (v: string[] | undefined, d: number): number => (v && v.length ? Number(v[v.length - 1]) : d);
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
const why = ensureHarness();
if (why) {
  console.error(`cpu-fuzz: the native harness cannot run here:\n${why}`);
  process.exit(2);
}
const templates = buildTemplates(values.family ? (t) => t.family === values.family : undefined);
if (templates.templates.length === 0) {
  console.error(`cpu-fuzz: no instruction family ${values.family}`);
  process.exit(2);
}

if (values.known) {
  for (const k of KNOWN_FAILURES) {
    console.log(`== ${k.id}: ${k.summary}`);
    for (const r of k.repro) console.log(`${runOne(handCase(r)).report}\n`);
  }
  process.exit(0);
}

if (values.code !== undefined) {
  const g = handCase({ code: values.code, regs: parseRegs(values.regs), eflags: values.eflags ? Number(values.eflags) : undefined, paging: values.paging !== 'off', jit: values.tier === 'jit' });
  const ran = runOne(g);
  console.log(ran.verdict.ok ? ran.report.replace(/^CPU fuzz mismatch[^\n]*/, 'hand-written case: native and emulated agree') : ran.report);
  process.exit(ran.verdict.ok ? 0 : 1);
}

if (values.case !== undefined) {
  // Replay one case, verbosely, whatever its verdict.
  const k = Number(values.case);
  const g = generateCase(templates, seed, k);
  const native = runNative([g.input]);
  const initial = initialShadow(g.input.memSeed);
  const e = new EmulatorRunner(native.selectors, g.input.paging, g.input.jit).run(g.input, initial);
  const v = compareCase(g, initial, native.results[0]!, e, new Uint8Array(SHADOW_SIZE));
  console.log(describe(g, v, native.results[0]!, e).replace(/^CPU fuzz mismatch/, v.ok ? 'CPU fuzz case (native and emulated agree)' : 'CPU fuzz mismatch'));
  process.exit(v.ok ? 0 : 1);
}

const count = last(values.count, 2_000_000);
const batch = Number(values.batch ?? 20_000);
const first = Number(values.first ?? 0);
const jobs = Math.max(1, Number(values.jobs ?? Math.min(availableParallelism(), 4)));
const chunk = Math.max(batch, Number(values.chunk ?? 200_000));
console.log(`cpu-fuzz: seed ${seed}, ${count} cases from ${first}${values.family ? `, family ${values.family}` : ''}, ${jobs} processes`);
const stats = newStats();
const t0 = Date.now();
const children = new Set<ChildProcess>();
let next = first;
const end = first + count;

function finish(code: number): never {
  for (const c of children) c.kill();
  if (code === 0) {
    const secs = (Date.now() - t0) / 1000;
    // Per-process rates: native, emulated, generated are each measured inside one process.
    const rate = (s: number): string => `${(stats.cases / s).toFixed(0)}/s`;
    console.log(`cpu-fuzz: ${stats.cases} cases agree in ${secs.toFixed(1)} s (${(stats.cases / secs).toFixed(0)}/s over ${jobs} processes); per process: native ${rate(stats.nativeSeconds)}, emulated ${rate(stats.emulatedSeconds)}, generated ${rate(stats.generateSeconds)}`);
    console.log(`  ${stats.mnemonics.size} mnemonics, ${stats.records.size} opcode records; faults ${[...stats.faults].sort((a, b) => a[0] - b[0]).map(([v, n]) => `#${v}×${n}`).join(' ')}`);
    for (const k of KNOWN_FAILURES) if (stats.known.has(k.id)) console.log(`  known failure ${k.id} (${stats.known.get(k.id)} cases): ${k.summary}`);
  }
  process.exit(code);
}

function progress(): void {
  const known = [...stats.known].map(([id, n]) => `${id}×${n}`).join(' ');
  const secs = (Date.now() - t0) / 1000;
  console.log(`  ${stats.cases} cases, ${(stats.cases / secs).toFixed(0)}/s${known ? `, known failures ${known}` : ''}`);
  const strictHit = values.strict && stats.known.size > 0;
  if (stats.mismatches.length || strictHit) {
    for (const m of stats.mismatches) console.log(`\n${m.report}`);
    if (strictHit) console.log(`\nknown failures hit (--strict): ${known}`);
    finish(1);
  }
}

function launch(): void {
  if (next >= end) {
    if (children.size === 0) finish(0);
    return;
  }
  const order: ChunkOrder = { seed, first: next, count: Math.min(chunk, end - next), batch, family: values.family };
  next += order.count;
  const child = fork(join(FUZZ_DIR, 'fuzz-child.ts'), [], { execArgv: ['--import', 'tsx'] });
  children.add(child);
  child.on('message', (m: { stats?: StatsMessage; done?: boolean }) => {
    if (m.stats) {
      mergeMessage(stats, m.stats);
      progress();
    }
  });
  child.on('exit', (code) => {
    children.delete(child);
    if (code !== 0 && code !== null) {
      console.error(`cpu-fuzz: the process for cases ${order.first}–${order.first + order.count - 1} exited with ${code}`);
      finish(2);
    }
    launch();
  });
  child.send(order);
}

for (let j = 0; j < jobs; j++) launch();
