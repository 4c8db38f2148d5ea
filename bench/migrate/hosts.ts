/**
 * Two in-process hosts, each behind its TCP agent on loopback (as runtime/migrate/live.test.ts
 * starts them), and the console helpers the migrate bench needs to follow a `memdirty` guest.
 */
import { readFileSync } from 'node:fs';
import { LocalHypervisor } from '../../runtime/local.ts';
import { HostServer } from '../../runtime/server.ts';
import type { HypervisorApi, MigrationTarget } from '../../runtime/api.ts';
import { BenchError } from '../suite.ts';

export interface BenchHost {
  name: string;
  hv: LocalHypervisor;
  server: HostServer;
  target: MigrationTarget;
}

export const memdirty = (): Uint8Array => readFileSync(new URL('../../guests/build/memdirty.elf', import.meta.url));

export async function startHost(name: string, memoryMiB: number): Promise<BenchHost> {
  const hv = LocalHypervisor.create({ memoryBytes: memoryMiB * 2 ** 20 });
  const token = `bench-${name}`;
  const server = await HostServer.start({ hv, listen: { host: '127.0.0.1', port: 0 }, token });
  return { name, hv, server, target: { address: `127.0.0.1:${server.tcp!.port}`, token } };
}

export async function stopHost(h: BenchHost): Promise<void> {
  await h.server.close();
  await h.hv.close();
}

/** The whole console output held for a domain (no follow). */
export async function consoleText(hv: HypervisorApi, id: number): Promise<string> {
  let out = '';
  for await (const b of hv.console(id)) out += Buffer.from(b).toString('latin1');
  return out;
}

/** Follow a domain's console until `pattern` matches the text so far (or fail after timeoutMs). */
export async function consoleUntil(hv: HypervisorApi, id: number, pattern: RegExp, timeoutMs: number): Promise<string> {
  const s = hv.console(id, { follow: true });
  let out = '';
  const timer = setTimeout(() => s.close(), timeoutMs);
  try {
    for await (const b of s) {
      out += Buffer.from(b).toString('latin1');
      if (pattern.test(out)) return out;
    }
  } finally {
    clearTimeout(timer);
    s.close();
  }
  throw new BenchError(`domain ${id}: no ${pattern} within ${timeoutMs} ms; console: ${JSON.stringify(out.slice(-300))}`);
}

/** The guest's own check: a page that did not hold what it last wrote is printed as BAD. */
export function checkNoBad(text: string, where: string): void {
  const bad = /memdirty: BAD [^\n]*/.exec(text);
  if (bad) throw new BenchError(`${where}: the guest found a page it did not write: ${bad[0]}`);
}

/** The last `memdirty: dirtied N` count in a console text (0 if none yet). */
export function lastDirtied(text: string): number {
  const all = [...text.matchAll(/memdirty: dirtied (\d+)/g)];
  return all.length ? Number(all.at(-1)![1]) : 0;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
