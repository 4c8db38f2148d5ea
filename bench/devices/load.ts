/**
 * A keep-alive HTTP load generator, run as a child process so it does not share the event loop
 * with what it measures. Usage: node --import tsx bench/devices/load.ts PORT CONNECTIONS SECONDS
 * Prints {requests, errors, seconds, rps, p50Ms, p99Ms} as JSON.
 */
import { Agent, request } from 'node:http';

const [port, conns, seconds] = process.argv.slice(2).map(Number) as [number, number, number];
const agent = new Agent({ keepAlive: true, maxSockets: conns });
const lat: number[] = [];
let errors = 0;
const end = Date.now() + seconds * 1000;

function one(): Promise<void> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        else errors++;
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end();
  });
}

async function worker(): Promise<void> {
  while (Date.now() < end) await one();
}

const t0 = Date.now();
await Promise.all(Array.from({ length: conns }, worker));
const secs = (Date.now() - t0) / 1000;
lat.sort((a, b) => a - b);
const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
process.stdout.write(JSON.stringify({ requests: lat.length, errors, seconds: secs, rps: lat.length / secs, p50Ms: q(0.5), p99Ms: q(0.99) }));
agent.destroy();
