// `xenoform boot KERNEL` as a user runs it (../shared/DESIGN.md §4): the real bin/xenoform.js
// as a child process, real guest images from guests/build (expected output as documented at the
// top of each guests/src/*.c) and small synthetic kernels for the ends the kit guests do not
// cover. stdout must carry exactly the guest's console; diagnostics go to stderr.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testGuest } from '../../runtime/api.test-guests.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'xenoform.js');

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }

/** Runs the CLI; `signal` is sent once stdout contains `after` (or at once). */
function xenoform(args: string[], opts: { cwd?: string; signal?: NodeJS.Signals; after?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [bin, ...args], { cwd: opts.cwd ?? root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XENOFORM_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const maybeSignal = () => {
      if (opts.signal && !sent && stdout.includes(opts.after ?? '')) {
        sent = true;
        child.kill(opts.signal);
      }
    };
    child.stdout.setEncoding('latin1').on('data', (d) => { stdout += d; maybeSignal(); });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const guard = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

const noStackTrace = (r: Run) => {
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr.split('\n').filter(Boolean).length).toBeLessThanOrEqual(1);
};

const HELLO = (nrPages: number, cmdline = '') => `Hello from Xenoform!\nstart_info: magic=xen-3.0-x86_32p nr_pages=${nrPages} cmdline="${cmdline}"\n`;

let dir: string;
const guest = (name: string) => join(dir, `${name}.elf`);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xf-boot-'));
  for (const end of ['poweroff', 'reboot', 'watchdog', 'block', 'spin'] as const) writeFileSync(guest(end), testGuest(`test guest: ${end}\n`, end));
  // random bytes: not an ELF image
  writeFileSync(guest('random'), Uint8Array.from({ length: 8192 }, (_, i) => (i * 2654435761) >>> 24));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('xenoform boot: the kit guests', () => {
  it('hello: stdout is exactly its console, exit 0 on poweroff', async () => {
    const r = await xenoform(['boot', 'guests/build/hello.elf']);
    expect(r.stdout).toBe(HELLO(8192));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('hello with --memory and --cmdline: start_info carries them', async () => {
    const r = await xenoform(['boot', join(root, 'guests/build/hello.elf'), '--memory', '64', '--cmdline', 'console=hvc0 quiet'], { cwd: dir });
    expect(r.stdout).toBe(HELLO(16384, 'console=hvc0 quiet'));
    expect(r.code).toBe(0);
  });

  it('crash: its line on stdout, one line with the reason on stderr, exit 1', async () => {
    const r = await xenoform(['boot', 'guests/build/crash.elf']);
    expect(r.stdout).toBe('crash: writing to address 0 with no trap handler\n');
    expect(r.stderr).toMatch(/^xenoform: domain crash \(id \d+\) crashed: page fault at 0x00000000\b.*\n$/);
    expect(r.code).toBe(1);
  });

  it('ticker with --timeout 1: exit 124 after about a second, console so far on stdout', async () => {
    const r = await xenoform(['boot', 'guests/build/ticker.elf', '--timeout', '1']);
    expect(r.code).toBe(124);
    expect(r.stdout).toMatch(/^ticker: ready\n(tick 1\n)?$/);
    expect(r.stderr).toMatch(/timeout/);
    expect(r.ms).toBeGreaterThanOrEqual(1000);
    expect(r.ms).toBeLessThan(10_000);
    noStackTrace(r);
  });
});

describe('xenoform boot: every end and its exit code', () => {
  it('poweroff → 0, nothing on stderr', async () => {
    const r = await xenoform(['boot', guest('poweroff')]);
    expect(r).toMatchObject({ code: 0, stdout: 'test guest: poweroff\n', stderr: '' });
  });

  it('reboot request → 3', async () => {
    const r = await xenoform(['boot', guest('reboot')]);
    expect(r).toMatchObject({ code: 3, stdout: 'test guest: reboot\n' });
    noStackTrace(r);
  });

  it('watchdog → 1 with a line on stderr', async () => {
    const r = await xenoform(['boot', guest('watchdog')]);
    expect(r).toMatchObject({ code: 1, stdout: 'test guest: watchdog\n' });
    expect(r.stderr).toMatch(/watchdog/);
    noStackTrace(r);
  });

  it('a blocked guest with --timeout 1 → 124', async () => {
    const r = await xenoform(['boot', guest('block'), '--timeout', '1']);
    expect(r).toMatchObject({ code: 124, stdout: 'test guest: block\n' });
  });

  it('SIGINT → destroy and exit 130; SIGTERM → 143', async () => {
    const a = await xenoform(['boot', guest('spin')], { signal: 'SIGINT', after: 'spin\n' });
    expect(a).toMatchObject({ code: 130, stdout: 'test guest: spin\n' });
    const b = await xenoform(['boot', guest('block')], { signal: 'SIGTERM', after: 'block\n' });
    expect(b).toMatchObject({ code: 143, stdout: 'test guest: block\n' });
  });
});

describe('xenoform boot: refused images and arguments exit 2', () => {
  it('random bytes: not a PV kernel', async () => {
    const r = await xenoform(['boot', guest('random')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: kernel .*random\.elf refused: .*\n$/);
  });

  it('a missing file, a directory', async () => {
    const a = await xenoform(['boot', join(dir, 'missing.elf')]);
    expect(a).toMatchObject({ code: 2, stdout: '' });
    expect(a.stderr).toBe(`error: cannot read kernel ${join(dir, 'missing.elf')}: no such file\n`);
    const b = await xenoform(['boot', dir]);
    expect(b).toMatchObject({ code: 2, stdout: '' });
    expect(b.stderr).toMatch(/not a regular file/);
  });

  it('more memory than the host has', async () => {
    const r = await xenoform(['boot', guest('poweroff'), '--memory', '200000']);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(/^error: domain "poweroff" needs 200000 MiB but the host has only \d+ MiB/);
  });

  it('bad option values and missing arguments are usage errors', async () => {
    for (const args of [['--memory', 'lots'], ['--memory', '0'], ['--vcpus', '-1'], ['--vcpus', '33'], ['--timeout', 'soon'], ['--timeout', '0']]) {
      const r = await xenoform(['boot', guest('poweroff'), ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      noStackTrace(r);
    }
    expect((await xenoform(['boot'])).code).toBe(2);
  });

  it('--help documents the flags', async () => {
    const r = await xenoform(['boot', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--memory', '--vcpus', '--cmdline', '--timeout']) expect(r.stdout).toContain(flag);
  });
});
