/**
 * bench/migrate — live migration and save/restore of a `memdirty` guest (guests/src/memdirty.c),
 * which touches all of its memory and then dirties pages at a set rate (pages/s, cmdline
 * `rate=N`) in a walk that never rewrites a page within a pass (pre-copy's worst case).
 *
 * Live migration: two in-process hosts, each behind its TCP agent on loopback
 * (runtime/migrate/live.test.ts), one Node process and one event loop for both; per memory
 * size and write load the domain is migrated A→B, B→A, A→B… after its `ready` line, and
 * the median of the runs is reported: downtime (source paused → target running, as
 * MigrationResult measures it), total time, rounds, pages and bytes sent, and where the
 * downtime went (from the progress reports: pause → PREPARED, PREPARED → ACTIVE).
 * Save/restore: `hv.save(id, file)` then `hv.restore(file)` on one host, per size.
 *
 * Targets (issue 6): downtime < 20 ms at 128 MiB under a moderate write load. Published Xen
 * figures (Clark et al., NSDI 2005 §6): 60 ms (Quake 3 server), 210 ms (SPECweb99).
 *
 * Env, to narrow a run: XENOFORM_MIGRATE_SIZES=32,128, XENOFORM_MIGRATE_RUNS=3,
 * XENOFORM_MIGRATE_LOADS=idle,moderate,heavy, XENOFORM_MIGRATE_SAVE=0 (no save/restore).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { MigrationProgress, MigrationResult } from '../../runtime/api.ts';
import { BenchError, median, table, type BenchReport, type BenchSuite } from '../suite.ts';
import { checkNoBad, consoleText, consoleUntil, lastDirtied, memdirty, sleep, startHost, stopHost, type BenchHost } from './hosts.ts';

const SIZES = (process.env.XENOFORM_MIGRATE_SIZES ?? '32,128,512').split(',').map(Number);
const RUNS = Number(process.env.XENOFORM_MIGRATE_RUNS ?? 3);
/** Write loads: pages per second (× 4 KiB = 7.8 MiB/s moderate, 78 MiB/s heavy). */
const ALL_LOADS: { label: string; rate: number; sizes?: number[] }[] = [
  { label: 'idle', rate: 0 },
  { label: 'moderate', rate: 2000 },
  { label: 'heavy', rate: 20000, sizes: [128, 512] },
];
const LOADS = process.env.XENOFORM_MIGRATE_LOADS ? ALL_LOADS.filter((l) => process.env.XENOFORM_MIGRATE_LOADS!.split(',').includes(l.label)) : ALL_LOADS;
const SAVE_RESTORE = process.env.XENOFORM_MIGRATE_SAVE !== '0';
const HOST_MIB = 1536;
const READY = /memdirty: ready touched=(\d+) pages of (\d+)/;

interface Run extends MigrationResult {
  /** pages the last pre-copy round found dirty (what stop-and-copy had to send, about) */
  finalDirtyPages: number;
  stopcopyPages: number;
  /** dirty rate the source measured in the last round, pages/s */
  dirtyRatePps: number;
  pauseToPreparedMs: number;
  preparedToActiveMs: number;
  /** per pre-copy round: pages sent, pages found dirty after it, the guest's dirty rate during it, ms */
  perRound: { round: number; sent: number; dirty: number; dirtyRatePps: number; ms: number }[];
}

const stats = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

async function boot(h: BenchHost, name: string, mib: number, rate: number): Promise<{ id: number; touched: number; pages: number }> {
  const d = await h.hv.create({ name, kernel: memdirty(), memoryMiB: mib, cmdline: `rate=${rate}` });
  const text = await consoleUntil(h.hv, d.domid, READY, 120_000);
  const m = READY.exec(text)!;
  // Let the load settle: one progress line (a second of dirtying) before the first migration.
  if (rate > 0) await consoleUntil(h.hv, d.domid, /memdirty: dirtied \d+\n/, 30_000);
  else await sleep(200);
  return { id: d.domid, touched: Number(m[1]), pages: Number(m[2]) };
}

function summarise(r: MigrationResult, progress: MigrationProgress[]): Run {
  const pre = progress.filter((p) => p.phase === 'precopy');
  const last = pre.at(-1)!;
  const stop = progress.find((p) => p.phase === 'stopcopy')!;
  const act = progress.find((p) => p.phase === 'activating')!;
  const pauseToPrepared = act.elapsedMs - stop.elapsedMs;
  // precopy is reported twice per round: at its start and once its dirty pages are counted.
  const perRound: Run['perRound'] = [];
  for (let i = 0; i + 1 < pre.length; i += 2) {
    const [start, end] = [pre[i]!, pre[i + 1]!];
    perRound.push({ round: end.round, sent: end.pagesSent - start.pagesSent, dirty: end.pagesDirty, dirtyRatePps: end.dirtyRatePps, ms: end.elapsedMs - start.elapsedMs });
  }
  return {
    ...r,
    finalDirtyPages: last.pagesDirty,
    stopcopyPages: r.pagesSent - stop.pagesSent,
    dirtyRatePps: last.dirtyRatePps,
    pauseToPreparedMs: pauseToPrepared,
    preparedToActiveMs: Math.max(0, r.downtimeMs - pauseToPrepared),
    perRound,
  };
}

