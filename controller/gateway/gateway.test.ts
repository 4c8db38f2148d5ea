// The gateway end to end on real sockets: Node's http client → 127.0.0.1 forwarded port →
// the gateway's TCP → the host's switch (LocalHypervisor uplinks) → a TypeScript HTTP
// responder attached to the switch as if it were a guest. Keep-alive, large bodies both ways,
// concurrency, a paused guest, a guest that refuses, and teardown.
import { request, Agent } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalHypervisor } from '../../runtime/api.ts';
import { Gateway } from './gateway.ts';
import { IpNode } from './node.ts';
import { httpResponder, pattern } from './testing.ts';

const GUEST = { mac: '00:16:3e:0a:00:02', ip: '10.10.0.2' };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig(opts: { guestTcp?: ConstructorParameters<typeof IpNode>[0]['tcp'] } = {}) {
  const hv = LocalHypervisor.create({ clock: 'virtual', start: false, memoryBytes: 64 * 2 ** 20 });
  const gw = new Gateway({ tcp: { rtoMinMs: 50, rtoInitialMs: 200 } });
  gw.attach(await hv.uplink());
  const guest = new IpNode({ ...GUEST, tcp: { rtoMinMs: 50, rtoInitialMs: 200, ...opts.guestTcp } });
  const guestLink = await hv.uplink();
  guest.attach(guestLink);
  const http = httpResponder(guest, 80);
  const port = await gw.forward({ hostPort: 0, guest: { mac: GUEST.mac, port: 80 } });
  cleanups.push(async () => {
    await gw.close();
    guest.close();
    await hv.close();
  });
  return { hv, gw, guest, guestLink, http, port };
}

function get(port: number, path: string, agent?: Agent, body?: Uint8Array): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, method: body ? 'POST' : 'GET', headers: body ? { 'Content-Length': body.length } : {} }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('gateway: real HTTP clients through 127.0.0.1 to a guest on the segment', () => {
  it('serves keep-alive requests, large downloads and uploads exactly, and many clients at once', async () => {
    const { port, http, gw } = await rig();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    for (let k = 1; k <= 5; k++) {
      const r = await get(port, `/n${k}`, agent);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body.toString())).toMatchObject({ kernel: 'ts-guest', path: `/n${k}`, requests: k });
    }
    expect(gw.list()[0]).toMatchObject({ total: 1, active: 1 }); // one connection carried all five
    const big = await get(port, '/big?n=2000000', agent);
    expect(big.body.equals(Buffer.from(pattern(2_000_000)))).toBe(true);
    const up = pattern(1_500_000, 9);
    let sum = 0;
    for (const b of up) sum = (sum * 31 + b) >>> 0;
    expect(JSON.parse((await get(port, '/echo', agent, up)).body.toString())).toEqual({ length: up.length, sum });
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => get(port, `/big?n=${50_000 + i}`)));
    many.forEach((r, i) => expect(r.body.equals(Buffer.from(pattern(50_000 + i)))).toBe(true));
    expect(http.requests()).toBe(5 + 1 + 1 + 20);
  });

  it('keeps a connection through a guest that vanishes for a while (paused, or moving hosts)', async () => {
    const { hv, port, guest, guestLink } = await rig();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    expect((await get(port, '/before', agent)).status).toBe(200);
    // The guest goes away (its port leaves the switch), then comes back on a new port, as after
    // a migration, announcing itself with a gratuitous ARP.
    guestLink.close();
    const pending = get(port, '/big?n=300000', agent);
    await new Promise((r) => setTimeout(r, 700)); // several of the gateway's RTOs
    guest.attach(await hv.uplink());
    const r = await pending;
    expect(r.body.equals(Buffer.from(pattern(300_000)))).toBe(true);
    expect(guest.connections).toBeGreaterThanOrEqual(1);
  });

  it('a guest with nothing listening resets the client; a slow reader is paced, not buffered without bound', async () => {
    const { gw, port } = await rig();
    const other = await gw.forward({ hostPort: 0, guest: { ip: GUEST.ip, port: 81 } });
    const err = await get(other, '/').catch((e: NodeJS.ErrnoException) => e.code ?? e.message);
    expect(['ECONNRESET', 'socket hang up']).toContain(err);
    expect(gw.list().find((f) => f.hostPort === other)!.failed).toBe(1);
    // A client that does not read: the gateway stops taking from the guest once the socket
    // buffers fill, so its own buffering stays at the TCP window.
    const sock = connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.pause();
    sock.write('GET /big?n=20000000 HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 500));
    const f = gw.list().find((x) => x.hostPort === port)!;
    expect(f.bytesFromGuest).toBeLessThan(20_000_000);
    expect(f.bytesFromGuest).toBeGreaterThan(0);
    sock.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(gw.list().find((x) => x.hostPort === port)!.active).toBe(0);
    await gw.unforward(other);
    expect(gw.list().map((x) => x.hostPort)).toEqual([port]);
  });

  it('a guest can ping the gateway through the switch', async () => {
    const { guest } = await rig();
    expect(await guest.ping('10.0.0.1', 1000)).toBeGreaterThanOrEqual(0);
  });
});
