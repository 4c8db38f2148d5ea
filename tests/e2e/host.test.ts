// `xenoform host` and `xenoform host stop` as a user runs them: the real bin/xenoform.js in the
// background, its socket and pid file in a temporary state dir, domains driven through
// RemoteHypervisor, and the one-line errors and exit codes of ../shared/DESIGN.md §4.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HypervisorError } from '../../runtime/api.ts';
import { testGuest } from '../../runtime/api.test-guests.ts';
import { RemoteHypervisor } from '../../runtime/client.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'xenoform.js');

interface Run { code: number | null; stdout: string; stderr: string }

function xenoform(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XENOFORM_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Background { child: ChildProcess; stderr: () => string; exit: Promise<number | null> }
const started: Background[] = [];

/** Starts `xenoform host …` in the background; resolves once it serves (or has exited). */
async function startHost(args: string[]): Promise<Background> {
  const child = spawn(process.execPath, [bin, 'host', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XENOFORM_DEBUG: '' } });
  let stderr = '';
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const bg = { child, stderr: () => stderr, exit };
  started.push(bg);
  await new Promise<void>((resolve) => {
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (/serving the Hypervisor API/.test(stderr)) resolve();
    });
    void exit.then(() => resolve());
  });
  return bg;
}

async function until(f: () => boolean | Promise<boolean>, what: () => string = () => 'a condition', ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let dir: string;
let n = 0;
const stateDir = () => join(dir, `s${++n}`);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xf-host-'));
});
afterEach(() => {
  for (const bg of started.splice(0)) if (bg.child.exitCode === null) bg.child.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('xenoform host', () => {
  it('serves host.sock (0600) with host.pid; host stop stops it; stop again says no host runs', async () => {
    const sd = stateDir();
    const bg = await startHost(['--state-dir', sd]);
    const sock = join(sd, 'host.sock');
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(sd, 'host.pid'), 'utf8')).toBe(`${bg.child.pid}\n`);
    const hv = new RemoteHypervisor({ socketPath: sock });
    const info = await hv.info();
    expect(info).toMatchObject({ pid: bg.child.pid, clock: 'wall', pcpus: 1, memoryTotalMiB: 65536 });
    expect((await hv.list())[0]).toMatchObject({ name: 'Domain-0', id: 0 });
    await hv.close();

    const stop = await xenoform(['host', 'stop', '--state-dir', sd]);
    expect(stop).toMatchObject({ code: 0, stdout: 'host stopped: 0 domains shut down, 0 destroyed after the grace period\n', stderr: '' });
    expect(await bg.exit).toBe(0);
    expect(existsSync(sock)).toBe(false);
    expect(existsSync(join(sd, 'host.pid'))).toBe(false);

    const again = await xenoform(['--state-dir', sd, 'host', 'stop']);
    expect(again).toMatchObject({ code: 1, stdout: '', stderr: `error: no host is running for state dir ${sd}\n` });
  });

  it('refuses to start beside a live host; replaces the socket a killed host left', async () => {
    const sd = stateDir();
    const first = await startHost(['--state-dir', sd]);
    const second = await xenoform(['host', '--state-dir', sd]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another host is already running on .*host\.sock/);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    first.child.kill('SIGKILL'); // a power cut: the socket file stays
    await first.exit;
    expect(existsSync(join(sd, 'host.sock'))).toBe(true);
    const third = await startHost(['--state-dir', sd]);
    expect(third.child.exitCode).toBe(null);
    expect(third.stderr()).toMatch(/serving the Hypervisor API/);
    third.child.kill('SIGTERM');
    expect(await third.exit).toBe(143);
  });

  it('host stop --save saves the domains; the next start restores them and they carry on (xendomains)', async () => {
    const sd = stateDir();
    const bg = await startHost(['--state-dir', sd]);
    const hv = new RemoteHypervisor({ socketPath: join(sd, 'host.sock') });
    const t = await hv.create({ name: 'ticker', kernel: join(root, 'guests/build/ticker.elf'), memoryMiB: 16 });
    const text = async (h: RemoteHypervisor, id: number) => {
      let out = '';
      for await (const b of h.console(id)) out += Buffer.from(b).toString('latin1');
      return out;
    };
    await until(async () => /tick 2\n/.test(await text(hv, t.domid)), () => 'tick 2');
    const r = await xenoform(['host', 'stop', '--save', '--state-dir', sd]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe('host stopped: 1 domain saved (restored when it next starts), 0 domains shut down, 0 destroyed after the grace period\n');
    expect(await bg.exit).toBe(0);
    await hv.close();
    expect(existsSync(join(sd, 'saved', 'ticker.save'))).toBe(true);

    const again = await startHost(['--state-dir', sd]);
    expect(again.stderr()).toMatch(/restored ticker from .*ticker\.save/);
    expect(existsSync(join(sd, 'saved', 'ticker.save'))).toBe(false);
    const hv2 = new RemoteHypervisor({ socketPath: join(sd, 'host.sock') });
    const row = (await hv2.list()).find((x) => x.name === 'ticker')!;
    const before = (await text(hv2, row.id)).match(/tick (\d+)/g)!.length;
    await until(async () => ((await text(hv2, row.id)).match(/tick (\d+)/g) ?? []).length > before, () => 'a tick after the restore');
    const log = await text(hv2, row.id);
    const ticks = [...log.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
    expect(ticks).toEqual(ticks.map((_, i) => i + 1)); // one sequence across the stop
    expect(log.match(/ticker: ready/g)).toHaveLength(1); // not rebooted
    await hv2.close();
    expect((await xenoform(['host', 'stop', '--state-dir', sd])).code).toBe(0);
  });

  it('refuses a state dir whose socket path is over the unix limit', async () => {
    const long = join(dir, 'd'.repeat(110));
    const r = await xenoform(['host', '--state-dir', long]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/over the 107-byte limit of unix sockets: use a shorter --state-dir\n$/);
  });

  it('a crashing guest does not take the host down; domains stay until host stop', async () => {
    const sd = stateDir();
    const bg = await startHost(['--state-dir', sd]);
    const hv = new RemoteHypervisor({ socketPath: join(sd, 'host.sock') });
    const bad = await hv.create({ name: 'bad', kernel: testGuest('bad\n', 'fault'), memoryMiB: 8 });
    const crash = await hv.create({ name: 'crash', kernel: join(root, 'guests/build/crash.elf'), memoryMiB: 8 });
    await until(async () => (await hv.domain(bad.domid)).state === '----c-' && (await hv.domain(crash.domid)).state === '----c-');
    expect((await hv.list()).map((r) => r.name)).toEqual(['Domain-0', 'bad', 'crash']);
    expect(bg.stderr()).toMatch(/domain \d+ \(bad\) crashed: page fault/);
    await hv.close();
    const stop = await xenoform(['host', 'stop', '--state-dir', sd]);
    expect(stop).toMatchObject({ code: 0, stdout: 'host stopped: 0 domains shut down, 0 destroyed after the grace period\n' });
    expect(await bg.exit).toBe(0);
  });

  it('host stop shuts a ticker down gracefully (control/shutdown poweroff)', async () => {
    const sd = stateDir();
    const bg = await startHost(['--state-dir', sd]);
    const hv = new RemoteHypervisor({ socketPath: join(sd, 'host.sock') });
    const t = await hv.create({ name: 'ticker', kernel: join(root, 'guests/build/ticker.elf'), memoryMiB: 32 });
    const console = hv.console(t.domid, { follow: true });
    let out = '';
    const reading = (async () => {
      for await (const c of console) out += Buffer.from(c).toString('latin1');
    })();
    reading.catch(() => undefined); // awaited below; a failed wait above must not leave it unhandled
    await until(() => out.includes('ticker: ready\n'), () => `"ticker: ready" (console so far: ${JSON.stringify(out)})`);
    const stop = await xenoform(['host', 'stop', '--state-dir', sd]);
    expect(stop).toMatchObject({ code: 0, stdout: 'host stopped: 1 domain shut down, 0 destroyed after the grace period\n' });
    await reading;
    expect(out).toMatch(/^ticker: ready\n(tick \d+\n)*ticker: poweroff requested\n$/);
    expect(await bg.exit).toBe(0);
    await hv.close();
  });

  it('SIGTERM stops the host gracefully and exits 143', async () => {
    const sd = stateDir();
    const bg = await startHost(['--state-dir', sd]);
    const hv = new RemoteHypervisor({ socketPath: join(sd, 'host.sock') });
    await hv.create({ name: 'off', kernel: testGuest('off\n', 'poweroff'), memoryMiB: 8 });
    await hv.close();
    bg.child.kill('SIGTERM');
    expect(await bg.exit).toBe(143);
    expect(bg.stderr()).toMatch(/stopping: shutting domains down/);
    expect(existsSync(join(sd, 'host.sock'))).toBe(false);
  });
});

describe('xenoform host --listen (TCP with a token)', () => {
  it('refuses TCP without a token file, or with a bad one (usage: exit 2)', async () => {
    const sd = stateDir();
    const r = await xenoform(['host', '--state-dir', sd, '--listen', '127.0.0.1:0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--listen needs --token-file/);
    const bad = await xenoform(['host', '--state-dir', sd, '--listen', 'nowhere']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/HOST:PORT/);
    const missing = await xenoform(['host', '--state-dir', sd, '--listen', '127.0.0.1:0', '--token-file', join(dir, 'none')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read token file/);
  });

  it('serves TCP with the token; a wrong token gets 401 (EACCES)', async () => {
    const sd = stateDir();
    mkdirSync(sd, { recursive: true });
    const tokenFile = join(sd, 'token');
    writeFileSync(tokenFile, 'a-long-enough-secret-token\n', { mode: 0o600 });
    // find a free port, then let the host take it
    const port = Number(spawnSync(process.execPath, ['-e', "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"]).stdout.toString().trim());
    const bg = await startHost(['--state-dir', sd, '--listen', `127.0.0.1:${port}`, '--token-file', tokenFile]);
    expect(bg.stderr()).toContain(`127.0.0.1:${port}`);
    const good = new RemoteHypervisor({ url: `http://127.0.0.1:${port}`, token: 'a-long-enough-secret-token' });
    const wrong = new RemoteHypervisor({ url: `http://127.0.0.1:${port}`, token: 'a-long-enough-secret-tokeN' });
    expect((await good.info()).pid).toBe(bg.child.pid);
    const e = await wrong.list().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HypervisorError);
    expect(e).toMatchObject({ code: 'EACCES', status: 401 });
    await good.close();
    await wrong.close();
    expect((await xenoform(['host', 'stop', '--state-dir', sd])).code).toBe(0);
    expect(await bg.exit).toBe(0);
  });
});
