// The guest kit's httpd (C, on the emulated CPU, with its own netfront and TCP/IP stack)
// served to Node's http client through the gateway: keep-alive, and a guest paused for
// several of the gateway's RTOs that loses nothing (DESIGN.md §5).
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalHypervisor } from '../../runtime/api.ts';
import { Gateway } from '../../controller/gateway/gateway.ts';

const HTTPD = fileURLToPath(new URL('../../guests/build/httpd.elf', import.meta.url));
const MAC = '00:16:3e:0a:0b:0c';

const stops: (() => unknown)[] = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
});

function get(port: number, agent: Agent): Promise<{ status: number; json: { requests: number; kernel: string } }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      let s = '';
      res.on('data', (c) => (s += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(s) }));
    }).on('error', reject).end();
  });
}

describe('httpd guest through the gateway', () => {
  it('answers keep-alive requests, and a pause of several RTOs loses nothing', async () => {
    const hv = LocalHypervisor.create({ clock: 'wall', memoryBytes: 256 * 2 ** 20 });
    stops.push(() => hv.close());
    const d = await hv.create({ name: 'web', kernel: readFileSync(HTTPD), memoryMiB: 16, interfaces: [{ mac: MAC, ports: [{ host: 18081, guest: 80 }] }] });
    let out = '';
    const con = hv.console(d.domid, { follow: true });
    void (async () => {
      for await (const c of con) out += Buffer.from(c).toString();
    })();
    stops.push(() => con.close());
    const gw = new Gateway({ tcp: { rtoMinMs: 100 } });
    stops.push(() => gw.close());
    gw.attach(await hv.uplink());
    const port = await gw.forward({ hostPort: 0, guest: { mac: MAC, port: 80 } });
    const end = Date.now() + 30_000;
    while (!out.includes('listening on :80')) {
      if (Date.now() > end) throw new Error(`httpd did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(out).toContain('httpd: address 10.10.11.12/8 gateway 10.0.0.1');

    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    stops.push(() => agent.destroy());
    for (let k = 1; k <= 10; k++) {
      const r = await get(port, agent);
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ kernel: 'httpd', requests: k });
    }
    expect(gw.list()[0]).toMatchObject({ total: 1, active: 1 });

    await hv.pause(d.domid);
    const pending = get(port, agent);
    await new Promise((r) => setTimeout(r, 1000)); // the gateway retransmits, backing off
    await hv.unpause(d.domid);
    const r = await pending;
    expect(r.json.requests).toBe(11);
    expect(gw.list()[0]!.failed).toBe(0);

    const row = (await hv.stats()).domains.find((x) => x.domid === d.domid)!;
    expect(row.nets).toBe(1);
    expect(row.vifs![0]).toMatchObject({ connected: true, counters: { txErrors: 0, rxErrors: 0 } });
    expect(row.vifs![0]!.counters.rxFrames).toBeGreaterThan(10);
  });
});
