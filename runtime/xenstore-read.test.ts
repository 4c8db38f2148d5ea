/** HypervisorApi.xenstoreRead: a domain's own subtree only, undefined for a missing key. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, LocalHypervisor } from './api.ts';

const TICKER = readFileSync(new URL('../guests/build/ticker.elf', import.meta.url));

describe('xenstoreRead', () => {
  it('reads keys of the domain, relative or absolute, and refuses paths outside it', async () => {
    const hv = LocalHypervisor.create({ clock: 'virtual', memoryBytes: 256 * 2 ** 20 });
    const d = await hv.create({ name: 't', kernel: TICKER, memoryMiB: 16 });
    // As a guest would (its own data/ directory is writable by it), here written by Domain-0.
    hv.host.xenstored.write(`/local/domain/${d.domid}/data/ready`, 'yes');
    expect(await hv.xenstoreRead(d.domid, 'data/ready')).toBe('yes');
    expect(await hv.xenstoreRead(d.domid, `/local/domain/${d.domid}/data/ready`)).toBe('yes');
    expect(await hv.xenstoreRead(d.domid, 'data/absent')).toBeUndefined();
    expect(await hv.xenstoreRead(d.domid, 'name')).toBe('t');
    await expect(hv.xenstoreRead(d.domid, '/local/domain/0/backend')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(hv.xenstoreRead(d.domid, '../0/name')).rejects.toBeInstanceOf(InvalidArgumentError);
    await hv.close();
  });
});
