// The host agent end to end in one process: a LocalHypervisor over a wall-clock Host, served
// on a temporary unix socket (and TCP with a token), driven through RemoteHypervisor — every
// route, its errors, streams, auth and the socket rules.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HypervisorError, LocalHypervisor, type DomainEvent, type HypervisorApi } from './api.ts';
import { testGuest } from './api.test-guests.ts';
import { RemoteHypervisor } from './client.ts';
import { HostServer, parseListen } from './server.ts';

let dir: string;
let local: LocalHypervisor;
let server: HostServer;
let hv: RemoteHypervisor;
let sock: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xf-srv-'));
  sock = join(dir, 'host.sock');
  local = LocalHypervisor.create({ clock: 'wall', memoryBytes: 256 * 2 ** 20 });
  server = await HostServer.start({ hv: local, socketPath: sock });
  hv = new RemoteHypervisor({ socketPath: sock });
});

afterAll(async () => {
  await hv?.close();
  await server?.close();
  await local?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The HypervisorError a promise rejects with. */
async function refusal(p: Promise<unknown>): Promise<HypervisorError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(HypervisorError);
    return e as HypervisorError;
  }
  throw new Error('expected a refusal');
}

async function text(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts).toString('latin1');
}

async function until(f: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

let n = 0;
const uniq = (s: string) => `${s}-${++n}`;

async function cleanup(api: HypervisorApi): Promise<void> {
  for (const d of await api.list()) if (d.id !== 0) await api.destroy(d.id).catch(() => undefined);
}
afterEach(() => cleanup(local));

describe('host agent over a unix socket', () => {
  it('GET /v1/info describes the host', async () => {
    const info = await hv.info();
    expect(info).toMatchObject({ xenVersion: '4.19', memoryTotalMiB: 256, pcpus: 1, clock: 'wall', pid: process.pid });
    expect(info.memoryFreeMiB).toBeLessThanOrEqual(256);
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('serves the socket with mode 0600', () => {
    expect(statSync(sock).isSocket()).toBe(true);
    expect(statSync(sock).mode & 0o777).toBe(0o600);
  });

  it('creates from bytes and from a host path; lists Domain-0 first', async () => {
    const a = await hv.create({ name: uniq('bytes'), kernel: testGuest('one\n', 'block'), memoryMiB: 4 });
    const file = join(dir, 'guest.elf');
    writeFileSync(file, testGuest('two\n', 'block'));
    const b = await hv.create({ name: uniq('path'), kernel: file, memoryMiB: 8, maxMemoryMiB: 16, weight: 512, cap: 50 });
    expect(b).toMatchObject({ memoryKiB: 8192, maxMemoryKiB: 16384, vcpus: 1, weight: 512, cap: 50 });
    const rows = await hv.list();
    expect(rows[0]).toMatchObject({ name: 'Domain-0', id: 0, vcpus: 1, state: 'r-----' });
    expect(rows.slice(1).map((r) => [r.id, r.name, r.memoryMiB])).toEqual([[a.domid, a.name, 4], [b.domid, b.name, 8]]);
    expect(await hv.domain(b.domid)).toMatchObject({ domid: b.domid, name: b.name });
  });

  it('refuses bad creates with stable codes', async () => {
    const ok = testGuest('x\n', 'block');
    const name = uniq('taken');
    await hv.create({ name, kernel: ok, memoryMiB: 4 });
    expect((await refusal(hv.create({ name, kernel: ok, memoryMiB: 4 }))).code).toBe('EEXIST');
    expect((await refusal(hv.create({ name: uniq('r'), kernel: new Uint8Array(4096).map((_, i) => (i * 37) & 0xff), memoryMiB: 4 }))).code).toBe('IMAGE');
    const missing = await refusal(hv.create({ name: uniq('m'), kernel: join(dir, 'nope.elf'), memoryMiB: 4 }));
    expect(missing).toMatchObject({ code: 'IMAGE' });
    expect(missing.message).toContain('no such file');
    expect((await refusal(hv.create({ name: uniq('big'), kernel: ok, memoryMiB: 1024 }))).code).toBe('ENOMEM');
    expect((await refusal(hv.create({ name: uniq('z'), kernel: ok, memoryMiB: 0 }))).code).toBe('EINVAL');
    expect((await refusal(hv.create({ name: uniq('v'), kernel: ok, memoryMiB: 4, vcpus: 99 }))).code).toBe('EINVAL');
    expect((await refusal(hv.create({ name: '', kernel: ok, memoryMiB: 4 }))).code).toBe('EINVAL');
  });

  it('pauses, unpauses, sets memory target and scheduler parameters', async () => {
    const d = await hv.create({ name: uniq('p'), kernel: testGuest('p\n', 'block'), memoryMiB: 8, maxMemoryMiB: 16 });
    await until(async () => (await hv.domain(d.domid)).state === '-b----');
    expect((await hv.pause(d.domid)).state).toBe('--p---');
    expect((await hv.unpause(d.domid)).state).toBe('-b----');
    await hv.setMemoryTarget(d.domid, 12);
    expect(local.host.xenstored.readString(`/local/domain/${d.domid}/memory/target`)).toBe(String(12 * 1024));
    expect((await refusal(hv.setMemoryTarget(d.domid, 17))).code).toBe('EINVAL');
    expect(await hv.setSched(d.domid, { weight: 1024, cap: 25 })).toMatchObject({ weight: 1024, cap: 25 });
    expect((await refusal(hv.setSched(d.domid, { weight: 0 }))).code).toBe('EINVAL');
    for (const op of [hv.pause(999), hv.unpause(999), hv.destroy(999), hv.domain(999), hv.shutdown(999, 'poweroff')]) {
      expect((await refusal(op)).code).toBe('ENOENT');
    }
    expect((await refusal(hv.pause(0))).code).toBe('EINVAL');
  });

  it('shutdown writes control/shutdown, waits, times out, and refuses unknown reasons', async () => {
    const d = await hv.create({ name: uniq('s'), kernel: testGuest('s\n', 'block'), memoryMiB: 4 });
    expect((await hv.shutdown(d.domid, 'reboot')).domid).toBe(d.domid);
    expect(local.host.xenstored.readString(`/local/domain/${d.domid}/control/shutdown`)).toBe('reboot');
    expect((await refusal(hv.shutdown(d.domid, 'poweroff', { wait: true, timeoutMs: 100 }))).code).toBe('ETIMEDOUT');
    expect((await refusal(hv.shutdown(d.domid, 'halt' as 'poweroff'))).code).toBe('EINVAL');
    // a guest that honours the request (simulated from dom0's side: the test guest has no xenstore driver)
    const waiting = hv.shutdown(d.domid, 'poweroff', { wait: true, timeoutMs: 5000 });
    setTimeout(() => local.host.domain(d.domid)!.shutdown(0), 50);
    expect(await waiting).toMatchObject({ state: '---s--', shutdownReason: 'poweroff' });
  });

  it('streams the console (backlog, since, follow until destroyed) and takes input', async () => {
    const d = await hv.create({ name: uniq('c'), kernel: testGuest('hello, console\n', 'block'), memoryMiB: 4 });
    await until(async () => (await text(hv.console(d.domid))) === 'hello, console\n');
    const tail = hv.console(d.domid, { since: 7 });
    expect(await text(tail)).toBe('console\n');
    expect(tail.offset).toBe(15);
    const follow = hv.console(d.domid, { follow: true });
    await follow.ready;
    const got = text(follow);
    await hv.consoleWrite(d.domid, Buffer.from('input\r'));
    expect((await refusal(hv.consoleWrite(d.domid, new Uint8Array(65 * 1024)))).code).toBe('EINVAL');
    await hv.destroy(d.domid);
    expect(await got).toBe('hello, console\n');
    expect((await refusal(text(hv.console(d.domid)))).code).toBe('ENOENT');
    expect((await refusal(hv.consoleWrite(d.domid, Buffer.from('x')))).code).toBe('ENOENT');
  });

  it('streams events: created, shutdown with reason, crashed with reason, destroyed', async () => {
    const events = hv.events();
    await events.ready;
    const seen: DomainEvent[] = [];
    const done = (async () => {
      for await (const e of events) {
        seen.push(e);
        if (seen.filter((x) => x.type === 'destroyed').length === 2) break;
      }
    })();
    const off = await hv.create({ name: uniq('off'), kernel: testGuest('bye\n', 'reboot'), memoryMiB: 4 });
    const bad = await hv.create({ name: uniq('bad'), kernel: testGuest('oops\n', 'fault'), memoryMiB: 4 });
    await until(async () => (await hv.domain(bad.domid)).state === '----c-' && (await hv.domain(off.domid)).state === '---s--');
    // a crashing guest does not take the host down
    expect((await hv.info()).domains).toBe(2);
    await hv.destroy(off.domid);
    await hv.destroy(bad.domid);
    await done;
    const brief = seen.map((e) => [e.type, e.domid, e.state, e.reason]);
    expect(brief).toContainEqual(['created', off.domid, 'r-----', undefined]);
    expect(brief).toContainEqual(['shutdown', off.domid, '---s--', 'reboot']);
    expect(brief).toContainEqual(['destroyed', off.domid, '-----d', undefined]);
    const crashed = seen.find((e) => e.type === 'crashed')!;
    expect(crashed).toMatchObject({ domid: bad.domid, state: '----c-' });
    expect(crashed.reason).toMatch(/page fault at 0x00000000.*no handler/);
    expect(crashed.info.crashReason).toBe(crashed.reason);
    expect(typeof crashed.time).toBe('string');
  });

  it('reports xentop stats with Domain-0 first and zeroed I/O counters', async () => {
    const d = await hv.create({ name: uniq('st'), kernel: testGuest('s\n', 'spin'), memoryMiB: 4 });
    await until(async () => ((await hv.stats()).domains.find((x) => x.domid === d.domid)?.cpuNs ?? 0) > 0);
    const s = await hv.stats();
    expect(s.timeNs).toBeGreaterThan(0);
    expect(s.domains[0]).toMatchObject({ domid: 0, name: 'Domain-0', vcpus: 1 });
    expect(s.domains[1]).toMatchObject({ domid: d.domid, memoryKiB: 4096, maxMemoryKiB: 4096, vcpus: 1, state: 'r-----', nets: 0, netTxKiB: 0, netRxKiB: 0, vbds: 0, vbdOo: 0, vbdRd: 0, vbdWr: 0, vbdRsect: 0, vbdWsect: 0 });
  });

  it('saves and restores through the API; refuses a bad image; migrate reports an unreachable target', async () => {
    const name = uniq('sv');
    const d = await hv.create({ name, kernel: testGuest('s\n', 'block'), memoryMiB: 4 });
    const file = join(dir, `${name}.save`);
    await hv.save(d.domid, file);
    expect((await refusal(hv.pause(d.domid))).code).toBe('ENOENT');
    const r = await hv.restore(file, { paused: true });
    expect(r).toMatchObject({ name, state: '--p---' });
    expect(r.domid).not.toBe(d.domid);
    writeFileSync(join(dir, 'bad.save'), 'not an image');
    expect((await refusal(hv.restore(join(dir, 'bad.save')))).code).toBe('IMAGE');
    const e = await refusal(hv.migrate(r.domid, { address: '127.0.0.1:1', token: 'x' }));
    expect(e.code).toBe('EHOSTDOWN');
    expect(e.message).toMatch(/cannot reach the target host 127.0.0.1:1/);
    expect(await hv.incoming()).toEqual([]);
    await hv.destroy(r.domid);
  });

  it('answers bad requests with 4xx and {error: {code, message}}', async () => {
    const raw = (method: string, path: string, body?: string) =>
      new Promise<{ status: number; body: unknown }>((resolve, reject) => {
        const req = request({ socketPath: sock, method, path, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
          let s = '';
          res.on('data', (c) => (s += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(s) }));
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await raw('POST', '/v1/domains', '{not json')).toEqual({ status: 400, body: { error: { code: 'EINVAL', message: 'request body is not valid JSON' } } });
    expect(await raw('POST', '/v1/domains', '{"name":"x","memoryMiB":4}')).toMatchObject({ status: 400, body: { error: { code: 'EINVAL' } } });
    expect(await raw('GET', '/v1/domains/abc')).toMatchObject({ status: 404, body: { error: { code: 'ENOENT' } } });
    expect(await raw('GET', '/v1/nothing')).toMatchObject({ status: 400, body: { error: { code: 'EINVAL', message: 'no such API route: GET /v1/nothing' } } });
    expect(await raw('DELETE', '/v1/info')).toMatchObject({ status: 400 });
    expect(await raw('POST', '/v1/domains/1/memory', '[]')).toMatchObject({ status: 400 });
    const d = await hv.create({ name: uniq('in'), kernel: testGuest('i\n', 'block'), memoryMiB: 4 });
    expect(await raw('POST', `/v1/domains/${d.domid}/console`, 'x'.repeat(70_000))).toMatchObject({ status: 400, body: { error: { code: 'EINVAL', message: 'request body over 65536 bytes' } } });
  });
});

describe('host agent on TCP', () => {
  it('needs the bearer token: 401 without or with a wrong one', async () => {
    const srv = await HostServer.start({ hv: local, listen: parseListen('127.0.0.1:0'), token: 's3cret-token' });
    const url = `http://127.0.0.1:${srv.tcp!.port}`;
    const good = new RemoteHypervisor({ url, token: 's3cret-token' });
    const wrong = new RemoteHypervisor({ url, token: 's3cret-tokeN' });
    const none = new RemoteHypervisor({ url });
    try {
      expect((await good.info()).clock).toBe('wall');
      const e = await refusal(wrong.list());
      expect(e).toMatchObject({ code: 'EACCES', status: 401 });
      expect((await refusal(none.info())).code).toBe('EACCES');
      expect((await refusal(text(wrong.console(1)))).code).toBe('EACCES');
    } finally {
      await Promise.all([good.close(), wrong.close(), none.close(), srv.close()]);
    }
  });

  it('refuses to serve TCP without a token, and parses --listen', async () => {
    expect((await refusal(HostServer.start({ hv: local, listen: { host: '127.0.0.1', port: 0 } }))).message).toMatch(/without a token/);
    expect(parseListen('[::1]:7510')).toEqual({ host: '::1', port: 7510 });
    expect(() => parseListen('7510')).toThrow(/HOST:PORT/);
    expect(() => parseListen('127.0.0.1:99999')).toThrow(/HOST:PORT/);
  });
});

describe('socket rules', () => {
  it('refuses a path over the unix limit with a clear message', async () => {
    const long = join(dir, 'x'.repeat(120), 'host.sock');
    expect((await refusal(HostServer.start({ hv: local, socketPath: long }))).message).toMatch(/over the 107-byte limit.*--state-dir/);
  });

  it('refuses a live socket and replaces a stale one', async () => {
    expect((await refusal(HostServer.start({ hv: local, socketPath: sock }))).code).toBe('EEXIST');
    const stale = join(dir, 'stale.sock');
    // a host killed with SIGKILL leaves its socket file behind
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(statSync(stale).isSocket()).toBe(true);
    const srv = await HostServer.start({ hv: local, socketPath: stale });
    const c = new RemoteHypervisor({ socketPath: stale });
    expect((await c.info()).pid).toBe(process.pid);
    await c.close();
    await srv.close();
  });

  it('a client with nothing listening says so (EHOSTDOWN)', async () => {
    const c = new RemoteHypervisor({ socketPath: join(dir, 'none.sock') });
    expect(await refusal(c.info())).toMatchObject({ code: 'EHOSTDOWN', message: `no host is listening on ${join(dir, 'none.sock')}` });
  });
});

describe('POST /v1/host/stop', () => {
  it('refuses --save until save/restore exists', async () => {
    expect((await refusal(hv.stopHost({ save: true }))).code).toBe('ENOSYS');
  });

  it('shuts domains down gracefully, destroys the rest after the grace period, then stops', async () => {
    const h = LocalHypervisor.create({ clock: 'wall' });
    const path = join(dir, 'stop.sock');
    let stopped: unknown;
    const srv = await HostServer.start({ hv: h, socketPath: path, onStop: (r) => (stopped = r) });
    const c = new RemoteHypervisor({ socketPath: path });
    const polite = await c.create({ name: 'polite', kernel: testGuest('p\n', 'block'), memoryMiB: 4 });
    const deaf = await c.create({ name: 'deaf', kernel: testGuest('d\n', 'block'), memoryMiB: 4 });
    // 'polite' honours control/shutdown as a PV guest's xenbus driver would
    h.host.xenstored.watch(`/local/domain/${polite.domid}/control/shutdown`, () => {
      if (h.host.xenstored.readString(`/local/domain/${polite.domid}/control/shutdown`) === 'poweroff') h.host.domain(polite.domid)?.shutdown(0);
    });
    const r = await c.stopHost({ graceMs: 200 });
    expect(r).toEqual({ shutdown: [polite.domid], destroyed: [deaf.domid] });
    await h.stopped;
    await until(async () => stopped !== undefined);
    expect(h.host.list()).toEqual([]);
    expect((await refusal(h.create({ name: 'late', kernel: testGuest('x\n', 'block'), memoryMiB: 4 }))).code).toBe('EHOSTDOWN');
    await c.close();
    await srv.close();
  });
});
