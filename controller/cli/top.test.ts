import { describe, expect, it } from 'vitest';
import { clusterRows, topRows } from './top.ts';
import { hostsTable, xlList } from '../api/print.ts';

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

  it('across hosts: rows of every host that answered, CPU(%) from that host\'s own previous sample', () => {
    const prev = { info, stats: { timeNs: 1e9, domains: [] }, hosts: [{ host: 'local', info, stats: { timeNs: 1e9, domains: [dom(0)] } }, { host: 'b', info, stats: { timeNs: 1e9, domains: [dom(0.5e9)] } }] };
    const cur = { info, stats: { timeNs: 3e9, domains: [] }, hosts: [{ host: 'local', info, stats: { timeNs: 3e9, domains: [dom(0)] } }, { host: 'b', info, stats: { timeNs: 3e9, domains: [dom(1.5e9)] } }, { host: 'c', error: 'unauthorized' }] };
    const rows = clusterRows(cur, prev);
    expect(rows.map((r) => [r.host, r.name, r.cpuPct])).toEqual([['local', 'web', 0], ['b', 'web', 50]]);
  });

  it('without a previous sample CPU(%) is 0', () => {
    expect(topRows({ info, stats: { timeNs: 1, domains: [dom(9e9)] } })[0]!.cpuPct).toBe(0);
  });
});

describe('describe: the I/O section', () => {
  it('lists interfaces with addresses, counters and forwarded ports, and the VBD counters', async () => {
    const { ioSection } = await import('./describe.ts');
    const d = { status: { domid: 1 } } as never;
    const vif = { handle: 0, mac: '00:16:3e:01:02:03', ip: '10.1.2.3', state: 4, connected: true, ports: [{ host: 8080, guest: 80 }], counters: { txFrames: 1, txBytes: 60, txErrors: 0, rxFrames: 2, rxBytes: 120, rxDropped: 0, rxErrors: 0 } };
    const text = ioSection(d, { timeNs: 1, domains: [{ ...dom(0), vifs: [vif] }] } as never);
    expect(text).toContain('vif1.0  00:16:3e:01:02:03  10.1.2.3  connected');
    expect(text).toContain('tx 1 frames 60 bytes');
    expect(text).toContain('127.0.0.1:8080 -> 10.1.2.3:80');
    expect(text).toContain('VBD_RD 5  VBD_WR 6  VBD_RSECT 7  VBD_WSECT 8');
    expect(ioSection(d, undefined)).toBe('');
  });
});

describe('list and get hosts', () => {
  const row = (name: string, id: number, host?: string) => ({ name, id, memoryMiB: 32, vcpus: 1, state: '-b----', cpuTimeS: 0.5, ...(host ? { host } : {}) });
  it('keeps xl list\'s columns with one host, and puts HOST first with several', () => {
    expect(xlList([row('Domain-0', 0, 'local'), row('web', 1, 'local')], false).split('\n')[0]).toMatch(/^Name\s+ID\s+Mem\s+VCPUs\tState\tTime\(s\)$/);
    const multi = xlList([row('Domain-0', 0, 'local'), row('Domain-0', 0, 'b'), row('web', 1, 'b')], true).split('\n');
    expect(multi[0]).toMatch(/^Host\s+Name\s+ID/);
    expect(multi[3]).toMatch(/^b\s+web\s+1\s+32\s+1/);
  });

  it('prints hosts with kubectl-like columns, MEMORY as allocated/capacity', () => {
    const t = hostsTable([{ apiVersion: 'xenoform.dev/v1alpha1', kind: 'Host', metadata: { name: 'b', creationTimestamp: new Date().toISOString() }, spec: { address: '127.0.0.1:7001' }, status: { phase: 'Ready', info: { domains: 2 }, capacity: { memoryMiB: 1024 }, allocated: { memoryMiB: 64 } } }], false);
    expect(t).toMatch(/^NAME\s+ADDRESS\s+STATUS\s+DOMAINS\s+MEMORY\s+AGE/);
    expect(t).toMatch(/\nb\s+127\.0\.0\.1:7001\s+Ready\s+2\s+64\/1024Mi\s+\d+s/);
  });
});
