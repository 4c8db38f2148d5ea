// Running the real CLI, controller and host for e2e tests: a temp dir with manifests and a state
// dir, `xenoform up` as a child process (timers accelerated with --clock-scale), and CLI calls.
import { spawn, type ChildProcess, execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Domain, DomainList } from '../../crds/index.ts';

export const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
export const BIN = join(ROOT, 'bin', 'xenoform.js');
export const GUESTS = join(ROOT, 'guests', 'build');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function manifest(name: string, kernel: string, extra = '', memory = 32): string {
  return [
    'apiVersion: xenoform.dev/v1alpha1',
    'kind: Domain',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  kernel: ${join(GUESTS, kernel)}`,
    `  memory: ${memory}`,
    extra.trimEnd(),
    '',
  ].filter((l, i, a) => l !== '' || i === a.length - 1).join('\n');
}

export class World {
  readonly dir = mkdtempSync(join(tmpdir(), 'xfe-'));
  readonly manifests = join(this.dir, 'm');
  readonly state = join(this.dir, 's');
  up?: ChildProcess;
  upOut = '';
  upErr = '';
  /** host agents started with startTcpHost, by name */
  readonly tcpHosts = new Map<string, ChildProcess>();

  constructor() {
    mkdirSync(this.manifests);
  }

  write(file: string, text: string): void {
    const tmp = join(this.manifests, `.${file}.tmp`);
    writeFileSync(tmp, text);
    // an editor's atomic save: write aside, rename over
    renameSync(tmp, join(this.manifests, file));
  }

  remove(file: string): void {
    rmSync(join(this.manifests, file), { force: true });
  }

  /** Starts `xenoform up` on the manifests dir; resolves once its API answers. */
  async startUp(args: string[] = []): Promise<void> {
    this.upOut = '';
    this.upErr = '';
    const child = spawn(process.execPath, [BIN, '--state-dir', this.state, 'up', this.manifests, '--clock-scale', '100', '--grace-period', '2', ...args], {
      cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XENOFORM_NO_FSYNC: '1' },
    });
    child.stdout!.on('data', (b: Buffer) => (this.upOut += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (this.upErr += b.toString()));
    this.up = child;
    await waitFor(async () => (await this.cli(['get', 'domains', '-o', 'json'])).code === 0, 20_000, () => `up did not answer; stderr: ${this.upErr}`);
  }

  /** Stops `up` with a signal and waits for it to exit; returns its exit code. */
  async stopUp(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.up;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(signal);
    const code = await exited;
    this.up = undefined;
    return code;
  }

  cli(args: string[], opts: { timeoutMs?: number } = {}): Promise<CliResult> {
    return new Promise((res) => {
      execFile(process.execPath, [BIN, '--state-dir', this.state, ...args], { cwd: this.dir, timeout: opts.timeoutMs ?? 30_000 }, (e, stdout, stderr) => {
        res({ code: e ? (typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : 1) : 0, stdout, stderr });
      });
    });
  }

  async domains(): Promise<Domain[]> {
    const r = await this.cli(['get', 'domains', '-o', 'json']);
    if (r.code !== 0) throw new Error(`get domains failed: ${r.stderr}`);
    return (JSON.parse(r.stdout) as DomainList).items;
  }

  async domain(name: string): Promise<Domain | undefined> {
    return (await this.domains()).find((d) => d.metadata.name === name);
  }

  /** Polls until `pred` holds for the Domain (or for its absence: undefined). */
  async waitDomain(name: string, pred: (d: Domain | undefined) => boolean, timeoutMs = 20_000): Promise<Domain | undefined> {
    let last: Domain | undefined;
    await waitFor(async () => pred((last = await this.domain(name))), timeoutMs, () => `Domain ${name} never got there; last: ${JSON.stringify(last?.status)}\nup stderr: ${this.upErr.slice(-2000)}`);
    return last;
  }

  hostPid(): number | undefined {
    try { return Number(readFileSync(join(this.state, 'host.pid'), 'utf8').trim()) || undefined; } catch { return undefined; }
  }

  /**
   * Starts a host agent on TCP (`xenoform host --listen 127.0.0.1:0 --token-file F`, its own
   * state dir under this world); resolves with the port the kernel chose. `env` is added to
   * its environment (e.g. XENOFORM_FAULT_INJECT).
   */
  async startTcpHost(name: string, tokenFile: string, env: NodeJS.ProcessEnv = {}, opts: { privateDirs?: string[] } = {}): Promise<number> {
    const stateDir = join(this.dir, `host-${name}`);
    mkdirSync(stateDir, { recursive: true });
    const args = [BIN, '--state-dir', stateDir, 'host', '--listen', '127.0.0.1:0', '--token-file', tokenFile];
    // privateDirs: the host sees its own empty directories there (a private mount namespace
    // with a tmpfs on each), as a host on another machine would — needs root (unshare -m)
    const q = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
    const child = opts.privateDirs
      ? spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
        [...opts.privateDirs.map((d) => `mount -t tmpfs tmpfs ${q(d)}`), `exec ${[process.execPath, ...args].map(q).join(' ')}`].join(' && ')], {
        stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env },
      })
      : spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    this.tcpHosts.set(name, child);
    let stderr = '';
    return new Promise((resolve, reject) => {
      child.stderr!.on('data', (b: Buffer) => {
        stderr += b.toString();
        // "xenoform host: serving the Hypervisor API on <sock> and 127.0.0.1:PORT (pid N)"
        const m = /serving the Hypervisor API on \S+ and 127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`host ${name} exited (${code}): ${stderr}`)));
    });
  }

  async cleanup(): Promise<void> {
    await this.stopUp('SIGTERM').catch(() => undefined);
    for (const h of this.tcpHosts.values()) if (h.exitCode === null && h.signalCode === null) h.kill('SIGKILL');
    const pid = this.hostPid();
    if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function waitFor(pred: () => Promise<boolean> | boolean, timeoutMs: number, why: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out: ${why()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const cond = (d: Domain | undefined, type: string) => d?.status?.conditions?.find((c) => c.type === type);

export function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try { process.kill(pid, 0); return true; } catch { return false; }
}
