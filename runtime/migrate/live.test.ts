// Live migration between two hosts, each behind its TCP agent with a token (server.ts): the
// guest continues exactly where it was, the source's copy is gone, and failures leave the
// source's copy running and the target clean.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalHypervisor } from '../local.ts';
import { HostServer } from '../server.ts';
import { consoleUntil } from '../../tests/support/console.ts';
import type { DomainInfo, HypervisorApi, MigrationProgress } from '../api.ts';

const guest = (name: string) => readFileSync(new URL(`../../guests/build/${name}.elf`, import.meta.url));

interface TestHost {
  hv: LocalHypervisor;
  server: HostServer;
  target: { address: string; token: string };
}

const open: TestHost[] = [];
async function startHost(token = 'secret-' + open.length): Promise<TestHost> {
  const hv = LocalHypervisor.create({ memoryBytes: 1024 * 2 ** 20 });
  const server = await HostServer.start({ hv, listen: { host: '127.0.0.1', port: 0 }, token });
  const h = { hv, server, target: { address: `127.0.0.1:${server.tcp!.port}`, token } };
  open.push(h);
  return h;
}

afterEach(async () => {
  for (const h of open.splice(0)) {
    await h.server.close();
    await h.hv.close();
  }
});

const byName = async (hv: HypervisorApi, name: string): Promise<DomainInfo | undefined> => {
  const row = (await hv.list()).find((r) => r.name === name);
  return row ? hv.domain(row.id) : undefined;
};

describe('live migration between two host agents', () => {
  it('a ticker continues its sequence on the target; the source keeps nothing', async () => {
    const a = await startHost();
    const b = await startHost();
    const d = await a.hv.create({ name: 'ticker', kernel: guest('ticker'), memoryMiB: 32 });
    await consoleUntil(a.hv, d.domid, /tick 2\n/);
    // Follow the source's console through the move: it ends when the source's copy goes.
    let onA = '';
    const follow = (async () => {
      for await (const bytes of a.hv.console(d.domid, { follow: true })) onA += Buffer.from(bytes).toString('latin1');
    })();
    const progress: MigrationProgress[] = [];
    const r = await a.hv.migrate(d.domid, b.target, { onProgress: (p) => progress.push(p) });
    await follow;
    expect(r.name).toBe('ticker');
    expect(r.rounds).toBeGreaterThanOrEqual(1);
    expect(r.pagesSent).toBeGreaterThan(0);
    expect(r.downtimeMs).toBeLessThan(r.totalMs);
    expect(r.disks).toBe('none');
    expect(progress.map((p) => p.phase)).toEqual(expect.arrayContaining(['reserving', 'precopy', 'stopcopy', 'activating']));
    expect(await byName(a.hv, 'ticker')).toBeUndefined();
    expect((await b.hv.domain(r.domid)).name).toBe('ticker');
    // The sequence continues: the first tick on B is the one after the last tick on A.
    const ticksA = [...onA.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
    const onB = await consoleUntil(b.hv, r.domid, new RegExp(`tick ${ticksA.at(-1)! + 2}\n`));
    const ticksB = [...onB.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
    // B's console carries A's history on: one sequence, no gap, no repeat, past A's last tick
    expect(ticksB).toEqual(ticksB.map((_, i) => i + 1));
    expect(ticksB.at(-1)).toBeGreaterThan(ticksA.at(-1)!);
    expect(onB.startsWith(onA)).toBe(true);
    expect(onB.match(/ticker: ready/g)).toHaveLength(1); // no reboot
    expect(await b.hv.incoming()).toEqual([]);
  }, 60_000);

  it('a bandwidth cap (maxRateMiBps) still completes, round after round, and back again', async () => {
    const a = await startHost();
    const b = await startHost();
    const d = await a.hv.create({ name: 'capped', kernel: guest('ticker'), memoryMiB: 16 });
    await consoleUntil(a.hv, d.domid, /tick 1\n/);
    const there = await a.hv.migrate(d.domid, b.target, { maxRateMiBps: 64, maxRounds: 3 });
    expect(there.rounds).toBeLessThanOrEqual(3);
    const back = await b.hv.migrate(there.domid, a.target, { maxRateMiBps: 64 });
    expect((await a.hv.domain(back.domid)).name).toBe('capped');
    expect(await consoleUntil(a.hv, back.domid, /tick \d+\n$/)).not.toMatch(/ready(.|\n)*ready/);
  }, 60_000);

  it('a wrong token is refused and the domain keeps running on the source', async () => {
    const a = await startHost();
    const b = await startHost();
    const d = await a.hv.create({ name: 'ticker', kernel: guest('ticker'), memoryMiB: 16 });
    const e = await a.hv.migrate(d.domid, { ...b.target, token: 'wrong' }).catch((x) => x);
    expect(e.code).toBe('EACCES');
    expect((await a.hv.domain(d.domid)).state).not.toContain('p');
    expect(await b.hv.list()).toHaveLength(1); // Domain-0 only
  });

  it('a name already running on the target is refused before anything is sent', async () => {
    const a = await startHost();
    const b = await startHost();
    const d = await a.hv.create({ name: 'twin', kernel: guest('ticker'), memoryMiB: 16 });
    await b.hv.create({ name: 'twin', kernel: guest('ticker'), memoryMiB: 16 });
    const e = await a.hv.migrate(d.domid, b.target).catch((x) => x);
    expect(e.code).toBe('EEXIST');
    expect(e.message).toMatch(/keeps running here/);
    expect((await a.hv.domain(d.domid)).name).toBe('twin');
    expect((await b.hv.list()).map((r) => r.name).sort()).toEqual(['Domain-0', 'twin']);
  });

  it('refuses a migration to the same host', async () => {
    const a = await startHost();
    const d = await a.hv.create({ name: 'ticker', kernel: guest('ticker'), memoryMiB: 16 });
    const e = await a.hv.migrate(d.domid, a.target).catch((x) => x);
    expect(e.code).toBe('EINVAL');
    expect((await a.hv.domain(d.domid)).state).not.toContain('p');
  });

  it('an unreachable target is EHOSTDOWN and changes nothing', async () => {
    const a = await startHost();
    const d = await a.hv.create({ name: 'ticker', kernel: guest('ticker'), memoryMiB: 16 });
    const e = await a.hv.migrate(d.domid, { address: '127.0.0.1:1', token: 'x' }).catch((x) => x);
    expect(e.code).toBe('EHOSTDOWN');
    expect((await a.hv.domain(d.domid)).name).toBe('ticker');
  });
});
