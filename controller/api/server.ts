// The controller's API: HTTP+JSON on <state-dir>/api.sock, mode 0600 (the file mode is the
// access control, as for Docker's socket). The CLI's managing verbs talk only to this.
//
//   GET  /healthz                                   {ok, pid, manifestsDir, stateDir, host}
//   GET  /apis/xenoform.dev/v1alpha1/domains        DomainList  (?labelSelector=…, ?watch=1 → NDJSON {type, object})
//   GET  /apis/xenoform.dev/v1alpha1/domains/NAME   Domain      (?watch=1)
//   POST /apis/xenoform.dev/v1alpha1/domains/NAME/VERB   start|stop|restart|pause|unpause|shutdown|reboot|destroy
//   POST /apis/xenoform.dev/v1alpha1/domains/NAME/save   {file, checkpoint} → once written (xl save [-c])
//   POST /apis/xenoform.dev/v1alpha1/domains/NAME/migrate {host} → 202 started (xl migrate; watch status.migrationState)
//   POST /xl/restore                                {file} → the restored domain (xl restore)
//   GET  /apis/xenoform.dev/v1alpha1/domains/NAME/log    console output (?follow=1, ?previous=1)
//   GET  /apis/xenoform.dev/v1alpha1/domains/NAME/console  Upgrade: xenoform-console → raw bytes both ways
//   GET  /api/v1/events                             {items} (?name=…, ?watch=1 → NDJSON)
//   POST /diff                                      {objects, errors, prune} → {diffs}
//   GET  /apis/xenoform.dev/v1alpha1/hosts          HostList (?watch=1 → NDJSON {type, object}); /hosts/NAME a Host
//   GET  /xl/list                                   every host's xl list rows, each with its host
//   GET  /xl/top                                    {info, stats} of the local host, and {hosts: [{host, info, stats}]}
//   GET  /metrics                                   Prometheus text
// Errors: {"error": {"code", "message"}} with a 4xx/5xx status; never a stack trace.
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Controller } from '../controller.ts';
import { LOCAL_HOST } from '../../crds/index.ts';
import { errorCode, socketLive } from '../hypervisor.ts';
import { NotFoundError, XenoformError } from '../errors.ts';
import { diffDomains, type DiffInput } from './diff.ts';
import { MigrationRefused } from '../migrations/manager.ts';
import { IntentRefusedError, planIntent, planSave, VERBS, type Verb } from './intents.ts';
import { metricsText } from './metrics.ts';
import { parseSelector } from './selector.ts';
import { openLog } from './streams.ts';
import { HOSTS_PREFIX, xlListAll, xlTopAll } from './hosts.ts';

export const API_PREFIX = '/apis/xenoform.dev/v1alpha1/domains';
/** how long `save` waits for reconcile to write the image (a large domain takes a while) */
const SAVE_WAIT_MS = 10 * 60_000;
export { apiSocketPath } from './paths.ts';

export class ControllerAlreadyRunningError extends XenoformError {
  readonly code = 'ControllerRunning';
}

class HttpError extends XenoformError {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export interface ApiServerOptions {
  controller: Controller;
  socketPath: string;
  info: Record<string, unknown>;
  log?: (line: string) => void;
}

export class ApiServer {
  private server?: Server;
  private closers = new Set<() => void>();

  constructor(private readonly o: ApiServerOptions) {}

