/**
 * Credit-scheduler fairness with real guests, on virtual time and one physical CPU
 * (issue "Runtime II", Proof): weights 256 and 512 share the CPU 1:2 (±10%), and a cap of 50
 * holds a domain to half a CPU.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Host } from '../../runtime/host.ts';

const SPIN = readFileSync(new URL('../../guests/build/spin.elf', import.meta.url));
const SECOND = 1e9;

function spin(host: Host, name: string, weight: number, cap = 0) {
  return host.createDomain({ name, kernel: SPIN, memoryMiB: 8, weight, cap });
}

describe('credit scheduler fairness (virtual time, 1 pCPU)', () => {
  it('weights 256 and 512 get CPU time 1:2', () => {
    const host = new Host({ clock: 'virtual' });
    const a = spin(host, 'light', 256);
    const b = spin(host, 'heavy', 512);
    host.runFor(0.5 * SECOND); // let both boot
    const a0 = a.cpuTimeNs, b0 = b.cpuTimeNs;
    host.runFor(3 * SECOND);
    const ratio = (b.cpuTimeNs - b0) / (a.cpuTimeNs - a0);
    expect(a.isShutdown || b.isShutdown).toBe(false);
    expect(ratio).toBeGreaterThan(2 * 0.9);
    expect(ratio).toBeLessThan(2 * 1.1);
  });

  it('a cap of 50 holds a domain to half a CPU', () => {
    const host = new Host({ clock: 'virtual' });
    const d = spin(host, 'capped', 256, 50);
    host.runFor(0.5 * SECOND);
    const t0 = host.clock.now(), c0 = d.cpuTimeNs;
    host.runFor(3 * SECOND);
    const share = (d.cpuTimeNs - c0) / (host.clock.now() - t0);
    expect(d.isShutdown).toBe(false);
    expect(share).toBeGreaterThan(0.5 * 0.9);
    expect(share).toBeLessThan(0.5 * 1.1);
  });
});
