// The controller's one door to the runtime: the Hypervisor API (runtime/api.ts) and its socket
// client (runtime/client.ts); nothing else of runtime/ is imported (../shared/CONVENTIONS.md).
// Also: finding, starting and stopping the local host process that `up` manages
// (../shared/DESIGN.md §2 "Processes"), and an informer-style cache of `xl list`.
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, closeSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DomainEvent, DomainInfo, DomainRow, HypervisorApi } from '../runtime/api.ts';
import { RemoteHypervisor } from '../runtime/client.ts';
import { XenoformError } from './errors.ts';

export type {
  ConsoleStream, CreateSpec, DomainEvent, DomainInfo, DomainRow, HostInfo, HostStats, HypervisorApi, Stream,
} from '../runtime/api.ts';

/** The package's CLI entry, for starting `xenoform host` as a child process. */
export const XENOFORM_BIN = resolve(fileURLToPath(import.meta.url), '..', '..', 'bin', 'xenoform.js');

export const hostSocketPath = (stateDir: string) => join(stateDir, 'host.sock');
export const hostPidPath = (stateDir: string) => join(stateDir, 'host.pid');

/** A hypervisor error's code (HypervisorError and errors rebuilt from the wire carry one). */
export function errorCode(e: unknown): string {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'string' ? c : 'EINTERNAL';
}

export class HostStartError extends XenoformError {
  readonly code = 'HostStart';
}

/** Whether something accepts connections on a unix socket. */
export function socketLive(path: string, timeoutMs = 1000): Promise<boolean> {
  if (!existsSync(path)) return Promise.resolve(false);
  return new Promise((res) => {
    const s = connect(path);
    const done = (v: boolean) => { s.destroy(); res(v); };
    s.setTimeout(timeoutMs, () => done(true));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export function connectHost(stateDir: string): HypervisorApi {
  return new RemoteHypervisor({ socketPath: hostSocketPath(stateDir) });
}

export interface LocalHost {
  hv: HypervisorApi;
  /** true when this process started the host (and so may stop it) */
  started: boolean;
  pid?: number;
}

/**
 * Connects to the local host of `stateDir`, starting `xenoform host --state-dir DIR` in the
 * background if none answers. The child is detached, in its own process group, with its output
 * in <state-dir>/host.log: killing the controller (even with kill -9) leaves it and its domains
 * running.
 */
export async function ensureLocalHost(stateDir: string, opts: { timeoutMs?: number; args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<LocalHost> {
  const sock = hostSocketPath(stateDir);
  if (await socketLive(sock)) {
    const hv = connectHost(stateDir);
    await hv.info();
    return { hv, started: false, pid: readPid(stateDir) };
  }
  const log = openSync(join(stateDir, 'host.log'), 'a', 0o600);
  const child = spawn(process.execPath, [XENOFORM_BIN, '--state-dir', stateDir, 'host', ...(opts.args ?? [])], {
    detached: true,
    stdio: ['ignore', log, log],
    env: opts.env ?? process.env,
  });
  closeSync(log);
  let exited: number | null | undefined;
  child.once('exit', (code) => { exited = code; });
  child.unref();
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new HostStartError(`the host process exited (code ${exited}) before it listened on ${sock}; see ${join(stateDir, 'host.log')}`);
    if (await socketLive(sock, 200)) {
      const hv = connectHost(stateDir);
      try {
        await hv.info();
        return { hv, started: true, pid: child.pid };
      } catch { /* not answering yet */ }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  try { process.kill(child.pid!, 'SIGTERM'); } catch { /* gone */ }
  throw new HostStartError(`the host did not listen on ${sock} within ${opts.timeoutMs ?? 15_000} ms; see ${join(stateDir, 'host.log')}`);
}

function readPid(stateDir: string): number | undefined {
  try {
    const n = Number(readFileSync(hostPidPath(stateDir), 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `xl list` as the controller sees it: domains by name, kept current from host events between
 * lists (informer-style) and relisted when older than `maxAgeMs`. Reconcile reads a domain's
 * full record from the host itself (hv.domain); this cache only maps names to domids.
 */
export class ObservedDomains {
  private rows = new Map<string, DomainRow>();
  /** domids seen destroyed: late news about them is ignored (domids are not reused while a host lives) */
  private dead = new Set<number>();
  private fetchedAt = -Infinity;
  private inflight: Promise<void> | undefined;
  private inflightGeneration = 0;
  /** bumped by invalidate(): lists begun before it do not count */
  private generation = 0;

  constructor(private readonly hv: HypervisorApi, private readonly now: () => number, private readonly maxAgeMs = 1000) {}

  /** Relists if the cache is older than maxAgeMs (one list shared by concurrent callers). */
  async fresh(maxAgeMs = this.maxAgeMs): Promise<void> {
    if (this.now() - this.fetchedAt <= maxAgeMs) return;
    await this.relist();
  }

  relist(): Promise<void> {
    // a list begun before an invalidate() may predate what invalidated it: a new one is due
    if (this.inflight && this.inflightGeneration === this.generation) return this.inflight;
    const generation = (this.inflightGeneration = this.generation);
    const p = this.list(generation).finally(() => {
      if (this.inflight === p) this.inflight = undefined;
    });
    this.inflight = p;
    return p;
  }

  private async list(generation: number): Promise<void> {
    const started = this.now();
    const rows = await this.hv.list();
    if (generation !== this.generation) return;
    const next = new Map<string, DomainRow>();
    for (const r of rows) if (r.id !== 0) next.set(r.name, r);
    this.rows = next;
    this.fetchedAt = started;
  }

  get(name: string): DomainRow | undefined {
    return this.rows.get(name);
  }

  all(): DomainRow[] {
    return [...this.rows.values()];
  }

  /** What a create/pause/… returned (authoritative), or an event carried (late news of a destroyed domid is ignored). */
  put(info: DomainInfo, authoritative = false): void {
    if (authoritative) this.dead.delete(info.domid);
    else if (this.dead.has(info.domid)) return;
    this.rows.set(info.name, { name: info.name, id: info.domid, memoryMiB: Math.floor(info.memoryKiB / 1024), vcpus: info.vcpus, state: info.state, cpuTimeS: info.cpuTimeNs / 1e9 });
  }

  /** A domain destroyed (by us or as an event said). */
  remove(name: string, domid: number): void {
    if (this.dead.size > 100_000) this.dead.clear();
    this.dead.add(domid);
    this.forget(name, domid);
  }

  /** A row that turned out stale (the host does not know that domid). */
  forget(name: string, domid: number): void {
    if (this.rows.get(name)?.id === domid) this.rows.delete(name);
  }

  apply(ev: DomainEvent): void {
    if (ev.type === 'destroyed') this.remove(ev.name, ev.domid);
    else this.put(ev.info);
  }

  /** Forget everything (the host went away): the next fresh() lists again. */
  invalidate(): void {
    this.generation++;
    this.fetchedAt = -Infinity;
    this.dead.clear(); // a new host counts domids from 1 again
  }
}
