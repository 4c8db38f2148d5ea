/**
 * Several vCPUs per domain: the `smp` guest starts vCPU 1 with VCPUOP_initialise/up and both
 * run, scheduled in slices on one physical CPU (virtual time).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Host } from '../../runtime/host.ts';

const SMP = readFileSync(new URL('../../guests/build/smp.elf', import.meta.url));

describe('a domain with two vCPUs', () => {
  it('brings up its second vCPU and both make progress', () => {
    const host = new Host({ clock: 'virtual' });
    const d = host.createDomain({ name: 'smp', kernel: SMP, memoryMiB: 16, vcpus: 2 });
    host.runFor(5e9, () => d.isShutdown);
    expect(host.console(d.id)!.text()).toBe(
      'smp: vcpu0 up, starting vcpu1\nsmp: vcpu1 up\nsmp: vcpu1 counted to 1000000\nsmp: vcpu0 saw the count\n',
    );
    expect(host.info(d).shutdownReason).toBe('poweroff');
    expect(d.vcpus[0]!.cpuTimeNs).toBeGreaterThan(0);
    expect(d.vcpus[1]!.cpuTimeNs).toBeGreaterThan(0);
  });

  it('a vCPU the domain does not have cannot be started (-ENOENT)', () => {
    const host = new Host({ clock: 'virtual' });
    const d = host.createDomain({ name: 'smp1', kernel: SMP, memoryMiB: 16, vcpus: 1 });
    host.runFor(1e9, () => d.isShutdown);
    // With one vCPU, VCPUOP_initialise of vCPU 1 is -ENOENT (vcpu.h), and the guest says so.
    expect(host.console(d.id)!.text()).toContain('smp: cannot start vcpu1: -2');
  });
});
