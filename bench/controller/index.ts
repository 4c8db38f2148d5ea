/**
 * bench/controller — the controller's headline numbers (issue 4, Speed and scale):
 *  - N manifests (default 1,000) written into a watched directory → N domains Running: total
 *    time, and p50/p99 from a file's write to its Domain's status saying Running
 *    (aim: all 1,000 within 30 s on a 2-core machine);
 *  - with N running, one manifest edit (a live memory change) → status updated
 *    (metadata.generation and status.observedGeneration both moved): p50/p99 over 100 edits
 *    (aim: p99 under 100 ms).
 * Runs against the real host (`xenoform host` in its own process, ticker guests) and against a
 * fake host (the controller alone: watch, queue, reconcile, state dir with fsync). Set
 * XENOFORM_BENCH_DOMAINS for another N, XENOFORM_BENCH_HOSTS=fake or real for one of them,
 * XENOFORM_BENCH_CONSOLES=0 to not keep console logs in the state dir.
 * Prints figures; asserts nothing about time.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller } from '../../controller/controller.ts';
import { ensureLocalHost, type HypervisorApi } from '../../controller/hypervisor.ts';
import { FakeHypervisor } from '../../controller/reconcilers/testing.ts';
import { GUESTS_BUILD_DIR } from '../../controller/source/index.ts';
import type { Domain } from '../../crds/index.ts';
import { median, table, type BenchReport, type BenchSuite } from '../suite.ts';

const N = Number(process.env.XENOFORM_BENCH_DOMAINS ?? 1000);
const EDITS = 100;

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

const manifest = (name: string, memory: number) =>
  `apiVersion: xenoform.dev/v1alpha1\nkind: Domain\nmetadata:\n  name: ${name}\nspec:\n  kernel: ${join(GUESTS_BUILD_DIR, 'ticker.elf')}\n  memory: ${memory}\n  maxMemory: 64\n`;

async function scenario(kind: 'fake' | 'real', log: (l: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'xfb-'));
  const manifests = join(dir, 'm');
  const state = join(dir, 's');
  mkdirSync(manifests);
  mkdirSync(state);
  let hv: HypervisorApi;
  if (kind === 'fake') hv = new FakeHypervisor();
  else hv = (await ensureLocalHost(state)).hv;
  const problems: string[] = [];
  const c = new Controller({ manifestsDir: manifests, stateDir: state, hv, log: (l) => problems.push(l), concurrency: 8, recordConsoles: process.env.XENOFORM_BENCH_CONSOLES !== '0' });
  await c.start();
  const written = new Map<string, number>();
  const running = new Map<string, number>();
  const generations = new Map<string, { gen: number; resolve: () => void }>();
  let allRunning!: () => void;
  const done = new Promise<void>((r) => (allRunning = r));
  c.watch((_type, d: Domain) => {
    const name = d.metadata.name;
    if (d.status?.phase === 'Running' && !running.has(name) && written.has(name)) {
      running.set(name, performance.now());
      if (running.size === N) allRunning();
    }
    const g = generations.get(name);
    if (g && d.metadata.generation === g.gen && d.status?.observedGeneration === g.gen) {
      generations.delete(name);
      g.resolve();
    }
  });

  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const name = `d${String(i).padStart(4, '0')}`;
    written.set(name, performance.now());
    writeFileSync(join(manifests, `${name}.yaml`), manifest(name, 32));
  }
  const writeMs = performance.now() - t0;
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 120_000).unref());
  const outcome = await Promise.race([done.then(() => 'ok' as const), timeout]);
  const totalMs = performance.now() - t0;
  const latencies = [...running].map(([n, t]) => t - written.get(n)!);
  const phases: Record<string, number> = {};
  for (const d of c.list()) phases[d.status?.phase ?? 'Pending'] = (phases[d.status?.phase ?? 'Pending'] ?? 0) + 1;
  log(`${kind}: ${running.size}/${N} Running in ${r1(totalMs)} ms (files written in ${r1(writeMs)} ms)${outcome === 'timeout' ? ` — timed out; phases ${JSON.stringify(phases)}` : ''}`);

  // edits with N running: a live memory change, one at a time
  const edits: number[] = [];
  if (outcome === 'ok') {
    await c.settled(60_000); // "with N running": the start-up work is done
    for (let k = 0; k < EDITS; k++) {
      const name = `d${String((k * 37) % N).padStart(4, '0')}`;
      const gen = (c.get(name)?.metadata.generation ?? 1) + 1;
      const seen = new Promise<void>((resolve) => generations.set(name, { gen, resolve }));
      const t = performance.now();
      writeFileSync(join(manifests, `${name}.yaml`), manifest(name, 33 + (k % 20)));
      await seen;
      edits.push(performance.now() - t);
    }
  }
  await c.stop();
  if (kind === 'real') await hv.stopHost({ graceMs: 0 }).catch(() => undefined);
  await hv.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    host: kind,
    domains: N,
    startup: { running: running.size, totalMs: r1(totalMs), writeFilesMs: r1(writeMs), p50Ms: r1(pct(latencies, 50)), p99Ms: r1(pct(latencies, 99)), medianMs: r1(latencies.length ? median(latencies) : NaN), phases },
    edit: { samples: edits.length, p50Ms: r1(pct(edits, 50)), p99Ms: r1(pct(edits, 99)), maxMs: r1(Math.max(...edits, NaN)) },
    problems: problems.slice(0, 5),
  };
}

export const suite: BenchSuite = {
  name: 'controller',
  description: `${N} manifests → ${N} Running (total, p50/p99 write→Running); edit → status p99 with ${N} running; real and fake host`,
  async run(log) {
    const kinds = (process.env.XENOFORM_BENCH_HOSTS ?? 'fake,real').split(',').filter((k): k is 'fake' | 'real' => k === 'fake' || k === 'real');
    const results = [];
    for (const k of kinds) results.push(await scenario(k, log));
    log(table(['host', 'running', 'total ms', 'p50 ms', 'p99 ms', 'edit p50', 'edit p99'],
      results.map((r) => [r.host, `${r.startup.running}/${r.domains}`, r.startup.totalMs, r.startup.p50Ms, r.startup.p99Ms, r.edit.p50Ms, r.edit.p99Ms])));
    return { suite: 'controller', results } satisfies BenchReport;
  },
};
