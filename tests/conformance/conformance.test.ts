/**
 * Differential conformance: every self-checking program in tests/conformance/build runs on the
 * emulated CPU (tests/support/linux-user.ts) and must print exactly what the host CPU prints for
 * the same binary, with the same exit status — the host is the oracle (README.md here; the Blink
 * model in /work/shared/CONVENTIONS.md). Each program is also held to its committed native output
 * build/<name>.txt, so the comparison still means something on a host that cannot run i386 code.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LinuxUser, type RunResult } from '../support/linux-user.ts';
import { X86 } from '../../runtime/cpu/index.ts';

const BUILD = join(dirname(fileURLToPath(import.meta.url)), 'build');
const PROGRAMS = readdirSync(BUILD)
  .filter((f) => f.endsWith('.elf'))
  .map((f) => f.slice(0, -4))
  .sort();

/** Output of one run, as bytes in a latin1 string (what LinuxUser captures). */
interface Outcome {
  stdout: string;
  exitCode: number | undefined;
  detail: string;
}

/**
 * Whether this host runs static i386 Linux binaries (x86 Linux with IA32 emulation: true here,
 * and in CI, which installs gcc-multilib). Decided once, by running one program.
 */
const NATIVE = ((): boolean => {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'ia32')) return false;
  const probe = PROGRAMS[0];
  if (probe === undefined) return false;
  const r = spawnSync(join(BUILD, `${probe}.elf`), [], { env: {}, timeout: 10_000 });
  return r.error === undefined && r.status !== null;
})();

function runNative(name: string, args: string[] = []): Outcome {
  // An empty environment, as `make check` does: output must not depend on it anyway.
  const r = spawnSync(join(BUILD, `${name}.elf`), args, { env: {}, maxBuffer: 64 << 20, timeout: 30_000 });
  if (r.error) throw r.error;
  return { stdout: r.stdout.toString('latin1'), exitCode: r.status ?? undefined, detail: r.signal ? `signal ${r.signal}` : '' };
}

/**
 * Replace the initial stack LinuxUser built (argc = 1, argv = {"prog"}) with one carrying
 * `args` too, laid out as the i386 psABI says (argc, argv[], NULL, envp NULL, AT_NULL), below
 * the old one so nothing the program pushes can overwrite it. linux-user.ts stays untouched.
 */
function setArgs(lu: LinuxUser, args: string[]): void {
  const cpu = lu.cpu;
  const oldSp = cpu.r32[X86.ESP]! >>> 0;
  const argv0 = cpu.read32((oldSp + 4) | 0);
  const strings = args.map((a) => new TextEncoder().encode(`${a}\0`));
  const sp = (oldSp - 512) & ~15;
  let at = sp + 128;
  const ptrs = [argv0];
  for (const s of strings) {
    ptrs.push(at);
    s.forEach((b, n) => cpu.write8(at + n, b));
    at += s.length;
  }
  const words = [ptrs.length, ...ptrs, 0, 0, 0, 0];
  words.forEach((w, n) => cpu.write32(sp + n * 4, w));
  cpu.r32[X86.ESP] = sp;
}

/** `translate: false` keeps every block in the interpreter (no translation tier). */
function runEmulated(name: string, args: string[] = [], translate = true): Outcome & { result: RunResult } {
  const lu = LinuxUser.fromFile(join(BUILD, `${name}.elf`));
  if (args.length) setArgs(lu, args);
  if (!translate) lu.cpu.translate = false;
  const result = lu.run(2e9);
  const f = result.fault;
  const detail = f
    ? `died of exception ${f.vector} (error code ${f.errorCode}) at EIP ${f.eip.toString(16)}, CR2 ${f.cr2.toString(16)}`
    : result.exitCode === undefined ? 'did not exit' : '';
  return { stdout: result.stdout, exitCode: result.exitCode, detail, result };
}

/** Undefined when equal; otherwise where the two outputs first part, line by line. */
export function firstDifference(expected: string, actual: string): string | undefined {
  if (expected === actual) return undefined;
  const e = expected.split('\n'), a = actual.split('\n');
  for (let n = 0; n < Math.max(e.length, a.length); n++) {
    if (e[n] !== a[n]) {
      const show = (s: string | undefined): string => (s === undefined ? '<end of output>' : JSON.stringify(s));
      return `first difference at line ${n + 1}:\n  expected ${show(e[n])}\n  actual   ${show(a[n])}`;
    }
  }
  return 'outputs differ (line structure identical?)';
}

function assertSame(what: string, expected: Outcome, actual: Outcome): void {
  const problems: string[] = [];
  if (actual.detail) problems.push(`emulator: ${actual.detail}`);
  const diff = firstDifference(expected.stdout, actual.stdout);
  if (diff) problems.push(`stdout differs from ${what}: ${diff}`);
  if (expected.exitCode !== actual.exitCode) problems.push(`exit code ${actual.exitCode} (${what}: ${expected.exitCode})`);
  if (problems.length) throw new Error(problems.join('\n'));
}

describe('conformance: emulator vs host CPU', () => {
  it('finds the programs', () => {
    expect(PROGRAMS.length).toBeGreaterThanOrEqual(8);
  });

  it('reports the first differing line', () => {
    expect(firstDifference('a\nb\n', 'a\nb\n')).toBeUndefined();
    expect(firstDifference('a\nb\nc\n', 'a\nB\nc\n')).toBe('first difference at line 2:\n  expected "b"\n  actual   "B"');
    expect(firstDifference('a\nb\n', 'a\n')).toMatch(/line 2:[^]*actual {3}""/);
    expect(firstDifference('a\n', 'a\nextra')).toMatch(/line 2:[^]*expected ""[^]*actual {3}"extra"/);
  });

  for (const name of PROGRAMS) {
    it(name, () => {
      const emu = runEmulated(name);
      const committed = join(BUILD, `${name}.txt`);
      expect(existsSync(committed), `${committed} is committed`).toBe(true);
      // The committed output was made by `make expected`, which requires exit status 0.
      assertSame(`build/${name}.txt`, { stdout: readFileSync(committed, 'latin1'), exitCode: 0, detail: '' }, emu);
      if (NATIVE) assertSame('the native run', runNative(name), emu);
      expect(emu.result.instructions).toBeGreaterThan(0);
    });
  }

  // The same programs with the translation tier off: both engines must match the host.
  for (const name of PROGRAMS) {
    it(`${name} (interpreter only)`, () => {
      const emu = runEmulated(name, [], false);
      assertSame(`build/${name}.txt`, { stdout: readFileSync(join(BUILD, `${name}.txt`), 'latin1'), exitCode: 0, detail: '' }, emu);
    });
  }
});

/**
 * `-v` prints one line per case (megabytes for some): it is how a difference is tracked to one
 * input, so it must itself agree. The cwork-* programs have no per-case mode. LinuxUser starts
 * programs with argc = 1, so the arguments are written into the guest's initial stack here.
 */
describe.skipIf(!NATIVE)('conformance: per-case (-v) output', () => {
  const VERBOSE = PROGRAMS.filter((p) => !p.startsWith('cwork-'));
  for (const name of VERBOSE) {
    it(`${name} -v`, () => {
      const native = runNative(name, ['-v']);
      const plain = readFileSync(join(BUILD, `${name}.txt`), 'latin1');
      expect(native.stdout.length, 'the program supports -v').toBeGreaterThan(plain.length);
      assertSame('the native run with -v', native, runEmulated(name, ['-v']));
    });
  }
});
