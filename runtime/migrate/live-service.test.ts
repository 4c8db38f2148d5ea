// Services under load across a live migration: a kvstore (disk in a directory both hosts see)
// and an httpd move from host A to host B while an HTTP client keeps calling them through the
// gateway, bridged onto both hosts' segments. No request fails, no acknowledged write is lost.
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { httpCall } from '../../tests/support/http.ts';
import { consoleUntil } from '../../tests/support/console.ts';
import { Gateway } from '../../controller/gateway/gateway.ts';
import { LocalHypervisor } from '../local.ts';
import { blockDevicesOf } from '../devices/block/index.ts';
import { HostServer } from '../server.ts';
import type { MigrationResult } from '../api.ts';

const image = (name: string) => readFileSync(fileURLToPath(new URL(`../../guests/build/${name}.elf`, import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'xf-live-'));
const stops: (() => unknown)[] = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
  rmSync(dir, { recursive: true, force: true });
});

async function host(token: string) {
  const hv = LocalHypervisor.create({ memoryBytes: 512 * 2 ** 20 });
  const server = await HostServer.start({ hv, listen: { host: '127.0.0.1', port: 0 }, token });
  stops.push(() => hv.close(), () => server.close());
  return { hv, target: { address: `127.0.0.1:${server.tcp!.port}`, token } };
}


describe('services keep serving across a live migration', () => {
  it('kvstore and httpd move A → B under a client that never stops; every acknowledged write is there', async () => {
    const a = await host('ta');
    const b = await host('tb');
    const gw = new Gateway({ tcp: { rtoMinMs: 50 } });
    stops.push(() => gw.close());
    gw.attach(await a.hv.uplink(), 'a');
    gw.attach(await b.hv.uplink(), 'b');
    const kvMac = '00:16:3e:0c:0d:21';
    const webMac = '00:16:3e:0c:0d:22';
    const kvPort = await gw.forward({ hostPort: 0, guest: { mac: kvMac, port: 80 } });
    const webPort = await gw.forward({ hostPort: 0, guest: { mac: webMac, port: 80 } });
    const kv = await a.hv.create({
      name: 'kv', kernel: image('kvstore'), memoryMiB: 32, interfaces: [{ mac: kvMac }],
      disks: [{ source: join(dir, 'kv.img'), target: 'xvda', mode: 'rw', sizeMiB: 8 }],
    });
    const web = await a.hv.create({ name: 'web', kernel: image('httpd'), memoryMiB: 32, interfaces: [{ mac: webMac }] });
    await consoleUntil(a.hv, kv.domid, 'listening on :80');
    await consoleUntil(a.hv, web.domid, 'listening on :80');

    // The load: PUT after PUT to the kvstore, keep-alive GETs to httpd, until told to stop.
    const kvAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const webAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    stops.push(() => kvAgent.destroy(), () => webAgent.destroy());
    const acked: string[] = [];
    const failures: string[] = [];
    let webOk = 0;
    let running = true;
    const kvLoad = (async () => {
      for (let k = 0; running; k++) {
        const r = await httpCall(kvPort, 'PUT', `/kv/k${k}`, `v${k}`, kvAgent).catch((e) => ({ status: 0, body: String(e) }));
        if (r.status === 204) acked.push(`k${k}`);
        else failures.push(`PUT k${k}: ${r.status} ${r.body}`);
      }
    })();
    const webLoad = (async () => {
      while (running) {
        const r = await httpCall(webPort, 'GET', '/', undefined, webAgent).catch((e) => ({ status: 0, body: String(e) }));
        if (r.status === 200) webOk++;
        else failures.push(`GET /: ${r.status} ${r.body}`);
      }
    })();
    while (acked.length < 10 || webOk < 10) await new Promise((r) => setTimeout(r, 10));

    const moved: MigrationResult[] = [];
    moved.push(await a.hv.migrate(kv.domid, b.target));
    moved.push(await a.hv.migrate(web.domid, b.target));
    const ackedAtMove = acked.length;
    const okAtMove = webOk;
    // Keep the load going on B for a while.
    while (acked.length < ackedAtMove + 10 || webOk < okAtMove + 10) await new Promise((r) => setTimeout(r, 10));
    running = false;
    await Promise.all([kvLoad, webLoad]);

    expect(failures).toEqual([]);
    expect(moved.map((m) => m.disks)).toEqual(['shared', 'none']);
    // the writable image's lease passed to B with the domain; A cannot open it meanwhile
    const img = realpathSync(join(dir, 'kv.img'));
    expect(blockDevicesOf(b.hv.host).leases.holder(img)).toMatchObject({ hostId: b.hv.hostId, domain: 'kv' });
    const twin = await a.hv.create({ name: 'kv2', kernel: image('kvstore'), memoryMiB: 16, disks: [{ source: join(dir, 'kv.img'), target: 'xvda', mode: 'rw' }] }).catch((e) => e);
    expect(twin.message).toMatch(/held writable by domain kv on another host/);
    expect((await a.hv.list()).map((r) => r.name)).toEqual(['Domain-0']);
    expect((await b.hv.list()).map((r) => r.name).sort()).toEqual(['Domain-0', 'kv', 'web']);
    for (const key of acked) {
      const g = await httpCall(kvPort, 'GET', `/kv/${key}`, undefined, kvAgent);
      expect(g.status, key).toBe(200);
      expect(g.body).toBe(`v${key.slice(1)}`);
    }
  }, 120_000);
});
