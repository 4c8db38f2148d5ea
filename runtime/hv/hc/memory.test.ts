import { describe, expect, it } from 'vitest';
import { createGuest, entry, FIRST_DATA_PFN, L1_RW, TestHost, type Guest } from '../testing.ts';
import { DOMID_SELF } from './types.ts';
import * as E from '../errno.ts';
import { reservationOf, XENMEM } from './memory.ts';
import { m2pOf, INVALID_M2P_ENTRY } from '../../mem/m2p.ts';
import { DOMID_FREE } from '../../mem/frames.ts';

const MEMORY_OP = 12, UPDATE_VA_MAPPING = 14, UVMF_INVLPG = 2;
const RES = FIRST_DATA_PFN; // struct xen_memory_reservation
const LIST = FIRST_DATA_PFN + 1; // extent list

/** Fill the reservation struct and extent list; returns the struct's address. */
function reservation(g: Guest, extents: number[], opts: { order?: number; domid?: number; list?: number } = {}): number {
  const at = g.va(RES);
  const list = opts.list ?? g.va(LIST);
  extents.forEach((x, k) => g.w32(g.va(LIST) + k * 4, x));
  g.w32(at, list);
  g.w32(at + 4, extents.length);
  g.w32(at + 8, opts.order ?? 0);
  g.w32(at + 12, 0);
  g.w32(at + 16, opts.domid ?? DOMID_SELF);
  return at;
}

const domidArg = (g: Guest, domid: number): number => {
  g.w32(g.va(RES), domid);
  return g.va(RES);
};

