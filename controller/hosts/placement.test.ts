import { describe, expect, it } from 'vitest';
import { freeMiB, placeDomain, type HostCapacity } from './placement.ts';

const host = (name: string, capacityMiB: number, allocatedMiB: number, extra: Partial<HostCapacity> = {}): HostCapacity => ({ name, ready: true, capacityMiB, allocatedMiB, ...extra });

describe('placeDomain (LeastAllocated)', () => {
  it('prefers the host with the largest share of its capacity left free', () => {
    // a: 50% free after, b: 75% free after
    expect(placeDomain(64, [host('a', 256, 64), host('b', 1024, 192)])).toEqual({ ok: true, host: 'b' });
    expect(placeDomain(64, [host('a', 1024, 0), host('b', 1024, 512)])).toEqual({ ok: true, host: 'a' });
  });

  it('ignores hosts that are not Ready and hosts where the domain does not fit', () => {
    expect(placeDomain(64, [host('a', 4096, 0, { ready: false }), host('b', 128, 32)])).toEqual({ ok: true, host: 'b' });
    expect(placeDomain(128, [host('a', 4096, 4000), host('b', 128, 32)])).toMatchObject({ ok: false, reason: 'InsufficientMemory' });
  });

  it('never counts more free than the host reports', () => {
    expect(freeMiB(host('a', 4096, 0, { reportedFreeMiB: 100 }))).toBe(100);
    expect(placeDomain(128, [host('a', 4096, 0, { reportedFreeMiB: 100 }), host('b', 256, 0)])).toEqual({ ok: true, host: 'b' });
  });

  it('breaks ties by free MiB then by name, and explains when nothing is Ready', () => {
    expect(placeDomain(32, [host('b', 1024, 0), host('a', 1024, 0)])).toEqual({ ok: true, host: 'a' });
    expect(placeDomain(32, [host('a', 1024, 0, { ready: false })])).toMatchObject({ ok: false, reason: 'NoReadyHost', message: expect.stringContaining('a') });
    expect(placeDomain(32, [])).toMatchObject({ ok: false, reason: 'NoReadyHost' });
  });
});
