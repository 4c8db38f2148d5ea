// The runnable gateway as its own process against a host agent: it joins the host's switch
// through /v1/net/uplink, forwards a port to a guest (a TypeScript responder on the same
// switch), and rejoins when the host agent restarts — an open keep-alive connection survives.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalHypervisor } from '../../runtime/api.ts';
import { HostServer } from '../../runtime/server.ts';
import { IpNode } from './node.ts';
import { httpResponder } from './testing.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const GUEST = { mac: '00:16:3e:0a:00:07', ip: '10.10.0.7' };

let dir: string;
let hv: LocalHypervisor;
let server: HostServer;
let child: ChildProcess | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xf-gw-'));
  hv = LocalHypervisor.create({ clock: 'virtual', start: false, memoryBytes: 64 * 2 ** 20 });
  server = await HostServer.start({ hv, socketPath: join(dir, 'host.sock') });
});

afterAll(async () => {
  child?.kill('SIGTERM');
  await server?.close();
  await hv?.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(port: number, path: string, agent: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let s = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (s += c));
      res.on('end', () => resolve(s));
    }).on('error', reject).end();
  });
}

describe('gateway process', () => {
  it('forwards a port through the host agent and survives the agent restarting', async () => {
    const guest = new IpNode(GUEST);
    guest.attach(await hv.uplink());
    httpResponder(guest, 80);
    child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--host-socket', join(dir, 'host.sock'), '--forward', `0=${GUEST.mac}:80`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const end = Date.now() + 20_000;
    while (!out.includes('ready')) {
      if (Date.now() > end) throw new Error(`gateway did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const m = /forward 127\.0\.0\.1:(\d+) -> 10\.10\.0\.7:80/.exec(out);
    expect(m).not.toBeNull();
    const port = Number(m![1]);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect(JSON.parse(await get(port, '/one', agent))).toMatchObject({ path: '/one' });
    // The host agent goes away and comes back on the same socket; the gateway rejoins.
    await server.close();
    server = await HostServer.start({ hv, socketPath: join(dir, 'host.sock') });
    expect(JSON.parse(await get(port, '/two', agent))).toMatchObject({ path: '/two', requests: 2 });
    agent.destroy();
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = undefined;
    guest.close();
  });

  it('refuses bad arguments with exit code 2', async () => {
    const p = spawn(process.execPath, ['--import', 'tsx', MAIN, '--forward', 'nonsense'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    expect(await new Promise((r) => p.once('exit', r))).toBe(2);
    expect(err).toMatch(/HOSTPORT=GUEST:PORT/);
  });
});
