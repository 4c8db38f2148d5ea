import { describe, expect, it } from 'vitest';
import { createGuest, entry, FIRST_DATA_PFN, L1_RO, L1_RW, PTE, TestHost, type Guest } from '../testing.ts';
import { DOMID_IO, DOMID_SELF, DOMID_XEN } from './types.ts';
import * as E from '../errno.ts';
import { m2pOf } from '../../mem/m2p.ts';
import { PGT_l1, PGT_l3 } from '../../mem/pagetype.ts';
import * as P from '../../mem/pte.ts';

const MMU_UPDATE = 1, UPDATE_VA_MAPPING = 14, UPDATE_VA_MAPPING_OTHERDOMAIN = 22, MMUEXT_OP = 26;
const ARGS = FIRST_DATA_PFN; // pfn of the argument page
const DONE = FIRST_DATA_PFN + 1; // pfn holding the `done` word
const UVMF_INVLPG = 2, UVMF_ALL = 4;

/** Write mmu_update requests {u64 ptr, u64 val} into the argument page. */
function requests(g: Guest, reqs: [ptr: number, lo: number, hi?: number][]): number {
  const at = g.va(ARGS);
  reqs.forEach(([ptr, lo, hi = 0], k) => {
    g.w32(at + k * 16, ptr % 0x100000000);
    g.w32(at + k * 16 + 4, Math.floor(ptr / 0x100000000));
    g.w32(at + k * 16 + 8, lo);
    g.w32(at + k * 16 + 12, hi);
  });
  return at;
}

function ops(g: Guest, list: [cmd: number, arg1?: number, arg2?: number][]): number {
  const at = g.va(ARGS);
  list.forEach(([cmd, a1 = 0, a2 = 0], k) => {
    g.w32(at + k * 12, cmd);
    g.w32(at + k * 12 + 4, a1);
    g.w32(at + k * 12 + 8, a2);
  });
  return at;
}

/** Remap pfn read-only through update_va_mapping (so it can become a page table). */
function makeReadOnly(g: Guest, pfn: number): void {
  expect(g.call(UPDATE_VA_MAPPING, g.va(pfn), ...entry(g.mfn(pfn), L1_RO), UVMF_INVLPG)).toBe(0);
}