describe('memory_op: reservations', () => {
  it('reports current and maximum reservation, and the highest RAM frame', () => {
    const g = createGuest(new TestHost(), { pages: 256, maxPages: 300 });
    createGuest(g.host, { id: 2, pages: 64 });
    expect(g.call(MEMORY_OP, XENMEM.current_reservation, domidArg(g, DOMID_SELF))).toBe(256);
    expect(g.call(MEMORY_OP, XENMEM.maximum_reservation, domidArg(g, 1))).toBe(300);
    expect(g.call(MEMORY_OP, XENMEM.current_reservation, domidArg(g, 2))).toBe(-E.EPERM);
    expect(g.call(MEMORY_OP, XENMEM.current_reservation, domidArg(g, 9))).toBe(-E.ESRCH);
    expect(g.call(MEMORY_OP, XENMEM.current_reservation, 0)).toBe(-E.EFAULT);
    expect(g.call(MEMORY_OP, XENMEM.maximum_ram_page, 0)).toBe(g.host.mem.totalFrames);
    expect(g.call(MEMORY_OP, XENMEM.maximum_ram_page | (1 << 6), 0)).toBe(-E.EINVAL);
    expect(g.call(MEMORY_OP, XENMEM.exchange, 0)).toBe(-E.ENOSYS);
    expect(g.call(MEMORY_OP, 63, 0)).toBe(-E.ENOSYS);
  });

  it('balloons down and up within the maximum', () => {
    const g = createGuest(new TestHost(), { pages: 256 });
    const host = g.host;
    const m2p = m2pOf(host.mem);
    const pfns = [200, 201, 202];
    const mfns = pfns.map((p) => g.mfn(p));
    // Like Linux: unmap each page, then give its machine frame back.
    for (const p of pfns) expect(g.call(UPDATE_VA_MAPPING, g.va(p), 0, 0, UVMF_INVLPG)).toBe(0);
    expect(g.call(MEMORY_OP, XENMEM.decrease_reservation, reservation(g, mfns))).toBe(3);
    expect(reservationOf(g.d)).toBe(253);
    for (const [k, m] of mfns.entries()) {
      expect(host.frames.owner(m)).toBe(DOMID_FREE);
      expect(g.d.p2m[pfns[k]!]).toBe(-1);
      expect(m2p.get(m)).toBe(INVALID_M2P_ENTRY);
    }
    // populate_physmap: pfns in, machine frames out.
    expect(g.call(MEMORY_OP, XENMEM.populate_physmap, reservation(g, pfns))).toBe(3);
    for (const [k, p] of pfns.entries()) {
      const m = g.r32(g.va(LIST) + k * 4);
      expect(g.d.p2m[p]).toBe(m);
      expect(host.frames.owner(m)).toBe(1);
      expect(m2p.get(m)).toBe(p);
    }
    expect(reservationOf(g.d)).toBe(256);
    // A populated pfn stops the batch; at the maximum nothing more comes (Xen returns the count done).
    expect(g.call(UPDATE_VA_MAPPING, g.va(210), 0, 0, UVMF_INVLPG)).toBe(0);
    expect(g.call(MEMORY_OP, XENMEM.decrease_reservation, reservation(g, [g.mfn(210)]))).toBe(1);
    expect(g.call(MEMORY_OP, XENMEM.populate_physmap, reservation(g, [210, 199]))).toBe(1);
    expect(g.call(MEMORY_OP, XENMEM.increase_reservation, reservation(g, [0]))).toBe(0);
  });

  it('a frame still mapped or used as a table stays alive until its last reference goes', () => {
    const g = createGuest(new TestHost(), { pages: 256 });
    const page = g.mfn(FIRST_DATA_PFN + 20);
    const l1 = g.l1s[0]!;
    expect(g.call(MEMORY_OP, XENMEM.decrease_reservation, reservation(g, [page, l1]))).toBe(2);
    expect(g.host.frames.owner(page)).toBe(1);
    expect(g.host.frames.owner(l1)).toBe(1);
    expect(g.r32(g.va(FIRST_DATA_PFN + 21))).toBe(0); // the tables still work
    // Unmapping the page frees it.
    expect(g.call(UPDATE_VA_MAPPING, g.va(FIRST_DATA_PFN + 20), 0, 0, UVMF_INVLPG)).toBe(0);
    expect(g.host.frames.owner(page)).toBe(DOMID_FREE);
    // Giving back the same frame twice is harmless; a foreign or unknown one stops the batch.
    expect(g.call(MEMORY_OP, XENMEM.decrease_reservation, reservation(g, [l1, g.host.mem.totalFrames + 3, g.mfn(30)]))).toBe(1);
  });

  it('increase_reservation hands out frames up to the maximum', () => {
    const g = createGuest(new TestHost(), { pages: 256, maxPages: 258 });
    expect(g.call(MEMORY_OP, XENMEM.increase_reservation, reservation(g, [0, 0, 0]))).toBe(2);
    const m = g.r32(g.va(LIST));
    expect(g.host.frames.owner(m)).toBe(1);
    expect(reservationOf(g.d)).toBe(258);
    // The guest places it itself, and may then map it.
    expect(g.call(1, (() => {
      g.w32(g.va(RES), m * 4096 + 1);
      g.w32(g.va(RES) + 4, 0);
      g.w32(g.va(RES) + 8, 240);
      g.w32(g.va(RES) + 12, 0);
      return g.va(RES);
    })(), 1, 0, DOMID_SELF)).toBe(0);
    expect(m2pOf(g.host.mem).get(m)).toBe(240);
    expect(g.call(UPDATE_VA_MAPPING, g.va(250), ...entry(m, L1_RW), UVMF_INVLPG)).toBe(0);
  });

  it('faithful failure modes: bad pointers, orders, foreign domains give 0 extents', () => {
    const g = createGuest(new TestHost(), { pages: 256, maxPages: 300 });
    createGuest(g.host, { id: 2, pages: 64 });
    expect(g.call(MEMORY_OP, XENMEM.populate_physmap, 0)).toBe(0); // struct unreadable
    expect(g.call(MEMORY_OP, XENMEM.populate_physmap, reservation(g, [250], { list: 0 }))).toBe(0);
    expect(g.call(MEMORY_OP, XENMEM.populate_physmap, reservation(g, [250], { list: 0xf5800000 }))).toBe(0);
    expect(g.call(MEMORY_OP, XENMEM.increase_reservation, reservation(g, [0], { order: 1 }))).toBe(0);
    expect(g.call(MEMORY_OP, XENMEM.increase_reservation, reservation(g, [0], { domid: 2 }))).toBe(0);
    expect(g.call(MEMORY_OP, XENMEM.increase_reservation, reservation(g, [0], { domid: 77 }))).toBe(0);
    expect(g.call(MEMORY_OP, XENMEM.populate_physmap, reservation(g, [10]))).toBe(0); // already populated
    expect(g.call(MEMORY_OP, XENMEM.populate_physmap, reservation(g, [5000]))).toBe(0); // beyond the P2M
    // Resuming at extent 1 (MEMOP_EXTENT_SHIFT): only the second is done.
    g.call(UPDATE_VA_MAPPING, g.va(100), 0, 0, UVMF_INVLPG);
    g.call(UPDATE_VA_MAPPING, g.va(101), 0, 0, UVMF_INVLPG);
    expect(g.call(MEMORY_OP, XENMEM.decrease_reservation | (1 << 6), reservation(g, [g.mfn(100), g.mfn(101)]))).toBe(2);
    expect(g.host.frames.owner(g.mfn(100))).toBe(1);
    expect(g.host.frames.owner(g.mfn(101))).toBe(DOMID_FREE);
    expect(reservationOf(g.d)).toBe(255);
  });
});
