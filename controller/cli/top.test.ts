import { describe, expect, it } from 'vitest';
import { topRows } from './top.ts';

const info = { version: '0', xenVersion: '4.19', memoryTotalMiB: 1024, memoryFreeMiB: 512, pcpus: 1, clock: 'wall' as const, uptimeS: 1, domains: 1, pid: 1 };
const dom = (cpuNs: number) => ({
  domid: 1, name: 'web', state: '-b----', cpuNs, memoryKiB: 262144, maxMemoryKiB: 524288, vcpus: 2,
  nets: 1, netTxKiB: 3, netRxKiB: 4, vbds: 1, vbdOo: 0, vbdRd: 5, vbdWr: 6, vbdRsect: 7, vbdWsect: 8,
});

describe('top (xentop columns)', () => {
  it('CPU(%) is the CPU time over the interval between two samples; MEM(%) of host memory', () => {
    const prev = { info, stats: { timeNs: 1e9, domains: [dom(0.5e9)] } };
    const cur = { info, stats: { timeNs: 3e9, domains: [dom(1.5e9)] } };
    const [row] = topRows(cur, prev);
    expect(row).toMatchObject({ name: 'web', cpuSec: 1, cpuPct: 50, memKiB: 262144, memPct: 25, maxMemPct: 50, vcpus: 2, vbdRd: 5, vbdWsect: 8 });
  });

  it('without a previous sample CPU(%) is 0', () => {
    expect(topRows({ info, stats: { timeNs: 1, domains: [dom(9e9)] } })[0]!.cpuPct).toBe(0);
  });
});