describe('mmu_update', () => {
  it('writes a plain page the guest owns', () => {
    const g = createGuest(new TestHost());
    const page = FIRST_DATA_PFN + 5;
    const at = requests(g, [[g.mfn(page) * 4096 + 8, 0xdeadbeef, 0x12345678]]);
    expect(g.call(MMU_UPDATE, at, 1, g.va(DONE), DOMID_SELF)).toBe(0);
    expect(g.r32(g.va(DONE))).toBe(1);
    expect(g.r32(g.va(page) + 8)).toBe(0xdeadbeef);
    expect(g.r32(g.va(page) + 12)).toBe(0x12345678);
  });

  it('updates a PTE and the CPU sees it; bad entries stop the batch with done = index', () => {
    const g = createGuest(new TestHost());
    const a = FIRST_DATA_PFN + 5, b = FIRST_DATA_PFN + 6;
    g.w32(g.va(b), 0xb0b0b0b0);
    const at = requests(g, [
      [g.pteAddr(a), ...entry(g.mfn(b), L1_RW)],
      [g.pteAddr(a + 1), ...entry(g.l1s[0]!, L1_RW)], // a page table, writable: refused
      [g.pteAddr(a + 2), ...entry(g.mfn(b), L1_RW)],
    ]);
    expect(g.call(MMU_UPDATE, at, 3, g.va(DONE), DOMID_SELF)).toBe(-E.EBUSY);
    expect(g.r32(g.va(DONE))).toBe(1);
    expect(g.r32(g.va(a))).toBe(0xb0b0b0b0);
    expect(g.pt.typeCount(g.mfn(a))).toBe(0); // its only mapping went
    expect(g.pt.typeCount(g.mfn(b))).toBe(2);
  });

  it('refuses foreign frames, frames beyond memory and bad flags', () => {
    const host = new TestHost();
    const g = createGuest(host);
    const h = createGuest(host, { id: 2 });
    const pfn = FIRST_DATA_PFN + 5;
    const one = (ptr: number, lo: number, hi = 0) => g.call(MMU_UPDATE, requests(g, [[ptr, lo, hi]]), 1, 0, DOMID_SELF);
    expect(one(g.pteAddr(pfn), ...entry(h.mfn(FIRST_DATA_PFN), L1_RO))).toBe(-E.EBUSY);
    expect(one(h.pteAddr(pfn), ...entry(g.mfn(pfn), L1_RO))).toBe(-E.EINVAL); // not our table
    expect(one(g.pteAddr(pfn), ...entry(host.mem.totalFrames + 1, L1_RO))).toBe(-E.EPERM);
    expect(one(g.pteAddr(pfn), ...entry(g.mfn(pfn), L1_RW | P._PAGE_PWT))).toBe(-E.EINVAL);
    expect(one(g.pteAddr(pfn), g.mfn(pfn) * 4096 + L1_RW, 0x00100000)).toBe(-E.EINVAL); // bit 52
    expect(one(g.pteAddr(pfn) | 4, 0)).toBe(-E.ENOSYS);
  });

  it('guards the upper levels: Xen slots, L3 slot 3, superpages', () => {
    const g = createGuest(new TestHost());
    const one = (ptr: number, lo: number, hi = 0) => g.call(MMU_UPDATE, requests(g, [[ptr, lo, hi]]), 1, 0, DOMID_SELF);
    expect(one(g.xenL2 * 4096 + 0x1ac * 8, 0)).toBe(-E.EPERM);
    expect(one(g.l3 * 4096 + 3 * 8, 0)).toBe(-E.EINVAL);
    expect(one(g.l2 * 4096 + 5 * 8, ...entry(g.mfn(FIRST_DATA_PFN + 5), PTE.P | P._PAGE_PSE))).toBe(-E.EINVAL);
    // Clearing an L2 slot drops its L1's table reference.
    expect(one(g.l2 * 4096, 0)).toBe(0);
    expect(g.pt.isValidated(g.l1s[0]!)).toBe(false);
  });

  it('MMU_MACHPHYS_UPDATE sets the M2P of owned frames only', () => {
    const host = new TestHost();
    const g = createGuest(host);
    const h = createGuest(host, { id: 2 });
    const m = g.mfn(FIRST_DATA_PFN + 7);
    expect(g.call(MMU_UPDATE, requests(g, [[m * 4096 + 1, 0x4242]]), 1, 0, DOMID_SELF)).toBe(0);
    expect(m2pOf(host.mem).get(m)).toBe(0x4242);
    expect(g.call(MMU_UPDATE, requests(g, [[h.mfn(FIRST_DATA_PFN) * 4096 + 1, 7]]), 1, 0, DOMID_SELF)).toBe(-E.EINVAL);
  });

  it('bad pointers are -EFAULT; other domains need privilege', () => {
    const g = createGuest(new TestHost());
    createGuest(g.host, { id: 2 });
    expect(g.call(MMU_UPDATE, 0, 1, 0, DOMID_SELF)).toBe(-E.EFAULT); // page 0 is not mapped
    expect(g.call(MMU_UPDATE, 0xf57ff000, 0x100, 0, DOMID_SELF)).toBe(-E.EFAULT); // runs into the hole
    const at = requests(g, [[g.pteAddr(FIRST_DATA_PFN), ...entry(g.mfn(FIRST_DATA_PFN), L1_RW)]]);
    expect(g.call(MMU_UPDATE, at, 1, 0, 2)).toBe(-E.EPERM);
    expect(g.call(MMU_UPDATE, at, 1, 0, 1)).toBe(-E.ESRCH); // naming itself
    expect(g.call(MMU_UPDATE, at, 1, 0, 77)).toBe(-E.ESRCH);
    expect(g.call(MMU_UPDATE, at, 1, 0, DOMID_XEN)).toBe(-E.ESRCH);
    expect(g.call(MMU_UPDATE, at, 1, 0, DOMID_IO)).toBe(-E.EPERM);
    expect(g.call(MMU_UPDATE, at, 0, g.va(DONE), 2)).toBe(0);
  });
});