  async listen(): Promise<void> {
    const path = this.o.socketPath;
    if (Buffer.byteLength(path) > 107) throw new ControllerAlreadyRunningError(`socket path ${path} is over the 107-byte limit of unix sockets: use a shorter --state-dir`);
    if (existsSync(path)) {
      if (await socketLive(path)) throw new ControllerAlreadyRunningError(`a controller is already running for this state dir (${path} answers); stop it first`);
      unlinkSync(path);
    }
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('upgrade', (req, socket) => void this.upgrade(req, socket as Duplex));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // umask-proof: the socket is created, then restricted before anyone is told it exists
      server.listen(path, () => { chmodSync(path, 0o600); resolve(); });
    });
  }

  async close(): Promise<void> {
    for (const c of this.closers) c();
    this.closers.clear();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections?.();
    try { unlinkSync(this.o.socketPath); } catch { /* gone */ }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://controller');
    const q = url.searchParams;
    const c = this.o.controller;
    try {
      const p = url.pathname;
      if (req.method === 'GET' && p === '/healthz') return json(res, 200, { ok: true, ...this.o.info });
      if (req.method === 'GET' && p === '/metrics') return text(res, 200, metricsText(c), 'text/plain; version=0.0.4');
      if (req.method === 'GET' && p === '/xl/list') return json(res, 200, await xlListAll(c));
      if (req.method === 'GET' && p === '/xl/top') {
        const hosts = await xlTopAll(c);
        const local = hosts[0];
        if (!local?.info) throw Object.assign(new Error(local?.error ?? 'the local host does not answer'), { code: 'EHOSTDOWN' });
        return json(res, 200, { info: local.info, stats: local.stats, hosts });
      }
      if (req.method === 'GET' && (p === HOSTS_PREFIX || p.startsWith(HOSTS_PREFIX + '/'))) return this.hosts(req, res, p, q);
      if (req.method === 'GET' && p === '/api/v1/events') return await this.events(req, res, q);
      if (req.method === 'POST' && p === '/diff') return await this.diff(req, res);
      if (req.method === 'POST' && p === '/xl/restore') return await this.restore(req, res);
      if (p === API_PREFIX && req.method === 'GET') return await this.domains(req, res, q);
      if (p.startsWith(API_PREFIX + '/')) {
        const [name, sub, ...extra] = p.slice(API_PREFIX.length + 1).split('/').map(decodeURIComponent);
        if (!name || extra.length) throw new HttpError(404, 'NotFound', `no route ${p}`);
        if (req.method === 'GET' && sub === undefined) return await this.domain(req, res, name, q);
        if (req.method === 'GET' && sub === 'log') return await this.log(req, res, name, q);
        if (req.method === 'POST' && sub !== undefined && (VERBS as readonly string[]).includes(sub)) return await this.verb(res, name, sub as Verb);
        if (req.method === 'POST' && sub === 'save') return await this.save(req, res, name);
        if (req.method === 'POST' && sub === 'migrate') return await this.migrate(req, res, name);
      }
      throw new HttpError(404, 'NotFound', `no route ${req.method} ${p}`);
    } catch (e) {
      fail(res, e);
    }
  }

  private hosts(req: IncomingMessage, res: ServerResponse, p: string, q: URLSearchParams): void {
    const c = this.o.controller;
    const name = p === HOSTS_PREFIX ? undefined : decodeURIComponent(p.slice(HOSTS_PREFIX.length + 1));
    if (name !== undefined && (!name || name.includes('/'))) throw new HttpError(404, 'NotFound', `no route ${p}`);
    const items = name === undefined ? c.listHosts() : [c.getHost(name)].filter((h) => h !== undefined);
    if (name !== undefined && items.length === 0) throw new HttpError(404, 'NotFound', `Host ${JSON.stringify(name)} not found (hosts: ${c.hosts.names().join(', ')})`);
    if (q.get('watch') !== '1') return json(res, 200, name === undefined ? { apiVersion: 'xenoform.dev/v1alpha1', kind: 'HostList', items } : items[0]);
    this.stream(req, res, (send) => {
      for (const h of items) send({ type: 'ADDED', object: h });
      return c.watchHosts((type, obj) => { if (name === undefined || obj.metadata.name === name) send({ type, object: obj }); });
    });
  }

  private must(name: string) {
    const d = this.o.controller.get(name);
    if (!d) throw new HttpError(404, 'NotFound', `Domain ${JSON.stringify(name)} not found`);
    return d;
  }

  private domains(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): void {
    const c = this.o.controller;
    const sel = q.get('labelSelector') ? parseSelector(q.get('labelSelector')!) : () => true;
    const items = c.list().filter((d) => sel(d.metadata.labels));
    if (q.get('watch') !== '1') return json(res, 200, { apiVersion: 'xenoform.dev/v1alpha1', kind: 'DomainList', items });
    this.stream(req, res, (send) => {
      for (const d of items) send({ type: 'ADDED', object: d });
      return c.watch((type, obj) => { if (type === 'DELETED' || sel(obj.metadata.labels)) send({ type, object: obj }); });
    });
  }

  private domain(req: IncomingMessage, res: ServerResponse, name: string, q: URLSearchParams): void {
    const d = this.must(name);
    if (q.get('watch') !== '1') return json(res, 200, d);
    this.stream(req, res, (send) => {
      send({ type: 'ADDED', object: d });
      return this.o.controller.watch((type, obj) => { if (obj.metadata.name === name) send({ type, object: obj }); });
    });
  }

  private events(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): void {
    const log = this.o.controller.store.events;
    const name = q.get('name') ?? undefined;
    const items = log.list(name);
    if (q.get('watch') !== '1') return json(res, 200, { items });
    this.stream(req, res, (send) => {
      for (const e of items.slice(-(Number(q.get('tail') ?? 50) || 50))) send(e);
      return log.subscribe((e) => { if (!name || e.name === name) send(e); });
    });
  }

  /** An NDJSON stream until the client goes away or the server closes. */
  private stream(req: IncomingMessage, res: ServerResponse, start: (send: (v: unknown) => void) => () => void): void {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    const send = (v: unknown) => { if (!res.writableEnded) res.write(JSON.stringify(v) + '\n'); };
    const stop = start(send);
    const close = () => { stop(); this.closers.delete(close); if (!res.writableEnded) res.end(); };
    this.closers.add(close);
    req.once('close', close);
    res.once('close', close);
  }

  private async verb(res: ServerResponse, name: string, verb: Verb): Promise<void> {
    const c = this.o.controller;
    const d = this.must(name);
    let plan;
    try {
      plan = planIntent(verb, d, c.store.intentsOf(name));
    } catch (e) {
      if (e instanceof IntentRefusedError) throw new HttpError(409, e.code, e.message);
      throw e;
    }
    const now = new Date(c.clock.now());
    await c.store.updateIntents(name, plan.change, verb, now);
    await c.store.events.record('Domain', name, [{ type: 'Normal', reason: 'IntentRecorded', message: `${verb} requested: ${plan.message}` }], now);
    c.enqueue(name);
    json(res, 202, { name, verb, message: plan.message, domid: d.status?.domid ?? null });
  }

  /**
   * xl save [-c]: recorded as a request, carried out by reconcile (the one actor on a domain),
   * answered once the image is written — or with why not, as one line.
   */
  private async save(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    const c = this.o.controller;
    const body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as { file?: unknown; checkpoint?: unknown };
    if (typeof body.file !== 'string' || body.file === '') throw new HttpError(400, 'BadRequest', 'expected {file: "/absolute/path", checkpoint?: boolean}');
    const checkpoint = body.checkpoint === true;
    const d = this.must(name);
    let plan;
    try {
      plan = planSave(d, c.store.intentsOf(name), body.file, checkpoint);
    } catch (e) {
      if (e instanceof IntentRefusedError) throw new HttpError(409, e.code, e.message);
      throw e;
    }
    const now = new Date(c.clock.now());
    const rec = await c.store.updateIntents(name, plan.change, 'save', now);
    await c.store.events.record('Domain', name, [{ type: 'Normal', reason: 'IntentRecorded', message: `save requested: ${plan.message}` }], now);
    const outcome = c.reconciler.saveOutcome(name, rec.save);
    c.enqueue(name);
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([outcome, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HttpError(504, 'Timeout', `the save of Domain ${name} was requested but has not been carried out after ${SAVE_WAIT_MS / 1000} s; see \`xenoform events ${name}\``)), SAVE_WAIT_MS);
    })]).finally(() => clearTimeout(timer));
    if (!r.ok) throw new HttpError(r.code === 'IntentRefused' ? 409 : 422, r.code ?? 'SaveFailed', r.message);
    json(res, 200, { name, file: body.file, checkpoint, message: r.message });
  }

  /**
   * xl migrate: starts a live migration of the Domain from the host it runs on to Host `host`
   * and answers at once (202) with its state; status.migrationState follows it, which is what
   * `xenoform migrate` watches. Refusals (not running, no such Host, limits) are one line.
   */
  private async migrate(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    const c = this.o.controller;
    const body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as { host?: unknown; maxRateMiBps?: unknown };
    if (typeof body.host !== 'string' || body.host === '') throw new HttpError(400, 'BadRequest', 'expected {host: "HOST", maxRateMiBps?: number}');
    const rate = body.maxRateMiBps;
    if (rate !== undefined && !(typeof rate === 'number' && rate > 0)) throw new HttpError(400, 'BadRequest', 'maxRateMiBps must be a positive number');
    const d = this.must(name);
    const st = d.status;
    const m = c.migrations.running(name) ? c.migrations.stateOf(name) : undefined;
    if (m) throw new HttpError(409, 'Conflict', `Domain ${name} is already migrating (${m.sourceHost} → ${m.targetHost})`);
    if (st?.domid === undefined || !st.host || !['Running', 'Paused'].includes(st.phase ?? '')) {
      throw new HttpError(409, 'NotRunning', `Domain ${name} is ${st?.phase ?? 'not running'}; only a running domain can be migrated`);
    }
    try {
      const state = c.migrations.start(name, { host: st.host, domid: st.domid, memoryMiB: (d.spec as { memory?: number }).memory ?? 0 }, body.host, rate === undefined ? {} : { maxRateMiBps: rate });
      json(res, 202, { name, migrationState: state });
    } catch (e) {
      if (e instanceof MigrationRefused) throw new HttpError(e.code === 'NotFound' ? 404 : e.code === 'Busy' ? 429 : 409, e.code, e.message);
      throw e;
    }
  }

  /**
   * xl restore: the host brings the domain back from its image (the image carries its name). A
   * declared Domain of that name takes it back (reconcile adopts it: no second domain); any
   * other runs unmanaged, as a domain `xenoform create` started would.
   */
  private async restore(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const c = this.o.controller;
    const body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as { file?: unknown; host?: unknown };
    if (typeof body.file !== 'string' || body.file === '') throw new HttpError(400, 'BadRequest', 'expected {file: "/absolute/path", host?: "HOST"}');
    if (body.host !== undefined && typeof body.host !== 'string') throw new HttpError(400, 'BadRequest', 'host must be a Host\'s name');
    const file = body.file;
    // the host named, else the one a Domain was saved on to this file, else the local host
    const host = body.host ?? c.store.savedTo(file)?.host;
    const hv = host !== undefined ? c.hosts.hvFor(host) : c.opts.hv;
    if (!hv) {
      if (!c.hosts.has(host!)) throw new HttpError(404, 'NotFound', `cannot restore ${file}: no Host named ${JSON.stringify(host)}`);
      throw new HttpError(503, 'EHOSTDOWN', `cannot restore ${file}: Host ${host} is not connected`);
    }
    let info;
    try {
      info = await hv.restore(file);
    } catch (e) {
      const code = errorCode(e);
      if (code === 'EHOSTDOWN') throw e;
      throw new HttpError(code === 'EEXIST' ? 409 : 422, code, `cannot restore ${file}: ${(e as Error).message}`);
    }
    ((host !== undefined ? c.hosts.observedFor(host) : undefined) ?? c.observed).put(info, true);
    const name = info.name;
    const declared = c.desired.get(name)?.object !== undefined;
    let message: string;
    if (declared) {
      const now = new Date(c.clock.now());
      // restore brings it back: a `stop` recorded since the save does not shut it down again
      if (c.store.intentsOf(name).stopped) await c.store.updateIntents(name, (i) => { i.stopped = false; }, 'restore', now);
      c.enqueue(name);
      message = `Domain ${name} restored from ${file} (domid ${info.domid}${host !== undefined && host !== LOCAL_HOST ? ` on host ${host}` : ''}); the controller manages it again`;
    } else {
      message = `domain ${name} restored from ${file} (domid ${info.domid}); no Domain manifest declares ${JSON.stringify(name)}, so it runs unmanaged (see \`xenoform list\`)`;
    }
    json(res, 200, { name, domid: info.domid, file, host: host ?? null, managed: declared, message });
  }

  private async log(req: IncomingMessage, res: ServerResponse, name: string, q: URLSearchParams): Promise<void> {
    const c = this.o.controller;
    if (!c.get(name)) throw new HttpError(404, 'NotFound', `Domain ${JSON.stringify(name)} not found`);
    const src = await openLog(c, name, { follow: q.get('follow') === '1', previous: q.get('previous') === '1' });
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    const close = () => { src.close(); this.closers.delete(close); if (!res.writableEnded) res.end(); };
    this.closers.add(close);
    req.once('close', close);
    try {
      for await (const chunk of src.chunks) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    } catch (e) {
      this.o.log?.(`log ${name}: ${(e as Error).message}`);
    }
    close();
  }

  private async diff(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as { objects?: DiffInput[]; prune?: boolean };
    if (!Array.isArray(body.objects)) throw new HttpError(400, 'BadRequest', 'expected {objects: [...]}');
    const c = this.o.controller;
    const current = c.list().map((d) => ({ ...d, spec: { ...d.spec, kernel: c.resolvedKernel(d.metadata.name) ?? d.spec.kernel } }));
    json(res, 200, { diffs: diffDomains(body.objects, current, { prune: body.prune === true }) });
  }

  /** `xenoform console NAME`: the guest's console both ways over an upgraded connection. */
  private async upgrade(req: IncomingMessage, socket: Duplex): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://controller');
    const m = new RegExp(`^${API_PREFIX}/([^/]+)/console$`).exec(url.pathname);
    const refuse = (status: number, code: string, message: string) => {
      const body = JSON.stringify({ error: { code, message } });
      socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Conflict'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    if (!m || req.headers.upgrade !== 'xenoform-console') return refuse(404, 'NotFound', 'no such upgrade route');
    const name = decodeURIComponent(m[1]!);
    const d = this.o.controller.get(name);
    if (!d) return refuse(404, 'NotFound', `Domain ${JSON.stringify(name)} not found`);
    const domid = d.status?.domid;
    if (domid === undefined) return refuse(409, 'NotRunning', `Domain ${name} has no running domain (phase ${d.status?.phase ?? 'Pending'})`);
    const hv = this.o.controller.hvForDomain(name);
    let total = 0;
    try { for await (const ch of hv.console(domid, { follow: false })) total += ch.length; } catch (e) { return refuse(409, errorCode(e), (e as Error).message); }
    const stream = hv.console(domid, { follow: true, since: Math.max(0, total - 2048) });
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: xenoform-console\r\nConnection: Upgrade\r\n\r\n');
    const close = () => { stream.close(); this.closers.delete(close); socket.end(); };
    this.closers.add(close);
    socket.on('data', (b: Buffer) => void hv.consoleWrite(domid, new Uint8Array(b)).catch(() => close()));
    socket.on('close', close);
    socket.on('error', close);
    try {
      for await (const chunk of stream) socket.write(chunk);
    } catch { /* the domain went away */ }
    close();
  }
}

function json(res: ServerResponse, status: number, v: unknown): void {
  text(res, status, JSON.stringify(v), 'application/json');
}

function text(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function fail(res: ServerResponse, e: unknown): void {
  if (res.headersSent) { res.destroy(); return; }
  if (e instanceof HttpError) return json(res, e.status, { error: { code: e.code, message: e.message } });
  if (e instanceof NotFoundError) return json(res, 404, { error: { code: e.code, message: e.message } });
  if (e instanceof XenoformError) return json(res, e.exitCode === 2 ? 400 : 422, { error: { code: e.code, message: e.message } });
  const code = errorCode(e);
  if (code === 'EHOSTDOWN') return json(res, 503, { error: { code, message: (e as Error).message } });
  if (e instanceof SyntaxError) return json(res, 400, { error: { code: 'BadRequest', message: `not JSON: ${e.message}` } });
  json(res, 500, { error: { code: 'Internal', message: `internal error: ${(e as Error)?.message ?? String(e)}` } });
}

function readBody(req: IncomingMessage, max = 64 * 2 ** 20): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) { reject(new HttpError(413, 'TooLarge', 'request body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
