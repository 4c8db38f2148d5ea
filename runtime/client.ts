/**
 * RemoteHypervisor: the Hypervisor API (api.ts) spoken to a host agent (server.ts) over its
 * unix socket or TCP with a bearer token. It behaves as LocalHypervisor does: the same
 * results, the same error classes and codes (rebuilt from {"error": {code, message}}).
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import {
  AsyncQueue, ByteStream, errorFromCode, HostUnavailableError, HypervisorError, InvalidArgumentError, MAX_CONSOLE_WRITE, STREAM_BACKLOG, StreamOverflowError,
  type ConsoleOptions, type ConsoleStream, type CreateSpec, type DomainEvent, type DomainInfo, type DomainRow,
  type HostInfo, type HostStats, type HypervisorApi, type ShutdownOptions, type ShutdownRequest, type StopHostOptions,
  type StopHostResult, type Stream, type FrameLink, type NetworkApi,
  type IncomingMigration, type MigrateOptions, type MigrationResult, type MigrationTarget,
} from './api.ts';
import { StreamFrameLink } from './devices/net/uplink.ts';

export interface RemoteOptions {
  /** the host's unix socket (e.g. <state-dir>/host.sock) */
  socketPath?: string;
  /** or its TCP address, http://HOST:PORT */
  url?: string;
  /** bearer token (TCP) */
  token?: string;
}

export class RemoteHypervisor implements HypervisorApi, NetworkApi {
  private readonly agent = new Agent({ keepAlive: true });
  private readonly target: { socketPath: string } | { host: string; port: number };
  private readonly where: string;

