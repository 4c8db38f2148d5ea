/**
 * The host agent: the Hypervisor API (api.ts) served as HTTP+JSON, on a unix socket (mode
 * 0600, no token: the file mode is the access control, as for Xen's xenstored socket and
 * Docker's) and optionally on TCP with a bearer token (remote hosts, ../shared/DESIGN.md §2
 * "Processes"). Routes, all under /v1:
 *
 *   GET  /info                       HostInfo
 *   GET  /domains                    DomainRow[] (xl list, Domain-0 first)
 *   POST /domains                    CreateSpec, kernel as {path} or {base64} → DomainInfo
 *   GET  /domains/:id                DomainInfo
 *   POST /domains/:id/pause|unpause|destroy
 *   POST /domains/:id/shutdown       {reason, wait?, timeoutMs?}
 *   POST /domains/:id/memory         {targetMiB}
 *   POST /domains/:id/sched          {weight?, cap?}
 *   POST /domains/:id/save|migrate, POST /domains/restore   (501 until they exist)
 *   GET  /stats                      HostStats
 *   GET  /domains/:id/console?follow=1&since=N   octet stream; X-Console-Offset = first byte's position
 *   POST /domains/:id/console        raw bytes → the guest's console input
 *   GET  /events                     NDJSON stream of DomainEvent
 *   POST /host/stop                  {save?, graceMs?} → StopHostResult; the agent then exits
 *   GET  /net/uplink                 Upgrade: xenoform-frames → 101; then length-prefixed Ethernet
 *                                    frames both ways: a port on the host's switch (devices/net/README.md)
 *
 * Errors: 4xx/5xx with {"error": {"code", "message"}}; never a stack trace on the wire.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { StreamFrameLink } from './devices/net/uplink.ts';
import { INCOMING_PATH, MIGRATE_PROTOCOL } from './migrate/connect.ts';
import {
  HypervisorError, InvalidArgumentError, MAX_CONSOLE_WRITE, parseHostPort, MAX_KERNEL_BYTES, NoSuchDomainError, toHypervisorError,
  UnauthorizedError, type CreateSpec, type HypervisorApi, type NetworkApi, type ShutdownRequest, type StopHostResult,
} from './api.ts';

/** sun_path is 108 bytes with the terminating NUL (sys/un.h). */
export const MAX_SOCKET_PATH_BYTES = 107;
/** JSON bodies: a create may carry a base64 kernel image. */
const MAX_CREATE_BODY = Math.ceil((MAX_KERNEL_BYTES * 4) / 3) + 64 * 1024;
const MAX_BODY = 1024 * 1024;
/** A streaming reader this far behind is cut off (it can resume with ?since=). */
const MAX_STREAM_BUFFER = 8 * 2 ** 20;

export interface ServerOptions {
  hv: HypervisorApi;
  /** serve on this unix socket */
  socketPath?: string;
  /** also (or only) serve on TCP; needs `token` */
  listen?: { host: string; port: number };
  /** the bearer token TCP clients must present */
  token?: string;
  /** called after POST /v1/host/stop has stopped the hypervisor and answered */
  onStop?: (result: StopHostResult) => void;
  /** diagnostics (internal errors); default: nothing */
  log?: (line: string) => void;
}

/** "127.0.0.1:8080", "[::1]:8080", "localhost:8080" → {host, port}; refuses anything else. */
export function parseListen(addr: string): { host: string; port: number } {
  const hp = parseHostPort(addr);
  if (!hp) throw new InvalidArgumentError(`--listen takes HOST:PORT (e.g. 127.0.0.1:7510), not ${JSON.stringify(addr)}`);
  return hp;
}

/** Refuses a socket path over the unix limit with advice, rather than a cryptic EINVAL. */
export function checkSocketPath(path: string): void {
  const n = Buffer.byteLength(path);
  if (n > MAX_SOCKET_PATH_BYTES) {
    throw new InvalidArgumentError(`socket path ${path} is ${n} bytes, over the ${MAX_SOCKET_PATH_BYTES}-byte limit of unix sockets: use a shorter --state-dir`);
  }
}

/** Whether something accepts connections on a unix socket. */
export function socketIsLive(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (live: boolean) => {
      s.destroy();
      resolve(live);
    };
    s.setTimeout(timeoutMs, () => done(true)); // accepted but silent: someone is there
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Frees `path` for a new server: a stale socket goes; a live one, or anything else, is refused. */
export async function claimSocketPath(path: string): Promise<void> {
  checkSocketPath(path);
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new InvalidArgumentError(`${path} exists and is not a socket; refusing to replace it`);
  if (await socketIsLive(path)) throw new HypervisorError('EEXIST', `another host is already running on ${path}`);
  unlinkSync(path);
}

/** Constant-time token check (hashing first makes the lengths equal). */
function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  const given = createHash('sha256').update(m ? m[1]! : '').digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
}