describe('update_va_mapping', () => {
  it('maps a page; the CPU sees it after INVLPG, not before (TLB semantics)', () => {
    const g = createGuest(new TestHost());
    const a = FIRST_DATA_PFN + 5, b = FIRST_DATA_PFN + 6;
    g.w32(g.va(a), 0xaaaa);
    g.w32(g.va(b), 0xbbbb);
    expect(g.r32(g.va(a))).toBe(0xaaaa);
    expect(g.call(UPDATE_VA_MAPPING, g.va(a), ...entry(g.mfn(b), L1_RW), 0)).toBe(0);
    expect(g.r32(g.va(a))).toBe(0xaaaa); // stale TLB entry: no flush was asked for
    expect(g.call(UPDATE_VA_MAPPING, g.va(a), ...entry(g.mfn(b), L1_RW), UVMF_INVLPG)).toBe(0);
    expect(g.r32(g.va(a))).toBe(0xbbbb);
    expect(g.call(UPDATE_VA_MAPPING, g.va(a), 0, 0, UVMF_INVLPG | UVMF_ALL)).toBe(0);
    expect(() => g.r32(g.va(a))).toThrow();
  });

  it('refuses addresses without an L1, writable page tables, and a bad vcpumask', () => {
    const g = createGuest(new TestHost());
    expect(g.call(UPDATE_VA_MAPPING, 0x80000000, 0, 0, 0)).toBe(-E.EINVAL);
    expect(g.call(UPDATE_VA_MAPPING, g.va(40), ...entry(g.l3, L1_RW), 0)).toBe(-E.EBUSY);
    expect(g.pt.typeOf(g.l3)).toBe(PGT_l3);
    expect(g.call(UPDATE_VA_MAPPING, g.va(40), ...entry(g.mfn(41), L1_RW), UVMF_INVLPG | 0x80000000)).toBe(-E.EFAULT); // mask pointer not mapped
  });

  it('update_va_mapping_otherdomain: DOMID_SELF only', () => {
    const g = createGuest(new TestHost());
    createGuest(g.host, { id: 2 });
    expect(g.call(UPDATE_VA_MAPPING_OTHERDOMAIN, g.va(40), ...entry(g.mfn(41), L1_RW), 0, DOMID_SELF)).toBe(0);
    expect(g.call(UPDATE_VA_MAPPING_OTHERDOMAIN, g.va(40), 0, 0, 0, 2)).toBe(-E.EPERM);
    expect(g.call(UPDATE_VA_MAPPING_OTHERDOMAIN, g.va(40), 0, 0, 0, 1)).toBe(-E.ESRCH);
  });
});

