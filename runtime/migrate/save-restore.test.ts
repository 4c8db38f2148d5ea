// xl save / xl restore on one host: the guest continues exactly where it was.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Host } from '../host.ts';
import { saveDomain } from './save.ts';
import { restoreDomain } from './restore.ts';

const guest = (name: string) => readFileSync(new URL(`../../guests/build/${name}.elf`, import.meta.url));

describe('save and restore on one host', () => {
  it('a ticker saved after "tick 3" continues with "tick 4", no reboot', () => {
    const host = new Host({ clock: 'virtual', memoryBytes: 256 * 2 ** 20 });
    const d = host.createDomain({ name: 'ticker', kernel: guest('ticker'), memoryMiB: 16 });
    let out = '';
    host.console(d.id)!.subscribe((b: Uint8Array) => (out += Buffer.from(b).toString('latin1')));
    host.runFor(60e9, () => out.includes('tick 3\n'));
    expect(out).toMatch(/ticker: ready\ntick 1\ntick 2\ntick 3\n$/);
    const img = saveDomain(host, d.id);
    expect(host.domain(d.id)).toBeUndefined();
    const r = restoreDomain(host, img);
    expect(r.id).not.toBe(d.id);
    let after = '';
    host.console(r.id)!.subscribe((b: Uint8Array) => (after += Buffer.from(b).toString('latin1')));
    host.runFor(60e9, () => after.includes('tick 6\n'));
    expect(r.crashReason).toBeUndefined();
    expect(after).toBe('tick 4\ntick 5\ntick 6\n');
  });
});

function run(host: Host, id: number, until: string): string {
  let out = '';
  const off = host.console(id)!.subscribe((b: Uint8Array) => (out += Buffer.from(b).toString('latin1')));
  host.runFor(60e9, () => out.includes(until));
  off();
  return out;
}

function tickerAt(tick: string) {
  const host = new Host({ clock: 'virtual', memoryBytes: 256 * 2 ** 20 });
  const d = host.createDomain({ name: 'ticker', kernel: guest('ticker'), memoryMiB: 16 });
  expect(run(host, d.id, tick)).toContain(tick);
  return { host, d };
}

describe('restored guests keep their connections', () => {
  it('a restored ticker still hears control/shutdown through xenstore and powers off', () => {
    const { host, d } = tickerAt('tick 2\n');
    const r = restoreDomain(host, saveDomain(host, d.id));
    expect(run(host, r.id, 'tick 3\n')).toBe('tick 3\n');
    host.requestShutdown(r.id, 'poweroff');
    expect(run(host, r.id, 'poweroff requested\n')).toMatch(/^(tick \d+\n)*ticker: poweroff requested\n$/);
    host.runFor(1e9, () => r.isShutdown);
    expect(host.info(r).shutdownReason).toBe('poweroff');
  });

  it('checkpoint keeps the original running; its image restores once the name is free', () => {
    const { host, d } = tickerAt('tick 1\n');
    const img = saveDomain(host, d.id, { checkpoint: true });
    expect(host.domain(d.id)?.paused).toBe(false);
    expect(run(host, d.id, 'tick 2\n')).toBe('tick 2\n');
    expect(() => restoreDomain(host, img)).toThrow(/already exists/);
    const before = host.frames.freeFrames;
    host.destroy(d.id);
    const r = restoreDomain(host, img, { paused: true });
    expect(host.info(r).state).toContain('p');
    host.unpause(r.id);
    expect(run(host, r.id, 'tick 3\n')).toBe('tick 2\ntick 3\n');
    expect(host.frames.freeFrames).toBeLessThanOrEqual(before);
  });

  it('hello saved mid-boot runs to its normal end after restore', () => {
    const host = new Host({ clock: 'virtual', memoryBytes: 256 * 2 ** 20 });
    const d = host.createDomain({ name: 'hello', kernel: guest('hello'), memoryMiB: 32 });
    let out = '';
    const off = host.console(d.id)!.subscribe((b: Uint8Array) => (out += Buffer.from(b).toString('latin1')));
    // Small slices until the first line is out: between the two lines of its output.
    for (let k = 0; k < 10_000 && !out.includes('\n'); k++) d.vcpus[0]!.runSlice(100);
    off();
    expect(out).toBe('Hello from Xenoform!\n');
    expect(d.isShutdown).toBe(false);
    const r = restoreDomain(host, saveDomain(host, d.id));
    const rest = run(host, r.id, 'cmdline=""\n');
    expect(rest).toBe('start_info: magic=xen-3.0-x86_32p nr_pages=8192 cmdline=""\n');
    host.runFor(1e9, () => r.isShutdown);
    expect(host.info(r).shutdownReason).toBe('poweroff');
  });
});

describe('save and restore of a domain with two vCPUs', () => {
  it('smp saved while vCPU 1 counts finishes its count on the restored domain', () => {
    const host = new Host({ clock: 'virtual', memoryBytes: 256 * 2 ** 20, pcpus: 2 });
    const d = host.createDomain({ name: 'smp', kernel: guest('smp'), memoryMiB: 16, vcpus: 2 });
    let out = '';
    const off = host.console(d.id)!.subscribe((b: Uint8Array) => (out += Buffer.from(b).toString('latin1')));
    host.runFor(60e9, () => out.includes('smp: vcpu1 up\n'));
    off();
    expect(out).not.toMatch(/counted/);
    const r = restoreDomain(host, saveDomain(host, d.id));
    expect(r.vcpus).toHaveLength(2);
    let after = '';
    host.console(r.id)!.subscribe((b: Uint8Array) => (after += Buffer.from(b).toString('latin1')));
    host.runFor(60e9, () => r.isShutdown);
    expect(r.crashReason).toBeUndefined();
    expect(host.info(r).shutdownReason).toBe('poweroff');
    expect(after).toMatch(/smp: vcpu1 counted to 1000000\n(.|\n)*smp: vcpu0 saw the count\n/);
  });
});