export class HostServer {
  private readonly servers: Server[] = [];
  private readonly streams = new Set<() => void>();
  private stopping = false;
  socketPath: string | undefined;
  tcp: { host: string; port: number } | undefined;

  private constructor(private readonly opts: ServerOptions) {}

  static async start(opts: ServerOptions): Promise<HostServer> {
    if (!opts.socketPath && !opts.listen) throw new InvalidArgumentError('nothing to listen on: give a socket path or a TCP address');
    if (opts.listen && !opts.token) throw new InvalidArgumentError('refusing to serve on TCP without a token (--token-file)');
    const s = new HostServer(opts);
    try {
      if (opts.socketPath) {
        await claimSocketPath(opts.socketPath);
        const srv = s.makeServer(false);
        // the socket is born 0600: no window in which another user could connect
        const old = process.umask(0o177);
        try {
          await listen(srv, () => srv.listen(opts.socketPath));
        } finally {
          process.umask(old);
        }
        chmodSync(opts.socketPath, 0o600);
        s.socketPath = opts.socketPath;
      }
      if (opts.listen) {
        const srv = s.makeServer(true);
        await listen(srv, () => srv.listen(opts.listen!.port, opts.listen!.host));
        const a = srv.address();
        s.tcp = { host: opts.listen.host, port: typeof a === 'object' && a ? a.port : opts.listen.port };
      }
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  private makeServer(needsToken: boolean): Server {
    const srv = createServer((req, res) => {
      if (needsToken && !tokenMatches(req.headers.authorization, this.opts.token!)) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        return sendError(res, new UnauthorizedError());
      }
      this.handle(req, res).catch((e) => this.fail(res, e));
    });
    srv.on('clientError', (_e, socket) => socket.destroy());
    srv.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head, needsToken));
    this.servers.push(srv);
    return srv;
  }

  async close(): Promise<void> {
    for (const end of this.streams) end();
    await Promise.all(
      this.servers.map((srv) => new Promise<void>((r) => {
        if (!srv.listening) return r();
        srv.close(() => r());
        srv.closeAllConnections();
      })),
    );
    if (this.socketPath) {
      try {
        unlinkSync(this.socketPath);
      } catch {
        /* already gone */
      }
    }
  }

  private fail(res: ServerResponse, e: unknown): void {
    const err = toHypervisorError(e);
    if (err.code === 'EINTERNAL') this.opts.log?.(`host: ${err.message}${e instanceof Error && e.stack ? `\n${e.stack}` : ''}`);
    if (res.headersSent) return void res.destroy();
    sendError(res, err);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const hv = this.opts.hv;
    const url = new URL(req.url ?? '/', 'http://host');
    const parts = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (parts[0] !== 'v1') throw notFound(method, url.pathname);
    const [, a, b, c] = parts;
    const route = (m: string, n: number) => method === m && parts.length === n;

    if (a === 'info' && route('GET', 2)) return send(res, await hv.info());
    if (a === 'stats' && route('GET', 2)) return send(res, await hv.stats());
    if (a === 'events' && route('GET', 2)) return this.streamEvents(req, res);
    if (a === 'host' && b === 'stop' && route('POST', 3)) {
      const body = obj(await readJson(req));
      if (this.stopping) throw new HypervisorError('EHOSTDOWN', 'the host is already stopping');
      const result = await hv.stopHost({ save: optBool(body, 'save'), graceMs: optNum(body, 'graceMs') });
      this.stopping = true;
      send(res, result);
      res.once('finish', () => setImmediate(() => this.opts.onStop?.(result)));
      return;
    }
    if (a === 'migrations' && b === 'incoming') {
      if (route('GET', 3)) return send(res, await hv.incoming());
      const name = c === undefined ? '' : decodeURIComponent(c);
      if (route('POST', 5) && parts[4] === 'commit') return send(res, await hv.commitIncoming(name));
      if (route('POST', 5) && parts[4] === 'abort') return send(res, await hv.abortIncoming(name));
    }
    if (a === 'domains') {
      if (route('GET', 2)) return send(res, await hv.list());
      if (route('POST', 2)) return send(res, await hv.create(toCreateSpec(await readJson(req, MAX_CREATE_BODY))), 201);
      if (b === 'restore' && route('POST', 3)) {
        const body = obj(await readJson(req));
        return send(res, await hv.restore(String(body.file ?? ''), { paused: optBool(body, 'paused') }), 201);
      }
      if (b !== undefined) {
        const id = domid(b);
        if (c === undefined && route('GET', 3)) return send(res, await hv.domain(id));
        if (c === 'console' && route('GET', 4)) return this.streamConsole(req, res, id, url.searchParams);
        if (c === 'xenstore' && route('GET', 4)) return send(res, { value: await hv.xenstoreRead(id, url.searchParams.get('path') ?? '') });
        if (c === 'console' && route('POST', 4)) {
          await hv.consoleWrite(id, await readBody(req, MAX_CONSOLE_WRITE));
          return send(res, {});
        }
        if (method === 'POST' && parts.length === 4) {
          const body = obj(await readJson(req));
          switch (c) {
            case 'pause': return send(res, await hv.pause(id));
            case 'unpause': return send(res, await hv.unpause(id));
            case 'destroy': await hv.destroy(id); return send(res, {});
            case 'shutdown':
              return send(res, await hv.shutdown(id, (body.reason ?? 'poweroff') as ShutdownRequest, { wait: optBool(body, 'wait'), timeoutMs: optNum(body, 'timeoutMs') }));
            case 'memory': return send(res, await hv.setMemoryTarget(id, num(body, 'targetMiB')));
            case 'sched': return send(res, await hv.setSched(id, { weight: optNum(body, 'weight'), cap: optNum(body, 'cap') }));
            case 'save': await hv.save(id, String(body.file ?? ''), { checkpoint: optBool(body, 'checkpoint') }); return send(res, {});
            case 'migrate': return this.streamMigration(res, id, body);
          }
        }
      }
    }
    throw notFound(method, url.pathname);
  }

  /** GET /v1/net/uplink with Upgrade: xenoform-frames — a switch port for the gateway. */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, needsToken: boolean): void {
    const refuse = (err: HypervisorError) => {
      const body = JSON.stringify({ error: { code: err.code, message: err.message } });
      socket.end(`HTTP/1.1 ${err.status} ${err.code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    socket.on('error', () => socket.destroy());
    if (needsToken && !tokenMatches(req.headers.authorization, this.opts.token!)) return refuse(new UnauthorizedError());
    const path = new URL(req.url ?? '/', 'http://host').pathname;
    if (path === INCOMING_PATH && req.method === 'POST' && String(req.headers.upgrade).toLowerCase() === MIGRATE_PROTOCOL) {
      const hv = this.opts.hv as HypervisorApi & { acceptMigration?: (s: Duplex, head: Buffer, from: string) => void };
      if (typeof hv.acceptMigration !== 'function' || this.stopping) return refuse(new HypervisorError('ENOSYS', 'this host does not accept migrations'));
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${MIGRATE_PROTOCOL}\r\nConnection: Upgrade\r\n\r\n`);
      const end = () => socket.destroy();
      this.streams.add(end);
      socket.once('close', () => this.streams.delete(end));
      const from = (socket as { remoteAddress?: string; remotePort?: number });
      return hv.acceptMigration(socket, head, from.remoteAddress ? `${from.remoteAddress}:${from.remotePort}` : 'local');
    }
    if (path !== '/v1/net/uplink' || req.method !== 'GET' || String(req.headers.upgrade).toLowerCase() !== 'xenoform-frames') {
      return refuse(notFound(`${req.method} (upgrade ${req.headers.upgrade})`, path));
    }
    const hv = this.opts.hv as HypervisorApi & Partial<NetworkApi>;
    if (typeof hv.uplink !== 'function') return refuse(new HypervisorError('ENOSYS', 'this host has no network'));
    hv.uplink().then((link) => {
      if (socket.destroyed) return link.close();
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: xenoform-frames\r\nConnection: Upgrade\r\n\r\n');
      const remote = new StreamFrameLink(socket, 1 << 20, head);
      remote.onFrame((f) => link.send(f));
      link.onFrame((f) => remote.send(f));
      const end = () => {
        this.streams.delete(end);
        remote.close();
        link.close();
      };
      this.streams.add(end);
      remote.onClose(end);
      link.onClose(end);
    }, (e) => refuse(toHypervisorError(e)));
  }

  /** Keeps a streaming response registered so close() can end it. */
  private track(res: ServerResponse, end: () => void): void {
    const stop = () => {
      this.streams.delete(stop);
      end();
      if (!res.writableEnded) res.end();
    };
    this.streams.add(stop);
    res.once('close', stop);
  }

  private async streamConsole(_req: IncomingMessage, res: ServerResponse, id: number, q: URLSearchParams): Promise<void> {
    const since = q.has('since') ? Number(q.get('since')) : 0;
    const follow = ['1', 'true', 'yes'].includes(q.get('follow') ?? '');
    const stream = this.opts.hv.console(id, { follow, since }); // throws ENOENT/EINVAL before any byte
    await stream.ready;
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'X-Console-Offset': String(stream.offset), 'Cache-Control': 'no-store' });
    res.flushHeaders();
    this.track(res, () => stream.close());
    for await (const chunk of stream) {
      if (res.destroyed) break;
      res.write(chunk);
      if (res.writableLength > MAX_STREAM_BUFFER) break; // a reader that does not read
    }
    if (!res.writableEnded) res.end();
  }

  /** POST /v1/domains/:id/migrate: NDJSON {"progress"} lines per round, then {"result"} or {"error"}. */
  private async streamMigration(res: ServerResponse, id: number, body: Record<string, unknown>): Promise<void> {
    const t = obj(body.target);
    const target = { address: String(t.address ?? ''), token: String(t.token ?? '') };
    const opts = {
      maxRateMiBps: optNum(body, 'maxRateMiBps'), maxRounds: optNum(body, 'maxRounds'),
      minDirtyPages: optNum(body, 'minDirtyPages'), paused: optBool(body, 'paused'),
    };
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
    res.flushHeaders();
    const line = (v: unknown) => { if (!res.destroyed) res.write(JSON.stringify(v) + '\n'); };
    try {
      const result = await this.opts.hv.migrate(id, target, { ...opts, onProgress: (progress) => line({ progress }) });
      line({ result });
    } catch (e) {
      const err = toHypervisorError(e);
      if (err.code === 'EINTERNAL') this.opts.log?.(`host: ${err.message}`);
      line({ error: { code: err.code, message: err.message } });
    }
    if (!res.writableEnded) res.end();
  }

  private async streamEvents(_req: IncomingMessage, res: ServerResponse): Promise<void> {
    const stream = this.opts.hv.events();
    await stream.ready;
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
    res.flushHeaders();
    this.track(res, () => stream.close());
    try {
      for await (const ev of stream) {
        if (res.destroyed) break;
        res.write(JSON.stringify(ev) + '\n');
        if (res.writableLength > MAX_STREAM_BUFFER) break;
      }
    } catch (e) {
      // an overflowed stream ends with one error line, so the reader knows to list again
      const err = toHypervisorError(e);
      if (!res.destroyed) res.write(JSON.stringify({ error: { code: err.code, message: err.message } }) + '\n');
    }
    if (!res.writableEnded) res.end();
  }
}

