// e2e: a Domain with an interface — `up` runs the gateway, the declared port is reachable with a
// real HTTP client on 127.0.0.1, and HTTP readiness is probed from the gateway's node on the
// segment; the same for a disk image created from sizeMiB and served to the guest.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cond, manifest, World } from './controller-harness.ts';

let w: World;
beforeEach(() => { w = new World(); });
afterEach(async () => { await w.cleanup(); });

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('xenoform up: devices', () => {
  it('forwards an interface port to the httpd guest and probes its HTTP readiness', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    w.write('web.yaml', manifest('web', 'httpd.elf', `  interfaces:\n    - ports:\n        - host: ${port}\n          guest: 80\n  readiness:\n    http:\n      port: 80\n`, 16));
    await w.startUp();
    const d = await w.waitDomain('web', (x) => cond(x, 'Ready')?.status === 'True');
    expect(cond(d, 'Ready')).toMatchObject({ reason: 'HttpProbeSucceeded' });
    const r = await get(port, '/');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ kernel: 'httpd' });
    expect((await get(port, '/nope')).status).toBe(404);
    const wide = await w.cli(['get', 'domains', '-o', 'wide']);
    expect(wide.stdout).toContain(`${port}->80`);
  });

  it('TCP readiness stays False while nothing listens on the probed port', async () => {
    w.write('web.yaml', manifest('web', 'httpd.elf', '  interfaces:\n    - {}\n  readiness:\n    tcp:\n      port: 81\n', 16));
    await w.startUp();
    const d = await w.waitDomain('web', (x) => cond(x, 'Ready')?.reason === 'TcpProbeFailed');
    expect(d?.status?.phase).toBe('Running');
  });

  it('creates a disk image from sizeMiB next to the manifest and serves it to the guest', async () => {
    w.write('blk.yaml', manifest('blk', 'blktest.elf', '  runStrategy: Once\n  disks:\n    - source: disks/blk.img\n      target: xvda\n      mode: rw\n      sizeMiB: 8\n', 16));
    await w.startUp();
    await w.waitDomain('blk', (x) => x?.status?.phase === 'Stopped');
    expect((await w.cli(['logs', 'blk'])).stdout).toMatch(/^blktest: PASS /m);
    const img = join(w.manifests, 'disks', 'blk.img');
    expect(existsSync(img) && statSync(img).size).toBe(8 << 20);
  });
});
