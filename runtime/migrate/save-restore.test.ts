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
