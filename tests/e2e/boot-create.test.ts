// `xenoform create [-c] CONFIG [KEY=VALUE…]` as a user runs it: xl/xm config files, kernel paths
// relative to the current directory as xl reads them, warnings with their line, refused files
// with file:line (exit 2), and the config's on_poweroff/on_reboot/on_crash actions.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testGuest } from '../../runtime/api.test-guests.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'xenoform.js');

interface Run { code: number | null; stdout: string; stderr: string }

/**
 * Runs the CLI. `stdin`: bytes written once stdout contains `after`; `signal`: sent once stdout
 * has shown `after` `times` times.
 */
function xenoform(args: string[], opts: { cwd?: string; stdin?: string; signal?: NodeJS.Signals; after?: string; times?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: opts.cwd ?? root, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, XENOFORM_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    let acted = false;
    const act = () => {
      if (acted || !opts.after || stdout.split(opts.after).length - 1 < (opts.times ?? 1)) return;
      acted = true;
      if (opts.stdin !== undefined) child.stdin.write(opts.stdin);
      if (opts.signal) child.kill(opts.signal);
    };
    child.stdout.setEncoding('latin1').on('data', (d) => { stdout += d; act(); });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    child.stdin.on('error', () => undefined);
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

const HELLO = (nrPages: number, cmdline = '') => `Hello from Xenoform!\nstart_info: magic=xen-3.0-x86_32p nr_pages=${nrPages} cmdline="${cmdline}"\n`;

let dir: string;
const cfg = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xf-create-'));
  for (const end of ['poweroff', 'reboot', 'block'] as const) writeFileSync(join(dir, `${end}.elf`), testGuest(`test guest: ${end}\n`, end));
  copyFileSync(join(root, 'guests/build/hello.elf'), join(dir, 'hello.elf'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('xenoform create', () => {
  it('boots tests/fixtures/xl/hello.cfg: stdout exactly hello\'s console, exit 0', async () => {
    const r = await xenoform(['create', 'tests/fixtures/xl/hello.cfg']);
    expect(r.stdout).toBe(HELLO(8192));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('KEY=VALUE arguments are extra config lines (xm create myconf memory=64)', async () => {
    const r = await xenoform(['create', 'tests/fixtures/xl/hello.cfg', 'memory=64', 'extra="quiet"']);
    expect(r.stdout).toBe(HELLO(16384, 'quiet'));
    expect(r.code).toBe(0);
  });

  it('reads the kernel relative to the current directory, as xl does', async () => {
    const file = cfg('rel.cfg', "name = 'rel'\nkernel = 'hello.elf'\nmemory = 32\n");
    const r = await xenoform(['create', file], { cwd: dir });
    expect(r).toMatchObject({ code: 0, stdout: HELLO(8192) });
    const elsewhere = await xenoform(['create', file], { cwd: root });
    expect(elsewhere).toMatchObject({ code: 2, stdout: '' });
    expect(elsewhere.stderr).toMatch(/cannot read kernel hello\.elf: no such file/);
  });

  it('reports keys with no Domain field as warnings with their line, and still boots', async () => {
    const file = cfg('warn.cfg', "name = 'warn'\nkernel = 'poweroff.elf'\nmemory = 8\nvnc = 1\n");
    const r = await xenoform(['create', file], { cwd: dir });
    expect(r).toMatchObject({ code: 0, stdout: 'test guest: poweroff\n' });
    expect(r.stderr).toBe(`${file}:4:1: warning: \`vnc' has no Domain field; ignored\n`);
  });

  it('a file Xen\'s parser refuses exits 2 with file:line; a missing file exits 2', async () => {
    const file = cfg('bad.cfg', "name = 'bad'\nkernel = \nmemory = 8\n");
    const r = await xenoform(['create', file]);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2:\\d+: .*syntax error`));
    const missing = await xenoform(['create', join(dir, 'nope.cfg')]);
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toMatch(/nope\.cfg: unable to open configuration file/);
    expect((await xenoform(['create', 'tests/fixtures/xl/hello.cfg', 'notkeyvalue'])).code).toBe(2);
  });

  it('on_reboot=destroy exits 3; the default (restart) boots it again until interrupted', async () => {
    const file = cfg('reboot.cfg', "name = 'rb'\nkernel = 'reboot.elf'\nmemory = 8\n");
    const once = await xenoform(['create', file, "on_reboot='destroy'"], { cwd: dir });
    expect(once).toMatchObject({ code: 3, stdout: 'test guest: reboot\n' });
    const again = await xenoform(['create', file], { cwd: dir, signal: 'SIGTERM', after: 'test guest: reboot\n', times: 2 });
    expect(again.code).toBe(143);
    expect(again.stdout.startsWith('test guest: reboot\ntest guest: reboot\n')).toBe(true);
    expect(again.stderr).toMatch(/asked to reboot; restarting/);
  });

  it('on_crash: the crash guest exits 1 with its reason; restart boots it again', async () => {
    const file = cfg('crash.cfg', `name = 'crash'\nkernel = '${join(root, 'guests/build/crash.elf')}'\nmemory = 8\n`);
    const r = await xenoform(['create', file]);
    expect(r).toMatchObject({ code: 1, stdout: 'crash: writing to address 0 with no trap handler\n' });
    expect(r.stderr).toMatch(/^xenoform: domain crash \(id 1\) crashed: page fault at 0x00000000\b.*\n$/);
    const line = 'crash: writing to address 0 with no trap handler\n';
    const again = await xenoform(['create', file, "on_crash='restart'"], { signal: 'SIGINT', after: line, times: 2 });
    expect(again.code).toBe(130);
    expect(again.stdout.startsWith(line + line)).toBe(true);
  });

  it('on_poweroff=preserve keeps the domain until interrupted', async () => {
    const file = cfg('keep.cfg', "name = 'keep'\nkernel = 'poweroff.elf'\nmemory = 8\non_poweroff = 'preserve'\n");
    const r = await xenoform(['create', file], { cwd: dir, signal: 'SIGINT', after: 'poweroff\n' });
    expect(r).toMatchObject({ code: 130, stdout: 'test guest: poweroff\n' });
    expect(r.stderr).toMatch(/powered off; preserved/);
  });

  it('-c forwards stdin and Ctrl-] detaches (exit 0)', async () => {
    const file = cfg('attach.cfg', "name = 'attach'\nkernel = 'block.elf'\nmemory = 8\n");
    const r = await xenoform(['create', '-c', file], { cwd: dir, after: 'block\n', stdin: 'typed\r\x1d' });
    expect(r).toMatchObject({ code: 0, stdout: 'test guest: block\n', stderr: '' });
  });
});
