/**
 * bench/devices — the device path's headline numbers (issue "Runtime III", Speed):
 *  - HTTP requests per second and p99 latency to the `httpd` guest with keep-alive, through the
 *    gateway (127.0.0.1 → gateway TCP → switch → netback → the guest's own TCP/IP), beside the
 *    same load against a minimal Node HTTP server on the host, measured in one run;
 *  - block throughput inside the guest (`blktest bench=`): sequential 44 KiB writes and reads,
 *    flush latency, random 4 KiB IOPS, on a raw image file served by blkback.
 * The load generator runs in a child process (bench/devices/load.ts).
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LocalHypervisor } from '../../runtime/api.ts';
import { Gateway } from '../../controller/gateway/gateway.ts';
import { BenchError, table, type BenchReport, type BenchSuite } from '../suite.ts';

const run = promisify(execFile);
const guest = (name: string): Buffer => readFileSync(fileURLToPath(new URL(`../../guests/build/${name}.elf`, import.meta.url)));
const LOAD = fileURLToPath(new URL('./load.ts', import.meta.url));
const CONNECTIONS = 8;
const SECONDS = 5;

interface Load {
  requests: number;
  errors: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

async function load(port: number): Promise<Load> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', LOAD, String(port), String(CONNECTIONS), String(SECONDS)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as Load;
}

async function waitFor(out: () => string, text: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!out().includes(text)) {
    if (Date.now() > end) throw new BenchError(`guest did not print "${text}":\n${out()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function httpBench(): Promise<{ guest: Load; node: Load }> {
  const hv = LocalHypervisor.create({ clock: 'wall', memoryBytes: 512 * 2 ** 20 });
  const gw = new Gateway();
  try {
    const mac = '00:16:3e:10:20:30';
    const d = await hv.create({ name: 'httpd', kernel: guest('httpd'), memoryMiB: 16, interfaces: [{ mac }] });
    let out = '';
    const con = hv.console(d.domid, { follow: true });
    void (async () => {
      for await (const c of con) out += Buffer.from(c).toString();
    })();
    gw.attach(await hv.uplink());
    const port = await gw.forward({ hostPort: 0, guest: { mac, port: 80 } });
    await waitFor(() => out, 'listening on :80');
    const g = await load(port);
    con.close();
    // The same load against Node's own HTTP server answering a similar JSON body.
    let n = 0;
    const server = createServer((_req, res) => {
      const body = JSON.stringify({ kernel: 'node', version: process.version, uptimeMs: Math.round(process.uptime() * 1000), requests: ++n });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    const nodeLoad = await load(typeof addr === 'object' && addr ? addr.port : 0);
    server.close();
    if (g.requests === 0) throw new BenchError(`no request to the guest succeeded (${g.errors} errors)`);
    return { guest: g, node: nodeLoad };
  } finally {
    await gw.close();
    await hv.close();
  }
}

async function blockBench(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'xf-blkbench-'));
  const hv = LocalHypervisor.create({ clock: 'wall', memoryBytes: 512 * 2 ** 20 });
  try {
    const d = await hv.create({
      name: 'blkbench', kernel: guest('blktest'), memoryMiB: 16, cmdline: 'bench=32',
      disks: [{ source: join(dir, 'bench.img'), target: 'xvda', mode: 'rw', sizeMiB: 64 }],
    });
    let out = '';
    const con = hv.console(d.domid, { follow: true });
    void (async () => {
      for await (const c of con) out += Buffer.from(c).toString();
    })();
    await waitFor(() => out, 'rand-write-4k', 120_000);
    con.close();
    if (!out.includes('blktest: PASS')) throw new BenchError(`blktest did not pass:\n${out}`);
    const fig: Record<string, number> = {};
    for (const m of out.matchAll(/blktest: bench (\S+) (\d+) (\S+)/g)) fig[`${m[1]} (${m[3]})`] = Number(m[2]);
    return fig;
  } finally {
    await hv.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runDevices(log: (line: string) => void): Promise<BenchReport> {
  log(`HTTP keep-alive, ${CONNECTIONS} connections × ${SECONDS} s: httpd guest through the gateway, then a Node server`);
  const http = await httpBench();
  log('block: blktest bench=32 on a 64 MiB image');
  const block = await blockBench();
  log(
    table(
      ['HTTP', 'requests/s', 'p50 ms', 'p99 ms', 'errors'],
      [
        ['httpd guest (gateway)', http.guest.rps.toFixed(0), http.guest.p50Ms.toFixed(2), http.guest.p99Ms.toFixed(2), String(http.guest.errors)],
        ['Node server (host)', http.node.rps.toFixed(0), http.node.p50Ms.toFixed(2), http.node.p99Ms.toFixed(2), String(http.node.errors)],
      ],
    ),
  );
  log(table(['block (inside the guest)', 'value'], Object.entries(block).map(([k, v]) => [k, String(v)])));
  return { suite: 'devices', http: { connections: CONNECTIONS, seconds: SECONDS, ...http, ratio: http.node.rps / Math.max(1, http.guest.rps) }, block };
}

export const suite: BenchSuite = {
  name: 'devices',
  description: 'HTTP req/s and p99 to the httpd guest through the gateway vs a Node server; block throughput inside the guest',
  run: runDevices,
};
