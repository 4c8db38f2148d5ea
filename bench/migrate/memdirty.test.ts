// The memdirty guest's contract (guests/src/memdirty.c), which the migrate bench relies on: it
// maps and touches all of its RAM, dirties at the asked rate, and its own check catches a page
// that does not hold its last write — across a save/restore and when a page is damaged.
// (tools/pvrun.py has no mmu_update, so these run on a real Host on the virtual clock.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Host } from '../../runtime/host.ts';
import { saveDomain } from '../../runtime/migrate/save.ts';
import { restoreDomain } from '../../runtime/migrate/restore.ts';

const kernel = readFileSync(new URL('../../guests/build/memdirty.elf', import.meta.url));

function follow(host: Host, id: number): { text: () => string; until: (s: RegExp) => string } {
  let out = '';
  host.console(id)!.subscribe((b: Uint8Array) => (out += Buffer.from(b).toString('latin1')));
  return {
    text: () => out,
    until: (re) => {
      host.runFor(60e9, () => re.test(out));
      return out;
    },
  };
}

describe('memdirty', () => {
  it('touches every free page of a 64 MiB domain (beyond the bootstrap mapping) and dirties at its rate', () => {
    const host = new Host({ clock: 'virtual', memoryBytes: 256 * 2 ** 20 });
    const d = host.createDomain({ name: 'md', kernel, memoryMiB: 64, cmdline: 'rate=1000 seconds=2' });
    const c = follow(host, d.id);
    host.runFor(60e9, () => d.isShutdown);
    const m = /^memdirty: ready touched=(\d+) pages of 16384, rate=1000 pages\/s\n/.exec(c.text());
    expect(m, c.text()).not.toBeNull();
    // All but the kit's own pages and the L1 tables (16384 pages need 32 L1s, 2 of them the builder's).
    expect(Number(m![1])).toBeGreaterThan(16384 - 100);
    expect(c.text()).toMatch(/memdirty: dirtied (99\d|10\d\d)\n/);
    expect(c.text()).toMatch(/memdirty: done dirtied (199\d|20\d\d)\n$/);
    expect(c.text()).not.toContain('BAD');
    expect(host.info(d).shutdownReason).toBe('poweroff');
    // Every page it touched is backed: a frame is only backed once written.
    let backed = 0;
    for (const mfn of d.p2m) if (mfn >= 0 && host.mem.isBacked(mfn)) backed++;
    expect(backed).toBeGreaterThanOrEqual(Number(m![1]));
  });

  it('runs on after a save/restore with every page as it left it (several whole passes)', () => {
    const host = new Host({ clock: 'virtual', memoryBytes: 256 * 2 ** 20 });
    const d = host.createDomain({ name: 'md', kernel, memoryMiB: 16, cmdline: 'rate=20000' });
    follow(host, d.id).until(/dirtied \d+\n/);
    const r = restoreDomain(host, saveDomain(host, d.id));
    const out = follow(host, r.id).until(/(dirtied \d+\n[^]*){3}/); // 3 s at 20,000 pages/s: > 10 passes of 16 MiB
    expect(out).not.toContain('BAD');
    expect(r.crashReason).toBeUndefined();
  });

  it('reports a page that lost its last write', () => {
    const host = new Host({ clock: 'virtual', memoryBytes: 256 * 2 ** 20 });
    const d = host.createDomain({ name: 'md', kernel, memoryMiB: 16, cmdline: 'rate=20000' });
    const c = follow(host, d.id);
    c.until(/ready/);
    // Damage the generation word of the last page (not yet rewritten in this pass).
    const pfn = d.p2m.length - 1 - 40; // below the L1 tables at the top
    const f = host.mem.frame(d.p2m[pfn]!);
    const gen = f.dv.getUint32(f.base + 4, true);
    expect(gen).toBeGreaterThan(0);
    f.dv.setUint32(f.base + 4, gen + 7, true);
    c.until(/BAD/);
    expect(c.text()).toMatch(new RegExp(`memdirty: BAD pfn=${pfn} gen=${gen + 7} want=${gen}\\n`));
  });
});
