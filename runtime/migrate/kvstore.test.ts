// A kvstore with data, saved and restored on the same host (xl save / xl restore), keeps serving
// its data: disk (blkback re-attached to its ring), network (the vif keeps its MAC, the
// gateway's forward follows it) and the guest's memory all carry on.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { httpCall } from '../../tests/support/http.ts';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalHypervisor } from '../api.ts';
import { Gateway } from '../../controller/gateway/gateway.ts';

const KVSTORE = readFileSync(fileURLToPath(new URL('../../guests/build/kvstore.elf', import.meta.url)));
const MAC = '00:16:3e:0c:0d:1e';
const dir = mkdtempSync(join(tmpdir(), 'xf-kvsr-'));
const stops: (() => unknown)[] = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
  rmSync(dir, { recursive: true, force: true });
});

const call = (port: number, agent: Agent, method: string, path: string, body?: string) => httpCall(port, method, path, body, agent);

function follow(hv: LocalHypervisor, domid: number): () => string {
  let out = '';
  const con = hv.console(domid, { follow: true });
  void (async () => {
    for await (const c of con) out += Buffer.from(c).toString();
  })();
  stops.push(() => con.close());
  return () => out;
}

describe('kvstore: save and restore keep its data and its service', () => {
  it('serves every key after restore, and takes new writes', async () => {
    const hv = LocalHypervisor.create({ clock: 'wall', memoryBytes: 256 * 2 ** 20 });
    stops.push(() => hv.close());
    const gw = new Gateway({ tcp: { rtoMinMs: 100 } });
    stops.push(() => gw.close());
    gw.attach(await hv.uplink());
    const port = await gw.forward({ hostPort: 0, guest: { mac: MAC, port: 80 } });
    const d = await hv.create({
      name: 'kv', kernel: KVSTORE, memoryMiB: 16,
      disks: [{ source: join(dir, 'kv.img'), target: 'xvda', mode: 'rw', sizeMiB: 8 }],
      interfaces: [{ mac: MAC }],
    });
    const out = follow(hv, d.domid);
    const end = Date.now() + 30_000;
    while (!out().includes('listening on :80')) {
      if (Date.now() > end) throw new Error(`kvstore did not start:\n${out()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const agent = new Agent({ keepAlive: false });
    stops.push(() => agent.destroy());
    for (let k = 0; k < 20; k++) expect((await call(port, agent, 'PUT', `/kv/key-${k}`, `value ${k}`)).status).toBe(204);

    const file = join(dir, 'kv.save');
    await hv.save(d.domid, file);
    const r = await hv.restore(file);
    const out2 = follow(hv, r.domid);
    for (let k = 0; k < 20; k++) {
      const g = await call(port, agent, 'GET', `/kv/key-${k}`);
      expect(g.status, `key-${k}`).toBe(200);
      expect(g.body).toBe(`value ${k}`);
    }
    expect((await call(port, agent, 'PUT', '/kv/after', 'restore')).status).toBe(204);
    expect((await call(port, agent, 'GET', '/kv/after')).body).toBe('restore');
    // the console's history came along; the start-up line is there once (no second start)
    const starts = (s: string) => s.match(/kvstore: (new store|recovered)/g)?.length ?? 0;
    expect(starts(out2())).toBe(starts(out()));
  });
});
