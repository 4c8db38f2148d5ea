// Live migration under faults, with a TCP proxy between the source and the target that can
// damage or cut the stream at a chosen record: exactly one copy of the domain runs afterwards,
// with its state, and nothing is left behind on the target.
import { readFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalHypervisor } from '../local.ts';
import { HostServer } from '../server.ts';
import type { HypervisorApi } from '../api.ts';
import { MSG } from './wire.ts';
import { consoleText } from '../../tests/support/console.ts';

const guest = (name: string) => readFileSync(new URL(`../../guests/build/${name}.elf`, import.meta.url));

interface TestHost { hv: LocalHypervisor; server: HostServer; address: string; token: string }
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function startHost(): Promise<TestHost> {
  const hv = LocalHypervisor.create({ memoryBytes: 512 * 2 ** 20 });
  const token = `t${cleanup.length}`;
  const server = await HostServer.start({ hv, listen: { host: '127.0.0.1', port: 0 }, token });
  const h = { hv, server, address: `127.0.0.1:${server.tcp!.port}`, token };
  cleanup.push(async () => { await server.close(); await hv.close(); });
  return h;
}

/**
 * Follows the migration records in one direction of the proxied stream (after the HTTP
 * upgrade's header block) and lets a test act on each record as its header passes: let it
 * through, flip one byte of its payload on the way, or cut the connection there.
 */
type Act = 'pass' | 'cut' | { flip: number };
class RecordTap {
  private seen = Buffer.alloc(0); // everything so far (a test stream is a few MiB)
  private next = -1; // offset of the next record header, once the HTTP block is past
  private readonly flips: number[] = [];
  constructor(private readonly act: (type: number) => Act) {}

  /** The bytes to forward (possibly changed), or null to cut the connection. */
  feed(chunk: Buffer): Buffer | null {
    const start = this.seen.length;
    this.seen = Buffer.concat([this.seen, chunk]);
    if (this.next < 0) {
      const end = this.seen.indexOf('\r\n\r\n');
      if (end < 0) return chunk;
      this.next = end + 4;
    }
    while (this.seen.length >= this.next + 37) {
      const what = this.act(this.seen[this.next]!);
      if (what === 'cut') return null;
      if (what !== 'pass') this.flips.push(this.next + 37 + what.flip);
      this.next += 37 + this.seen.readUInt32LE(this.next + 1);
    }
    const out = Buffer.from(chunk);
    for (const at of this.flips) if (at >= start && at < start + out.length) out[at - start]! ^= 0xff;
    return out;
  }
}

/** A proxy to `target`; taps see source→target and target→source records. */
async function proxy(target: string, up: RecordTap, down: RecordTap): Promise<string> {
  const [host, port] = target.split(':');
  const sockets = new Set<Socket>();
  const srv: Server = createServer((client) => {
    const server = connect(Number(port), host);
    sockets.add(client).add(server);
    const pipe = (from: Socket, to: Socket, tap: RecordTap) => from.on('data', (c: Buffer) => {
      const out = tap.feed(c);
      if (out === null) {
        client.destroy();
        server.destroy();
      } else to.write(out);
    });
    pipe(client, server, up);
    pipe(server, client, down);
    for (const s of [client, server]) s.on('error', () => { client.destroy(); server.destroy(); });
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => { for (const s of sockets) s.destroy(); srv.close(() => r()); }));
  const a = srv.address() as { port: number };
  return `127.0.0.1:${a.port}`;
}

const pass = () => new RecordTap(() => 'pass');

async function tickerOn(h: TestHost, name = 'ticker') {
  const d = await h.hv.create({ name, kernel: guest('ticker'), memoryMiB: 32 });
  await until(async () => (await consoleText(h.hv, d.domid)).includes('tick 1\n'));
  return d;
}


