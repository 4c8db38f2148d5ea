// One gateway joined to two hosts (two in-process LocalHypervisors, each with its own switch):
// the hosts form one segment through the gateway's bridge, so a guest is reachable wherever it
// runs, guests on different hosts reach each other, and a guest that moves — saved on one host,
// restored on the other — keeps its clients' TCP connections: the gateway retransmits what was
// lost and the restored vif's gratuitous ARP moves its MAC to the new host's uplink.
// The guest is the guest kit's httpd (C, on the emulated CPU, with its own TCP/IP stack).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LocalHypervisor } from '../../runtime/api.ts';
import { runGateway, type RunningGateway } from './index.ts';
import { IpNode } from './node.ts';
import { collect } from './testing.ts';

const HTTPD = readFileSync(fileURLToPath(new URL('../../guests/build/httpd.elf', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'xf-gw-multi-'));
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function host(): LocalHypervisor {
  const hv = LocalHypervisor.create({ clock: 'wall', memoryBytes: 128 * 2 ** 20 });
  cleanups.push(() => hv.close());
  return hv;
}

function gatewayOn(hosts: Record<string, LocalHypervisor>): RunningGateway {
  const gw = runGateway(undefined, { tcp: { rtoMinMs: 100 } });
  cleanups.push(() => gw.stop());
  for (const [name, hv] of Object.entries(hosts)) gw.attach(name, hv);
  return gw;
}

/** An httpd domain, once it listens. */
async function httpd(hv: LocalHypervisor, mac: string): Promise<number> {
  const d = await hv.create({ name: `web-${mac.slice(-2)}`, kernel: HTTPD, memoryMiB: 16, interfaces: [{ mac }] });
  await until(hv, d.domid, 'listening on :80');
  return d.domid;
}

async function until(hv: LocalHypervisor, domid: number, text: string): Promise<void> {
  let out = '';
  const con = hv.console(domid, { follow: true });
  void (async () => {
    for await (const c of con) out += Buffer.from(c).toString();
  })();
  cleanups.push(() => con.close());
  const end = Date.now() + 30_000;
  while (!out.includes(text)) {
    if (Date.now() > end) throw new Error(`domain ${domid} did not print ${JSON.stringify(text)}:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function get(port: number, agent: Agent): Promise<{ status: number; json: { kernel: string; requests: number } }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/', agent, timeout: 30_000 }, (res) => {
      let s = '';
      res.on('data', (c) => (s += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(s) }));
    }).on('error', reject).end();
  });
}

function keepAlive(): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(() => agent.destroy());
  return agent;
}

/** Requests one after another on one keep-alive connection until stopped; each must succeed. */
function requestLoop(port: number, agent: Agent): { stop(): Promise<number[]>; count(): number } {
  const seen: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const r = await get(port, agent);
      expect(r.status).toBe(200);
      seen.push(r.json.requests);
    }
  })();
  return {
    count: () => seen.length,
    stop: async () => {
      running = false;
      await done;
      return seen;
    },
  };
}

async function waitFor(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('a gateway joined to several hosts', () => {
  it('reaches a guest on either host, and guests on different hosts reach each other', async () => {
    const [a, b] = [host(), host()];
    const gw = gatewayOn({ A: a, B: b });
    await gw.ready;
    expect(gw.hosts()).toEqual(['A', 'B']);
    await httpd(b, '00:16:3e:0b:00:02');
    const port = await gw.gateway.forward({ hostPort: 0, guest: { mac: '00:16:3e:0b:00:02', port: 80 } });
    const agent = keepAlive();
    for (let k = 1; k <= 3; k++) expect((await get(port, agent)).json).toMatchObject({ kernel: 'httpd', requests: k });
    expect(gw.gateway.bridge.table()).toContainEqual(expect.objectContaining({ mac: '00:16:3e:0b:00:02', uplink: 'B' }));

    // A station on host A's switch (a TypeScript IP node standing in for a guest) pings and
    // talks HTTP to the httpd on host B: A's switch → the gateway's bridge → B's switch.
    const peer = new IpNode({ mac: '00:16:3e:0a:00:09', ip: '10.10.0.9', tcp: { rtoMinMs: 100 } });
    peer.attach(await a.uplink());
    cleanups.push(() => peer.close());
    expect(await peer.ping('10.11.0.2', 5000)).toBeGreaterThanOrEqual(0);
    const c = peer.connect('10.11.0.2', 80);
    const got = collect(c);
    c.write(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n'));
    await waitFor(() => got.ended(), 'the response from host B');
    expect(got.data().toString()).toMatch(/^HTTP\/1\.1 200[\s\S]*"kernel":"httpd"/);
    expect(gw.gateway.bridge.table()).toContainEqual(expect.objectContaining({ mac: '00:16:3e:0a:00:09', uplink: 'A' }));

    // Detaching host B forgets what was learned there; attaching it again brings it back.
    gw.detach('B');
    expect(gw.gateway.bridge.table().some((e) => e.uplink === 'B')).toBe(false);
    gw.attach('B', b);
    const r = await get(port, agent); // the gateway's TCP retransmits until B is joined again
    expect(r.json.requests).toBe(5); // three through the gateway, one from the peer, this one
    expect(gw.gateway.list()[0]).toMatchObject({ total: 1, failed: 0 });
  });

  it('a guest saved on host A and restored on host B keeps its clients: every request succeeds on one connection', async () => {
    const [a, b] = [host(), host()];
    const gw = gatewayOn({ A: a, B: b });
    await gw.ready;
    const mac = '00:16:3e:0b:00:03';
    const domid = await httpd(a, mac);
    const port = await gw.gateway.forward({ hostPort: 0, guest: { mac, port: 80 } });
    const loop = requestLoop(port, keepAlive());
    await waitFor(() => loop.count() >= 5, 'requests before the move');
    expect(gw.gateway.bridge.table()).toContainEqual(expect.objectContaining({ mac, uplink: 'A' }));

    const file = join(dir, 'move.save');
    await a.save(domid, file);
    expect((await a.list()).some((d) => d.id === domid)).toBe(false);
    const before = loop.count();
    // Restored paused, so the guest cannot speak for itself: its MAC moves to B's uplink on the
    // announcement its vif makes when the toolstack reconnects it (restoreVifs).
    const moved = await b.restore(file, { paused: true });
    await waitFor(() => gw.gateway.bridge.table().some((e) => e.mac === mac && e.uplink === 'B'), 'the MAC on B');
    expect(loop.count()).toBe(before);
    await b.unpause(moved.domid);
    await waitFor(() => loop.count() >= before + 5, 'requests after the move');
    const seen = await loop.stop();

    seen.forEach((n, i) => expect(n, `request ${i}`).toBe(i + 1)); // one guest, counting on
    expect(gw.gateway.list()[0]).toMatchObject({ total: 1, failed: 0 }); // one TCP connection throughout
    expect(gw.gateway.bridge.table()).toContainEqual(expect.objectContaining({ mac, uplink: 'B' }));
    const vif = (await b.stats()).domains.find((d) => d.domid === moved.domid)!.vifs![0]!;
    expect(vif).toMatchObject({ mac, connected: true });
  });

  it('save and restore on the same host keeps an open connection', async () => {
    const a = host();
    const gw = runGateway(a, { tcp: { rtoMinMs: 100 }, hostName: 'A' });
    cleanups.push(() => gw.stop());
    await gw.ready;
    const mac = '00:16:3e:0b:00:04';
    const domid = await httpd(a, mac);
    const port = await gw.gateway.forward({ hostPort: 0, guest: { mac, port: 80 } });
    const agent = keepAlive();
    for (let k = 1; k <= 3; k++) expect((await get(port, agent)).json.requests).toBe(k);
    const file = join(dir, 'same.save');
    await a.save(domid, file);
    const pending = get(port, agent); // sent while the domain is gone
    await new Promise((r) => setTimeout(r, 300));
    await a.restore(file);
    expect((await pending).json.requests).toBe(4);
    for (let k = 5; k <= 7; k++) expect((await get(port, agent)).json.requests).toBe(k);
    expect(gw.gateway.list()[0]).toMatchObject({ total: 1, failed: 0 });
  });
});