async function dirtiedPast(hv: BenchHost['hv'], id: number, count: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (lastDirtied(await consoleText(hv, id)) <= count) {
    if (Date.now() > end) throw new BenchError(`domain ${id} printed no progress for ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function migratePoint(a: BenchHost, b: BenchHost, mib: number, label: string, rate: number, log: (l: string) => void) {
  const name = `memdirty-${mib}-${label}`;
  const booted = await boot(a, name, mib, rate);
  let [here, there] = [a, b];
  let id = booted.id;
  const runs: Run[] = [];
  let dirtiedBefore = lastDirtied(await consoleText(here.hv, id));
  for (let k = 0; k < RUNS; k++) {
    checkNoBad(await consoleText(here.hv, id), `${name} on ${here.name} before run ${k + 1}`);
    const progress: MigrationProgress[] = [];
    const r = await here.hv.migrate(id, there.target, { onProgress: (p) => progress.push(p) });
    const run = summarise(r, progress);
    runs.push(run);
    log(`  ${name} ${here.name}→${there.name}: downtime ${r.downtimeMs} ms, total ${r.totalMs} ms, ${r.rounds} rounds, ${r.pagesSent} pages, stop-and-copy ${run.stopcopyPages} pages`);
    log(`    rounds (sent/dirty after/guest pages/s/ms): ${run.perRound.map((x) => `${x.sent}/${x.dirty}/${x.dirtyRatePps}/${x.ms}`).join('  ')}`);
    id = r.domid;
    [here, there] = [there, here];
    // The guest must run on and keep its load before the next move: a new progress line past
    // the console history that came along with it.
    if (rate > 0) await dirtiedPast(here.hv, id, lastDirtied(await consoleText(here.hv, id)), 30_000);
    else await sleep(300);
  }
  const text = await consoleText(here.hv, id);
  checkNoBad(text, `${name} on ${here.name} after ${RUNS} migrations`);
  const dirtiedAfter = lastDirtied(text);
  if (rate > 0 && dirtiedAfter <= dirtiedBefore && dirtiedBefore > 0) {
    throw new BenchError(`${name}: the guest stopped dirtying after migrating (${dirtiedBefore} → ${dirtiedAfter})`);
  }
  await here.hv.destroy(id);
  const pick = (f: (r: Run) => number) => median(runs.map(f));
  return {
    memoryMiB: mib,
    load: label,
    ratePps: rate,
    rateMiBps: (rate * 4096) / 2 ** 20,
    touchedPages: booted.touched,
    runs: runs.length,
    downtimeMs: stats(runs.map((r) => r.downtimeMs)),
    totalMs: stats(runs.map((r) => r.totalMs)),
    rounds: pick((r) => r.rounds),
    pagesSent: pick((r) => r.pagesSent),
    bytesSent: pick((r) => r.bytesSent),
    finalDirtyPages: pick((r) => r.finalDirtyPages),
    stopcopyPages: pick((r) => r.stopcopyPages),
    /** the rate the guest really dirtied at during round 1 (the longest round), pages/s */
    round1DirtyRatePps: pick((r) => r.perRound[0]?.dirtyRatePps ?? 0),
    lastRoundDirtyRatePps: pick((r) => r.dirtyRatePps),
    pauseToPreparedMs: pick((r) => r.pauseToPreparedMs),
    preparedToActiveMs: pick((r) => r.preparedToActiveMs),
    each: runs.map((r) => ({
      downtimeMs: r.downtimeMs, totalMs: r.totalMs, rounds: r.rounds, pagesSent: r.pagesSent, bytesSent: r.bytesSent,
      stopcopyPages: r.stopcopyPages, pauseToPreparedMs: r.pauseToPreparedMs, preparedToActiveMs: r.preparedToActiveMs, perRound: r.perRound,
    })),
  };
}

/** Save then restore, RUNS times in a row on one host (the domain keeps dirtying between). */
async function saveRestorePoint(h: BenchHost, dir: string, mib: number, log: (l: string) => void) {
  const rate = 2000;
  const name = `memdirty-${mib}-save`;
  const booted = await boot(h, name, mib, rate);
  let id = booted.id;
  const save: number[] = [];
  const restore: number[] = [];
  const bytes: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    checkNoBad(await consoleText(h.hv, id), `${name} before save ${k + 1}`);
    const file = join(dir, `${name}-${k}.img`);
    let t = performance.now();
    await h.hv.save(id, file);
    save.push(performance.now() - t);
    bytes.push(statSync(file).size);
    t = performance.now();
    const d = await h.hv.restore(file);
    restore.push(performance.now() - t);
    rmSync(file, { force: true });
    id = d.domid;
    log(`  ${name}: save ${save.at(-1)!.toFixed(0)} ms, restore ${restore.at(-1)!.toFixed(0)} ms, image ${(bytes.at(-1)! / 2 ** 20).toFixed(1)} MiB`);
    await dirtiedPast(h.hv, id, lastDirtied(await consoleText(h.hv, id)), 30_000);
  }
  checkNoBad(await consoleText(h.hv, id), `${name} after ${RUNS} restores`);
  await h.hv.destroy(id);
  const touchedMiB = (booted.touched * 4096) / 2 ** 20;
  return {
    memoryMiB: mib,
    touchedPages: booted.touched,
    runs: RUNS,
    saveMs: stats(save),
    restoreMs: stats(restore),
    imageBytes: median(bytes),
    imageBytesPerTouchedMiB: median(bytes) / touchedMiB,
  };
}

async function run(log: (line: string) => void): Promise<BenchReport> {
  const a = await startHost('A', HOST_MIB);
  const b = await startHost('B', HOST_MIB);
  const dir = mkdtempSync(join(tmpdir(), 'xenoform-bench-migrate-'));
  // The figures are wall-clock times of CPU-bound work: record how busy the machine was.
  const loadStart = loadavg();
  try {
    const migrations = [];
    for (const mib of SIZES) {
      for (const load of LOADS) {
        if (load.sizes && !load.sizes.includes(mib)) continue;
        log(`live migration, ${mib} MiB, ${load.label} (${load.rate} pages/s) ×${RUNS}`);
        migrations.push(await migratePoint(a, b, mib, load.label, load.rate, log));
      }
    }
    const saveRestore = [];
    for (const mib of SAVE_RESTORE ? SIZES : []) {
      log(`save/restore, ${mib} MiB ×${RUNS}`);
      saveRestore.push(await saveRestorePoint(a, dir, mib, log));
    }
    log(
      table(
        ['MiB', 'load', 'pages/s', 'round-1 pages/s', 'downtime ms', 'total ms', 'rounds', 'pages sent', 'MiB sent', 'stop-copy pages', 'pause→prepared ms', 'prepared→active ms'],
        migrations.map((m) => [
          m.memoryMiB, m.load, m.ratePps, m.round1DirtyRatePps, m.downtimeMs.median.toFixed(1), m.totalMs.median.toFixed(0), m.rounds, m.pagesSent,
          (m.bytesSent / 2 ** 20).toFixed(1), m.stopcopyPages, m.pauseToPreparedMs.toFixed(0), m.preparedToActiveMs.toFixed(1),
        ]),
      ),
    );
    log(
      table(
        ['MiB', 'touched pages', 'save ms', 'restore ms', 'image MiB', 'image bytes / touched MiB'],
        saveRestore.map((s) => [
          s.memoryMiB, s.touchedPages, s.saveMs.median.toFixed(0), s.restoreMs.median.toFixed(0), (s.imageBytes / 2 ** 20).toFixed(1),
          s.imageBytesPerTouchedMiB.toFixed(0),
        ]),
      ),
    );
    const headline = migrations.find((m) => m.memoryMiB === 128 && m.load === 'moderate');
    return {
      suite: 'migrate',
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, loadavgStart: loadStart, loadavgEnd: loadavg() },
      conventions: {
        downtimeMs: 'source paused → target ACTIVE received by the source (MigrationResult.downtimeMs), median of runs',
        pauseToPreparedMs: 'stop-and-copy pages + the final state record + the target restoring it, until PREPARED arrives (progress elapsedMs, 1 ms resolution)',
        preparedToActiveMs: 'COMMIT → the target activates → ACTIVE arrives',
        load: 'memdirty walks its pages in pfn order, one write per page per pass: no page is rewritten within a round',
        hosts: 'two LocalHypervisors with HostServer agents on 127.0.0.1, one Node process',
      },
      target: { downtimeMs: 20, at: '128 MiB, moderate load', measuredMs: headline?.downtimeMs.median ?? null, xenPublishedMs: { quake3: 60, specweb: 210 } },
      migrations,
      saveRestore,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await stopHost(a);
    await stopHost(b);
  }
}

export const suite: BenchSuite = {
  name: 'migrate',
  description: 'live migration (downtime, total, rounds, bytes) and save/restore of memdirty at 32/128/512 MiB, idle and under write load',
  run,
};