async function until(f: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const names = async (hv: HypervisorApi) => (await hv.list()).map((r) => r.name).filter((n) => n !== 'Domain-0');
const lastTick = (s: string) => Math.max(0, ...[...s.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));

describe('live migration faults', () => {
  it('a page damaged in transit is refused: the source keeps running, the target is clean', async () => {
    const a = await startHost();
    const b = await startHost();
    const free = (await b.hv.info()).memoryFreeMiB;
    let damaged = false;
    const via = await proxy(b.address, new RecordTap((type) => {
      if (type !== MSG.PAGES || damaged) return 'pass';
      damaged = true;
      return { flip: 100 };
    }), pass());
    const d = await tickerOn(a);
    const e = await a.hv.migrate(d.domid, { address: via, token: b.token }).catch((x) => x);
    expect(damaged).toBe(true);
    expect(e.code).toBe('EPROTO');
    expect(e.message).toMatch(/checksum.*keeps running here|keeps running here.*checksum/);
    const info = await a.hv.domain(d.domid);
    expect(info.state).not.toContain('p');
    const t = lastTick(await consoleText(a.hv, d.domid));
    await until(async () => lastTick(await consoleText(a.hv, d.domid)) > t); // still ticking
    expect(await names(b.hv)).toEqual([]);
    expect(await b.hv.incoming()).toEqual([]);
    expect((await b.hv.info()).memoryFreeMiB).toBe(free);
  }, 60_000);

  it('a connection dropped during pre-copy: the source keeps running, the target releases its reservation', async () => {
    const a = await startHost();
    const b = await startHost();
    const free = (await b.hv.info()).memoryFreeMiB;
    let pages = 0;
    const via = await proxy(b.address, new RecordTap((type) => (type === MSG.PAGES && ++pages === 1 ? 'cut' : 'pass')), pass());
    const d = await tickerOn(a);
    const e = await a.hv.migrate(d.domid, { address: via, token: b.token }).catch((x) => x);
    expect(pages).toBe(1);
    expect(e.message).toMatch(/keeps running here/);
    expect((await a.hv.domain(d.domid)).state).not.toContain('p');
    await until(async () => (await b.hv.incoming()).length === 0 && (await b.hv.info()).memoryFreeMiB === free);
    expect(await names(b.hv)).toEqual([]);
  }, 60_000);

  it('the target dies mid-migration: the source keeps running', async () => {
    const a = await startHost();
    const b = await startHost();
    let killed: Promise<void> | undefined;
    const via = await proxy(b.address, new RecordTap((type) => {
      if (type === MSG.PAGES && !killed) killed = b.server.close().then(() => b.hv.close());
      return 'pass';
    }), pass());
    const d = await tickerOn(a);
    const e = await a.hv.migrate(d.domid, { address: via, token: b.token }).catch((x) => x);
    await killed;
    expect(e.message).toMatch(/keeps running here/);
    const t = lastTick(await consoleText(a.hv, d.domid));
    await until(async () => lastTick(await consoleText(a.hv, d.domid)) > t);
  }, 60_000);

  it('cut after PREPARED, before COMMIT: both copies stay paused; the arbiter keeps the source\'s', async () => {
    const a = await startHost();
    const b = await startHost();
    const via = await proxy(b.address, pass(), new RecordTap((type) => (type === MSG.PREPARED ? 'cut' : 'pass')));
    const d = await tickerOn(a);
    const e = await a.hv.migrate(d.domid, { address: via, token: b.token }).catch((x) => x);
    expect(e.code).toBe('EPROTO');
    expect(e.message).toMatch(/left paused here for the controller to decide/);
    expect((await a.hv.domain(d.domid)).state).toContain('p'); // frozen: it must not run twice
    const inc = await b.hv.incoming();
    expect(inc).toMatchObject([{ name: 'ticker', state: 'prepared' }]);
    expect(await names(b.hv)).toEqual(['ticker--incoming']);
    expect((await b.hv.domain(inc[0]!.domid)).state).toContain('p');
    // The arbiter (controller/migrations/arbiter.ts) sees the source's copy, so the prepared one goes.
    await b.hv.abortIncoming('ticker');
    await a.hv.unpause(d.domid);
    expect(await names(b.hv)).toEqual([]);
    expect(await b.hv.incoming()).toEqual([]);
    const t = lastTick(await consoleText(a.hv, d.domid));
    await until(async () => lastTick(await consoleText(a.hv, d.domid)) > t);
  }, 60_000);

  it('the source dies after stop-and-copy: the prepared copy is committed and continues the sequence', async () => {
    const a = await startHost();
    const b = await startHost();
    let cut = false;
    const via = await proxy(b.address, pass(), new RecordTap((type) => (type === MSG.PREPARED ? ((cut = true), 'cut') : 'pass')));
    const d = await tickerOn(a);
    // The source "dies" the moment the target is prepared: its copy stops there, for good.
    const migration = a.hv.migrate(d.domid, { address: via, token: b.token }).catch((x) => x);
    await until(async () => cut);
    const onA = await consoleText(a.hv, d.domid); // frozen since the stop: its last word
    await a.hv.destroy(d.domid);
    await migration;
    const [inc] = await b.hv.incoming();
    expect(inc).toMatchObject({ name: 'ticker', state: 'prepared' });
    const info = await b.hv.commitIncoming('ticker');
    expect(info.name).toBe('ticker');
    expect(await names(b.hv)).toEqual(['ticker']);
    // B carries A's console on and ticks past A's last tick, with no gap and no reboot
    await until(async () => lastTick(await consoleText(b.hv, info.domid)) > lastTick(onA));
    const onB = await consoleText(b.hv, info.domid);
    expect(lastTick(onA)).toBeGreaterThanOrEqual(1);
    expect(onB.startsWith(onA)).toBe(true);
    const ticks = [...onB.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
    expect(ticks).toEqual(ticks.map((_, i) => i + 1));
    expect(onB.match(/ticker: ready/g)).toHaveLength(1);
  }, 60_000);
});