  constructor(private readonly opts: RemoteOptions) {
    if (opts.socketPath) {
      this.target = { socketPath: opts.socketPath };
      this.where = opts.socketPath;
    } else if (opts.url) {
      const u = new URL(opts.url);
      if (u.protocol !== 'http:') throw new HypervisorError('EINVAL', `host URL must be http://HOST:PORT, not ${opts.url}`);
      this.target = { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80) };
      this.where = u.host;
    } else throw new HypervisorError('EINVAL', 'RemoteHypervisor needs a socketPath or a url');
  }

  /** Starts a request; resolves with the response once its headers arrive (errors rebuilt). */
  private open(method: string, path: string, body?: Uint8Array | string, contentType = 'application/json'): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { Accept: 'application/json' };
      if (this.opts.token) headers.Authorization = `Bearer ${this.opts.token}`;
      if (body !== undefined) {
        headers['Content-Type'] = contentType;
        headers['Content-Length'] = Buffer.byteLength(body);
      }
      const req = request({ ...this.target, agent: this.agent, method, path, headers }, async (res) => {
        if ((res.statusCode ?? 500) < 300) return resolve(res);
        reject(await errorOf(res));
      });
      req.on('error', (e: NodeJS.ErrnoException) => reject(this.connectError(e)));
      req.end(body);
    });
  }

  private connectError(e: NodeJS.ErrnoException): HypervisorError {
    if (e instanceof HypervisorError) return e;
    if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') return new HostUnavailableError(`no host is listening on ${this.where}`);
    return new HostUnavailableError(`cannot reach the host at ${this.where}: ${e.message}`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.open(method, path, body === undefined ? undefined : JSON.stringify(body));
    const text = (await readAll(res)).toString('utf8');
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new HypervisorError('EPROTO', `the host at ${this.where} answered ${method} ${path} with something that is not JSON`);
    }
  }

  /**
   * A long call whose response is NDJSON: {"progress": …} lines while it runs, then one
   * {"result": …} or {"error": {code, message}} line (a migration reports each round).
   */
  private async callProgress<T, P>(method: string, path: string, body: unknown, onProgress?: (p: P) => void): Promise<T> {
    const res = await this.open(method, path, JSON.stringify(body));
    res.setEncoding('utf8');
    let partial = '';
    let outcome: { result?: T; error?: { code: string; message: string } } | undefined;
    for await (const s of res as AsyncIterable<string>) {
      const lines = (partial + s).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!line) continue;
        let v: { progress?: P; result?: T; error?: { code: string; message: string } };
        try {
          v = JSON.parse(line);
        } catch {
          throw new HypervisorError('EPROTO', `the host at ${this.where} answered ${method} ${path} with a line that is not JSON`);
        }
        if (v.progress !== undefined) onProgress?.(v.progress);
        else outcome = v;
      }
    }
    if (outcome?.error) throw errorFromCode(outcome.error.code, outcome.error.message);
    if (!outcome || !('result' in outcome)) throw new HypervisorError('EPROTO', `the host at ${this.where} ended ${method} ${path} without a result`);
    return outcome.result as T;
  }

  info(): Promise<HostInfo> {
    return this.call('GET', '/v1/info');
  }

  list(): Promise<DomainRow[]> {
    return this.call('GET', '/v1/domains');
  }

  domain(id: number): Promise<DomainInfo> {
    return this.call('GET', `/v1/domains/${seg(id)}`);
  }

  async xenstoreRead(id: number, path: string): Promise<string | undefined> {
    const r = await this.call<{ value?: string }>('GET', `/v1/domains/${seg(id)}/xenstore?path=${encodeURIComponent(path)}`);
    return r.value;
  }

  create(spec: CreateSpec): Promise<DomainInfo> {
    const kernel = typeof spec.kernel === 'string' ? { path: spec.kernel } : { base64: Buffer.from(spec.kernel).toString('base64') };
    return this.call('POST', '/v1/domains', { ...spec, kernel });
  }

  pause(id: number): Promise<DomainInfo> {
    return this.call('POST', `/v1/domains/${seg(id)}/pause`, {});
  }

  unpause(id: number): Promise<DomainInfo> {
    return this.call('POST', `/v1/domains/${seg(id)}/unpause`, {});
  }

  shutdown(id: number, reason: ShutdownRequest, opts: ShutdownOptions = {}): Promise<DomainInfo> {
    return this.call('POST', `/v1/domains/${seg(id)}/shutdown`, { reason, ...opts });
  }

  async destroy(id: number): Promise<void> {
    await this.call('POST', `/v1/domains/${seg(id)}/destroy`, {});
  }

  setMemoryTarget(id: number, mib: number): Promise<DomainInfo> {
    return this.call('POST', `/v1/domains/${seg(id)}/memory`, { targetMiB: mib });
  }

  setSched(id: number, params: { weight?: number; cap?: number }): Promise<DomainInfo> {
    return this.call('POST', `/v1/domains/${seg(id)}/sched`, params);
  }

  stats(): Promise<HostStats> {
    return this.call('GET', '/v1/stats');
  }

  console(id: number, opts: ConsoleOptions = {}): ConsoleStream {
    let res: IncomingMessage | undefined;
    const q = new ByteStream(() => res?.destroy());
    const query = new URLSearchParams();
    if (opts.follow) query.set('follow', '1');
    if (opts.since !== undefined) query.set('since', String(opts.since));
    q.ready = this.open('GET', `/v1/domains/${seg(id)}/console?${query}`).then((r) => {
      res = r;
      q.offset = Number(r.headers['x-console-offset'] ?? 0);
      if (q.closed) return void r.destroy();
      r.on('data', (b: Buffer) => q.push(new Uint8Array(b.buffer, b.byteOffset, b.length)));
      r.on('end', () => q.end());
      r.on('error', (e) => q.fail(this.connectError(e)));
      r.on('close', () => q.end());
    });
    q.ready.catch((e) => q.fail(e));
    return q;
  }

  async consoleWrite(id: number, bytes: Uint8Array): Promise<void> {
    if (bytes.length > MAX_CONSOLE_WRITE) throw new InvalidArgumentError(`console input is limited to ${MAX_CONSOLE_WRITE} bytes per write`);
    const res = await this.open('POST', `/v1/domains/${seg(id)}/console`, bytes, 'application/octet-stream');
    await readAll(res);
  }

  events(): Stream<DomainEvent> {
    let res: IncomingMessage | undefined;
    const q = new AsyncQueue<DomainEvent>(() => res?.destroy(), STREAM_BACKLOG, () => new StreamOverflowError('event reader fell too far behind; list again and watch anew'));
    q.ready = this.open('GET', '/v1/events').then((r) => {
      res = r;
      if (q.closed) return void r.destroy();
      let partial = '';
      r.setEncoding('utf8');
      r.on('data', (s: string) => {
        const lines = (partial + s).split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          if (!line) continue;
          let v: DomainEvent & { error?: { code: string; message: string } };
          try {
            v = JSON.parse(line);
          } catch {
            return q.fail(new HypervisorError('EPROTO', `the host at ${this.where} sent an event that is not JSON`));
          }
          if (v.error) return q.fail(errorFromCode(v.error.code, v.error.message));
          q.push(v);
        }
      });
      r.on('end', () => q.end());
      r.on('close', () => q.end());
    });
    q.ready.catch((e) => q.fail(e));
    return q;
  }

  async save(id: number, file: string, opts: { checkpoint?: boolean } = {}): Promise<void> {
    await this.call('POST', `/v1/domains/${seg(id)}/save`, { file, ...opts });
  }

  restore(file: string, opts: { paused?: boolean } = {}): Promise<DomainInfo> {
    return this.call('POST', '/v1/domains/restore', { file, ...opts });
  }

  migrate(id: number, target: MigrationTarget, opts: MigrateOptions = {}): Promise<MigrationResult> {
    const { onProgress, ...rest } = opts;
    return this.callProgress('POST', `/v1/domains/${seg(id)}/migrate`, { target, ...rest }, onProgress);
  }

  incoming(): Promise<IncomingMigration[]> {
    return this.call('GET', '/v1/migrations/incoming');
  }

  commitIncoming(name: string): Promise<DomainInfo> {
    return this.call('POST', `/v1/migrations/incoming/${encodeURIComponent(name)}/commit`, {});
  }

  async abortIncoming(name: string): Promise<void> {
    await this.call('POST', `/v1/migrations/incoming/${encodeURIComponent(name)}/abort`, {});
  }

  /** A port on the host's switch: GET /v1/net/uplink upgraded to a stream of length-prefixed frames. */
  uplink(): Promise<FrameLink> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { Connection: 'Upgrade', Upgrade: 'xenoform-frames' };
      if (this.opts.token) headers.Authorization = `Bearer ${this.opts.token}`;
      const req = request({ ...this.target, method: 'GET', path: '/v1/net/uplink', headers });
      req.on('upgrade', (_res, socket, head) => {
        (socket as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
        resolve(new StreamFrameLink(socket, 1 << 20, head));
      });
      req.on('response', (res) => void errorOf(res).then(reject));
      req.on('error', (e: NodeJS.ErrnoException) => reject(this.connectError(e)));
      req.end();
    });
  }

  stopHost(opts: StopHostOptions = {}): Promise<StopHostResult> {
    return this.call('POST', '/v1/host/stop', opts);
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

/** A domain id as a path segment (anything odd is sent as is and refused by the host). */
function seg(id: number): string {
  return encodeURIComponent(String(id));
}

function readAll(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

async function errorOf(res: IncomingMessage): Promise<HypervisorError> {
  const text = (await readAll(res).catch(() => Buffer.alloc(0))).toString('utf8');
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    if (e && typeof e.code === 'string' && typeof e.message === 'string') return errorFromCode(e.code, e.message);
  } catch {
    /* not ours */
  }
  return new HypervisorError('EPROTO', `HTTP ${res.statusCode}: ${text.slice(0, 200) || res.statusMessage}`);
}
