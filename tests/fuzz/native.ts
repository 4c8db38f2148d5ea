/**
 * Native side of the CPU fuzzer, seen from Node: build tests/fuzz/build/harness when it is
 * missing or older than its sources (and gcc -m32 works), run a batch of cases through one
 * harness process, and decode its results.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  HAS_ERROR_CODE, HELLO_BYTES, HELLO_MAGIC, encodeCases, type CaseInput, type NativeResult, type MemoryChange,
} from './layout.ts';

export const FUZZ_DIR = dirname(fileURLToPath(import.meta.url));
export const HARNESS = join(FUZZ_DIR, 'build', 'harness');
/** SHA-256 of the sources the committed binary was built from (mtimes are meaningless in a clone). */
const STAMP = join(FUZZ_DIR, 'build', 'harness.sources.sha256');
const SOURCES = ['harness.c', 'Makefile'].map((f) => join(FUZZ_DIR, f));

function sourcesHash(): string {
  const h = createHash('sha256');
  for (const f of SOURCES) h.update(readFileSync(f));
  return h.digest('hex');
}

/** Why the native side cannot run here, or undefined when it can. */
export function ensureHarness(): string | undefined {
  const hash = sourcesHash();
  const stale = !existsSync(HARNESS) || !existsSync(STAMP) || readFileSync(STAMP, 'utf8').trim() !== hash;
  if (stale) {
    const make = spawnSync('make', ['-B', '-C', FUZZ_DIR, 'build/harness'], { encoding: 'utf8' });
    if (make.status === 0) writeFileSync(STAMP, `${hash}\n`);
    else if (!existsSync(HARNESS)) return `cannot build ${HARNESS} (gcc -m32 / gcc-multilib missing?):\n${make.stderr || make.error?.message}`;
    // A failed rebuild with a binary present: keep using the binary.
  }
  const probe = spawnSync(HARNESS, [], { input: Buffer.alloc(0) });
  if (probe.error || probe.status !== 0) {
    return `cannot run ${HARNESS} (no 32-bit x86 execution here?): ${probe.error?.message ?? `exit ${probe.status}, ${probe.stderr}`}`;
  }
  return undefined;
}

export interface NativeBatch {
  /** The harness's segment selectors, ES CS SS DS FS GS (the emulator loads the same). */
  selectors: number[];
  results: NativeResult[];
}

/** Run cases natively; one harness process for the whole batch. */
export function runNative(cases: readonly CaseInput[]): NativeBatch {
  const r = spawnSync(HARNESS, [], { input: encodeCases(cases), maxBuffer: 1 << 30, timeout: 600_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`harness exited with ${r.status ?? r.signal}: ${r.stderr}`);
  return decodeResults(r.stdout, cases);
}

function decodeResults(out: Buffer, cases: readonly CaseInput[]): NativeBatch {
  if (out.length < HELLO_BYTES || out.readUInt32LE(0) !== HELLO_MAGIC) throw new Error('harness: bad greeting');
  const selectors: number[] = [];
  for (let k = 0; k < 6; k++) selectors.push(out.readUInt16LE(4 + 2 * k));
  const results: NativeResult[] = [];
  let p = HELLO_BYTES;
  for (let n = 0; n < cases.length; n++) {
    if (p + 54 > out.length) throw new Error(`harness: output ends after ${results.length} of ${cases.length} results`);
    const vector = out.readUInt32LE(p);
    const err = out.readUInt32LE(p + 4);
    const cr2 = out.readUInt32LE(p + 8);
    const eip = out.readUInt32LE(p + 12);
    const regs = new Uint32Array(8);
    for (let r = 0; r < 8; r++) regs[r] = out.readUInt32LE(p + 16 + 4 * r);
    const eflags = out.readUInt32LE(p + 48);
    const nruns = out.readUInt16LE(p + 52);
    p += 54;
    const changes: MemoryChange[] = [];
    for (let k = 0; k < nruns; k++) {
      const off = out.readUInt16LE(p);
      const len = out.readUInt16LE(p + 2);
      changes.push({ off, bytes: out.subarray(p + 4, p + 4 + len) });
      p += 4 + len;
    }
    results.push({ vector, errorCode: HAS_ERROR_CODE.has(vector) ? err : -1, cr2: vector === 14 ? cr2 : 0, eip, regs, eflags, changes });
  }
  return { selectors, results };
}
