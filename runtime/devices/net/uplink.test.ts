// The host↔gateway frame channel end to end: a LocalHypervisor whose domain has an interface
// (its netfront played by TestNetfront), served by the host agent on a unix socket and on TCP
// with a token; RemoteHypervisor.uplink() upgrades to a frame stream that is a switch port.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HypervisorError, LocalHypervisor, type FrameLink } from '../../api.ts';
import { testGuest } from '../../api.test-guests.ts';
import { RemoteHypervisor } from '../../client.ts';
import { HostServer } from '../../server.ts';
import { ethFrame, TestNetfront } from './testing.ts';

const MAC = '00:16:3e:12:34:56';
const GW = '00:16:3e:00:00:01';

let dir: string;
let local: LocalHypervisor;
let server: HostServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xf-net-'));
  local = LocalHypervisor.create({ clock: 'virtual', memoryBytes: 256 * 2 ** 20, start: false });
  server = await HostServer.start({ hv: local, socketPath: join(dir, 'host.sock'), listen: { host: '127.0.0.1', port: 0 }, token: 'sekrit' });
});

afterAll(async () => {
  await server?.close();
  await local?.close();
  rmSync(dir, { recursive: true, force: true });
});

const next = (link: FrameLink): Promise<Uint8Array> => new Promise((r) => link.onFrame(r));

async function until(f: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('uplink: the host agent carries frames to and from the switch', () => {
  it('creates a domain with an interface, reports it in stats, and refuses bad interfaces', async () => {
    const hv = new RemoteHypervisor({ socketPath: join(dir, 'host.sock') });
    const info = await hv.create({ name: 'n1', kernel: testGuest('', 'block'), memoryMiB: 4, paused: true, interfaces: [{ mac: MAC, ports: [{ host: 8080, guest: 80 }] }] });
    const row = (await hv.stats()).domains.find((d) => d.domid === info.domid)!;
    expect(row).toMatchObject({ nets: 1, netTxKiB: 0, netRxKiB: 0 });
    expect(row.vifs![0]).toMatchObject({ mac: MAC, ip: '10.18.52.86', state: 2, connected: false });
    const bad = await hv.create({ name: 'n2', kernel: testGuest('', 'block'), memoryMiB: 4, interfaces: [{ mac: 'aa:bb' }] }).catch((e) => e);
    expect(bad).toBeInstanceOf(HypervisorError);
    expect((bad as HypervisorError).code).toBe('EINVAL');
    const dup = await hv.create({ name: 'n3', kernel: testGuest('', 'block'), memoryMiB: 4, interfaces: [{ mac: MAC }] }).catch((e) => e);
    expect((dup as HypervisorError).message).toMatch(/already used by domain/);
    await hv.destroy(info.domid);
    await hv.close();
  });

  it('frames flow both ways over the unix socket and over TCP with the token', async () => {
    const d = await local.create({ name: 'n4', kernel: testGuest('', 'block'), memoryMiB: 4, paused: true, interfaces: [{ mac: MAC }] });
    const f = new TestNetfront(local.host, d.domid);
    f.connect();
    f.postRx(8);
    for (const hv of [new RemoteHypervisor({ socketPath: join(dir, 'host.sock') }), new RemoteHypervisor({ url: `http://127.0.0.1:${server.tcp!.port}`, token: 'sekrit' })]) {
      const link = await hv.uplink();
      const toGuest = ethFrame(MAC, GW, 0x0800, 1500);
      link.send(toGuest);
      let got: (Uint8Array | number)[] = [];
      await until(() => (got = f.received()).length > 0);
      expect(Buffer.from(got[0] as Uint8Array).equals(Buffer.from(toGuest))).toBe(true);
      const fromGuest = ethFrame(GW, MAC, 0x0806, 28);
      const arrival = next(link);
      f.send(fromGuest);
      expect(Buffer.from(await arrival).equals(Buffer.from(fromGuest))).toBe(true);
      const ports = local.host.net.switch.ports().length;
      link.close();
      await until(() => local.host.net.switch.ports().length === ports - 1);
      f.postRx(1);
      await hv.close();
    }
    const row = (await local.stats()).domains.find((x) => x.domid === d.domid)!;
    expect(row.vifs![0]!.counters).toMatchObject({ txFrames: 2, rxFrames: 2 });
    await local.destroy(d.domid);
  });

  it('refuses an uplink without the token, and a malformed frame stream closes the port', async () => {
    const bad = new RemoteHypervisor({ url: `http://127.0.0.1:${server.tcp!.port}`, token: 'wrong' });
    const e = await bad.uplink().catch((x) => x);
    expect((e as HypervisorError).code).toBe('EACCES');
    const ports = local.host.net.switch.ports().length;
    const sock = await new Promise<import('node:stream').Duplex>((resolve, reject) => {
      const req = request({ socketPath: join(dir, 'host.sock'), path: '/v1/net/uplink', headers: { Connection: 'Upgrade', Upgrade: 'xenoform-frames' } });
      req.on('upgrade', (_r, s) => resolve(s));
      req.on('error', reject);
      req.end();
    });
    await until(() => local.host.net.switch.ports().length === ports + 1);
    sock.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
    await until(() => local.host.net.switch.ports().length === ports);
    sock.destroy();
  });
});