// ---- request and response helpers ----------------------------------------------------------

function listen(srv: Server, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.once('listening', () => {
      srv.off('error', reject);
      resolve();
    });
    start();
  });
}

function send(res: ServerResponse, value: unknown, status = 200): void {
  const body = JSON.stringify(value ?? {});
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, err: HypervisorError): void {
  const body = JSON.stringify({ error: { code: err.code, message: err.message } });
  res.writeHead(err.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body);
}

function notFound(method: string, path: string): HypervisorError {
  return new HypervisorError('EINVAL', `no such API route: ${method} ${path}`);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      // past the limit, keep draining (so the client reads our answer rather than a reset)
      // up to a hard cap, beyond which the connection is cut
      if (n > limit * 4 + 1024 * 1024) req.destroy();
      else if (n <= limit) chunks.push(c);
    });
    req.on('end', () => (n > limit ? reject(new InvalidArgumentError(`request body over ${limit} bytes`)) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
    req.on('close', () => reject(new InvalidArgumentError('request body cut short')));
  });
}

async function readJson(req: IncomingMessage, limit = MAX_BODY): Promise<unknown> {
  const buf = await readBody(req, limit);
  if (buf.length === 0) return {};
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw new InvalidArgumentError('request body is not valid JSON');
  }
}

function obj(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidArgumentError('request body must be a JSON object');
  return v as Record<string, unknown>;
}

function domid(s: string): number {
  if (!/^\d{1,9}$/.test(s)) throw new NoSuchDomainError(s);
  return Number(s);
}

function optBool(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`${key} must be true or false`);
  return v;
}

function optNum(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') throw new InvalidArgumentError(`${key} must be a number`);
  return v;
}

function num(body: Record<string, unknown>, key: string): number {
  const v = optNum(body, key);
  if (v === undefined) throw new InvalidArgumentError(`${key} is required`);
  return v;
}

/** The wire form of CreateSpec: kernel {path} (read by the host) or {base64} (the bytes). */
function toCreateSpec(v: unknown): CreateSpec {
  const body = obj(v);
  const k = body.kernel as { path?: unknown; base64?: unknown } | undefined;
  let kernel: string | Uint8Array;
  if (k && typeof k === 'object' && typeof k.path === 'string') kernel = k.path;
  else if (k && typeof k === 'object' && typeof k.base64 === 'string') kernel = Buffer.from(k.base64, 'base64');
  else throw new InvalidArgumentError('kernel must be {"path": "<file on the host>"} or {"base64": "<image>"}');
  return { ...(body as unknown as CreateSpec), kernel };
}
