// kvstore's durability promise (issue "Runtime III", Proof): writes acknowledged with 204 are on
// the disk before the answer, so a domain destroyed right after them — a pulled plug — and
// started again on the same image has every acknowledged key. Real guest, real blkback on an
// image file, real netback and switch, the gateway's TCP, Node's http client.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { httpCall } from '../support/http.ts';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalHypervisor } from '../../runtime/api.ts';
import { Gateway } from '../../controller/gateway/gateway.ts';

const KVSTORE = readFileSync(fileURLToPath(new URL('../../guests/build/kvstore.elf', import.meta.url)));
const MAC = '00:16:3e:0c:0d:0e';
const dir = mkdtempSync(join(tmpdir(), 'xf-kv-'));
const stops: (() => unknown)[] = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
  rmSync(dir, { recursive: true, force: true });
});

const call = (port: number, agent: Agent, method: string, path: string, body?: string) => httpCall(port, method, path, body, agent);

async function boot(hv: LocalHypervisor, name: string): Promise<{ domid: number; out: () => string }> {
  const d = await hv.create({
    name, kernel: KVSTORE, memoryMiB: 16,
    disks: [{ source: join(dir, 'kv.img'), target: 'xvda', mode: 'rw', sizeMiB: 8 }],
    interfaces: [{ mac: MAC }],
  });
  let out = '';
  const con = hv.console(d.domid, { follow: true });
  void (async () => {
    for await (const c of con) out += Buffer.from(c).toString();
  })();
  stops.push(() => con.close());
  const end = Date.now() + 30_000;
  while (!out.includes('listening on :80')) {
    if (Date.now() > end) throw new Error(`kvstore did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { domid: d.domid, out: () => out };
}

describe('kvstore: a power cut loses no acknowledged write', () => {
  it('destroyed right after acknowledged PUTs, restarted on the same disk, it has every key', async () => {
    const hv = LocalHypervisor.create({ clock: 'wall', memoryBytes: 256 * 2 ** 20 });
    stops.push(() => hv.close());
    const gw = new Gateway({ tcp: { rtoMinMs: 100 } });
    stops.push(() => gw.close());
    gw.attach(await hv.uplink());
    const port = await gw.forward({ hostPort: 0, guest: { mac: MAC, port: 80 } });
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    stops.push(() => agent.destroy());

    const first = await boot(hv, 'kv1');
    expect(first.out()).toContain('kvstore: new store');
    const acked = new Map<string, string>();
    for (let k = 0; k < 60; k++) {
      const key = `key-${k}`, value = `value ${k} ${'x'.repeat(k * 37)}`;
      const r = await call(port, agent, 'PUT', `/kv/${key}`, value);
      expect(r.status).toBe(204);
      acked.set(key, value);
    }
    expect((await call(port, agent, 'DELETE', '/kv/key-7')).status).toBe(204);
    acked.delete('key-7');
    await hv.destroy(first.domid); // the plug: no shutdown, no flush beyond what was acknowledged
    agent.destroy();

    const second = await boot(hv, 'kv2');
    expect(second.out()).toMatch(/kvstore: recovered \d+ keys/);
    const agent2 = new Agent({ keepAlive: true, maxSockets: 4 });
    stops.push(() => agent2.destroy());
    for (const [key, value] of acked) {
      const r = await call(port, agent2, 'GET', `/kv/${key}`);
      expect(r.status, key).toBe(200);
      expect(r.body).toBe(value);
    }
    expect((await call(port, agent2, 'GET', '/kv/key-7')).status).toBe(404);
    const keys = (await call(port, agent2, 'GET', '/kv/')).body.split('\n').filter(Boolean).sort();
    expect(keys).toEqual([...acked.keys()].sort());
  }, 120_000);
});