describe('mmuext_op', () => {
  const PIN_L1 = 0, PIN_L3 = 2, PIN_L4 = 3, UNPIN = 4, NEW_BASEPTR = 5, TLB_FLUSH_LOCAL = 6, INVLPG_MULTI = 9, FLUSH_CACHE = 12;
  const SET_LDT = 13, NEW_USER_BASEPTR = 15, CLEAR_PAGE = 16, COPY_PAGE = 17, MARK_SUPER = 19;

  it('pins, refuses a second pin, ignores L4, unpins', () => {
    const g = createGuest(new TestHost());
    const t = FIRST_DATA_PFN + 5;
    makeReadOnly(g, t);
    const done = g.va(DONE);
    expect(g.call(MMUEXT_OP, ops(g, [[PIN_L1, g.mfn(t)], [PIN_L4, g.mfn(t)], [PIN_L1, g.mfn(t)], [UNPIN, g.mfn(t)]]), 4, done, DOMID_SELF)).toBe(-E.EINVAL);
    expect(g.r32(done)).toBe(2);
    expect(g.pt.typeOf(g.mfn(t))).toBe(PGT_l1);
    expect(g.call(MMUEXT_OP, ops(g, [[UNPIN, g.mfn(t)], [UNPIN, g.mfn(t)]]), 2, done, DOMID_SELF)).toBe(-E.EINVAL);
    expect(g.r32(done)).toBe(1);
    // A page still mapped read-write cannot be pinned as a table.
    expect(g.call(MMUEXT_OP, ops(g, [[PIN_L1, g.mfn(t + 1)]]), 1, 0, DOMID_SELF)).toBe(-E.EINVAL);
  });

  it('unpinning the table in CR3 succeeds; NEW_BASEPTR checks its target', () => {
    const g = createGuest(new TestHost());
    expect(g.call(MMUEXT_OP, ops(g, [[UNPIN, g.l3]]), 1, 0, DOMID_SELF)).toBe(0);
    expect(g.r32(g.va(FIRST_DATA_PFN + 9))).toBe(0); // still translating
    expect(g.call(MMUEXT_OP, ops(g, [[NEW_BASEPTR, g.mfn(FIRST_DATA_PFN + 9)]]), 1, 0, DOMID_SELF)).toBe(-E.EINVAL);
    expect(g.call(MMUEXT_OP, ops(g, [[NEW_BASEPTR, g.l1s[0]!]]), 1, 0, DOMID_SELF)).toBe(-E.EINVAL);
    expect(g.call(MMUEXT_OP, ops(g, [[NEW_USER_BASEPTR, g.l3]]), 1, 0, DOMID_SELF)).toBe(-E.EINVAL);
    // A fresh L3 built by the guest: share the low L2, give it its own slot-3 L2.
    const l3b = FIRST_DATA_PFN + 12, xl2b = FIRST_DATA_PFN + 13;
    g.w32(g.va(l3b), entry(g.l2, PTE.P)[0]);
    g.w32(g.va(l3b) + 24, entry(g.mfn(xl2b), PTE.P)[0]);
    makeReadOnly(g, l3b);
    makeReadOnly(g, xl2b);
    expect(g.call(MMUEXT_OP, ops(g, [[PIN_L3, g.mfn(l3b)], [NEW_BASEPTR, g.mfn(l3b)]]), 2, 0, DOMID_SELF)).toBe(0);
    expect(g.v.cpu.cr3).toBe(P.xenPfnToCr3(g.mfn(l3b)));
    expect(g.pt.isValidated(g.l3)).toBe(false); // unpinned and out of CR3: devalidated
    expect(g.r32(g.va(DONE))).toBe(0); // and the CPU still translates through the new tables
  });

  it('flushes, refuses LDTs, cache flushes and superpages', () => {
    const g = createGuest(new TestHost());
    const mask = g.va(FIRST_DATA_PFN + 3);
    g.w32(mask, 1);
    expect(g.call(MMUEXT_OP, ops(g, [[TLB_FLUSH_LOCAL], [INVLPG_MULTI, 0x1000, mask]]), 2, 0, DOMID_SELF)).toBe(0);
    expect(g.call(MMUEXT_OP, ops(g, [[INVLPG_MULTI, 0x1000, 0]]), 1, 0, DOMID_SELF)).toBe(-E.EINVAL); // bad mask
    expect(g.call(MMUEXT_OP, ops(g, [[SET_LDT, 0, 0]]), 1, 0, DOMID_SELF)).toBe(0);
    expect(g.call(MMUEXT_OP, ops(g, [[SET_LDT, 0x10000, 16]]), 1, 0, DOMID_SELF)).toBe(-E.EINVAL);
    expect(g.call(MMUEXT_OP, ops(g, [[SET_LDT, 0x10001, 16]]), 1, 0, DOMID_SELF)).toBe(-E.EINVAL);
    expect(g.call(MMUEXT_OP, ops(g, [[FLUSH_CACHE]]), 1, 0, DOMID_SELF)).toBe(-E.EACCES);
    expect(g.call(MMUEXT_OP, ops(g, [[MARK_SUPER, g.mfn(40)]]), 1, 0, DOMID_SELF)).toBe(-95);
    expect(g.call(MMUEXT_OP, ops(g, [[99]]), 1, 0, DOMID_SELF)).toBe(-E.ENOSYS);
  });

  it('clears and copies pages, but never page tables', () => {
    const g = createGuest(new TestHost());
    const a = FIRST_DATA_PFN + 5, b = FIRST_DATA_PFN + 6;
    g.w32(g.va(a) + 100, 0x55aa55aa);
    expect(g.call(MMUEXT_OP, ops(g, [[COPY_PAGE, g.mfn(b), g.mfn(a)], [CLEAR_PAGE, g.mfn(a)]]), 2, 0, DOMID_SELF)).toBe(0);
    expect(g.r32(g.va(b) + 100)).toBe(0x55aa55aa);
    expect(g.r32(g.va(a) + 100)).toBe(0);
    expect(g.call(MMUEXT_OP, ops(g, [[CLEAR_PAGE, g.l1s[0]!]]), 1, 0, DOMID_SELF)).toBe(-E.EINVAL);
    expect(g.call(MMUEXT_OP, ops(g, [[COPY_PAGE, g.l3, g.mfn(a)]]), 1, 0, DOMID_SELF)).toBe(-E.EINVAL);
    expect(g.pt.typeOf(g.l1s[0]!)).toBe(PGT_l1);
  });

  it('bad pointers and foreign domains', () => {
    const g = createGuest(new TestHost());
    createGuest(g.host, { id: 2 });
    expect(g.call(MMUEXT_OP, 0, 1, 0, DOMID_SELF)).toBe(-E.EFAULT);
    expect(g.call(MMUEXT_OP, 0xf5800000, 1, 0, DOMID_SELF)).toBe(-E.EFAULT);
    expect(g.call(MMUEXT_OP, ops(g, [[TLB_FLUSH_LOCAL]]), 1, 0, 2)).toBe(-E.EPERM);
    expect(g.call(MMUEXT_OP, ops(g, [[TLB_FLUSH_LOCAL]]), 1, 0, 9)).toBe(-E.ESRCH);
    expect(g.call(MMUEXT_OP, ops(g, [[PIN_L1, g.mfn(200)]]), 1, 0x1000, DOMID_SELF)).toBe(-E.EINVAL); // done pointer faults: ignored
  });
});
