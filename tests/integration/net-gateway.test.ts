// The whole network path with nothing stubbed but the guest's CPU: Node's http client →
// 127.0.0.1 → the controller's gateway (its own TCP) → the host's uplink → the switch → netback
// (grant copies into and out of the domain's memory) → a netfront written in TypeScript on the
// domain's rings → a TypeScript IP stack answering HTTP as the guest's httpd would.
import { Agent, request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalHypervisor, type FrameLink } from '../../runtime/api.ts';
import { testGuest } from '../../runtime/api.test-guests.ts';
import { TestNetfront } from '../../runtime/devices/net/testing.ts';
import type { FramePage } from '../../runtime/hv/shared.ts';
import { Gateway } from '../../controller/gateway/gateway.ts';
import { IpNode } from '../../controller/gateway/node.ts';
import { httpResponder, pattern } from '../../controller/gateway/testing.ts';

const MAC = '00:16:3e:2a:00:05';

/** A FrameLink over TestNetfront: tx through one reused buffer, rx into a pool of re-posted buffers. */
function netfrontLink(f: TestNetfront): FrameLink & { stop(): void } {
  const frameFns: ((fr: Uint8Array) => void)[] = [];
  const txBuf = f.grantPage(true);
  const pool: [number, FramePage][] = Array.from({ length: 64 }, () => f.grantPage());
  for (const b of pool) f.postRx(1, { buf: b, notify: false });
  f.notify(f.rxPort);
  let id = 0;
  const timer = setInterval(() => {
    if (!f.kicked(f.rxPort) && f.rxPage.u32(8) === f.rxRspCons) return;
    const bufs = [...f.rxBufs.entries()];
    const got = f.received();
    // Re-post each consumed buffer (received() forgets them).
    const still = new Set(f.rxBufs.keys());
    for (const [bid, b] of bufs) if (!still.has(bid)) f.postRx(1, { buf: [b.ref, b.page], notify: false });
    f.notify(f.rxPort);
    for (const fr of got) if (fr instanceof Uint8Array) for (const fn of frameFns) fn(fr);
  }, 1);
  return {
    send: (fr) => {
      f.send(fr, { buf: txBuf, id: id++ & 0xffff });
      f.txResponses();
      return true;
    },
    onFrame: (fn) => void frameFns.push(fn),
    onClose: () => undefined,
    close: () => clearInterval(timer),
    stop: () => clearInterval(timer),
    closed: false,
  };
}

const stops: (() => unknown)[] = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
});

describe('network path: http client → gateway → switch → netback → netfront → guest stack', () => {
  it('serves HTTP through a real vif, both ways exact, and answers pings', async () => {
    const hv = LocalHypervisor.create({ clock: 'virtual', start: false, memoryBytes: 128 * 2 ** 20 });
    stops.push(() => hv.close());
    const d = await hv.create({ name: 'web', kernel: testGuest('', 'block'), memoryMiB: 8, paused: true, interfaces: [{ mac: MAC, ports: [{ host: 18080, guest: 80 }] }] });
    const xs = hv.host.xenstored;
    const fe = `/local/domain/${d.domid}/device/vif/0`;
    // The guest reads its address where the toolstack wrote it.
    const ip = xs.readString(`${fe}/ip`)!;
    expect([ip, xs.readString(`${fe}/gateway`)]).toEqual(['10.42.0.5', '10.0.0.1']);
    const f = new TestNetfront(hv.host, d.domid);
    f.connect();
    expect(Number(xs.readString(`/local/domain/0/backend/vif/${d.domid}/0/state`))).toBe(4);
    const link = netfrontLink(f);
    stops.push(() => link.stop());
    const guest = new IpNode({ mac: MAC, ip, tcp: { rtoMinMs: 50 } });
    guest.attach(link); // announces itself with a gratuitous ARP
    const http = httpResponder(guest, 80);

    const gw = new Gateway({ tcp: { rtoMinMs: 50 } });
    stops.push(() => gw.close());
    gw.attach(await hv.uplink());
    const port = await gw.forward({ hostPort: 0, guest: { mac: MAC, port: 80 } });

    expect(await guest.ping('10.0.0.1', 2000)).toBeGreaterThanOrEqual(0);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    stops.push(() => agent.destroy());
    const get = (path: string, body?: Uint8Array) => new Promise<Buffer>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path, agent, method: body ? 'POST' : 'GET', headers: body ? { 'Content-Length': body.length } : {} }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve(Buffer.concat(parts)));
      }).on('error', reject).end(body);
    });
    expect(JSON.parse((await get('/')).toString())).toMatchObject({ kernel: 'ts-guest', requests: 1 });
    expect((await get('/big?n=400000')).equals(Buffer.from(pattern(400_000)))).toBe(true);
    const up = pattern(300_000, 3);
    let sum = 0;
    for (const b of up) sum = (sum * 31 + b) >>> 0;
    expect(JSON.parse((await get('/echo', up)).toString())).toEqual({ length: up.length, sum });
    expect(http.requests()).toBe(3);
    // xentop's view: the domain sent and received through its vif.
    const row = (await hv.stats()).domains.find((x) => x.domid === d.domid)!;
    expect(row.nets).toBe(1);
    expect(row.netTxKiB).toBeGreaterThan(390);
    expect(row.netRxKiB).toBeGreaterThan(290);
    expect(row.vifs![0]!.counters.txErrors).toBe(0);
  });
});
