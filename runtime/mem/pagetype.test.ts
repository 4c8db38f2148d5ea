import { describe, expect, it } from 'vitest';
import { createGuest, entry, FIRST_DATA_PFN, L1_RO, L1_RW, L2_PROT, PTE, TestHost } from '../hv/testing.ts';
import { PGT_l1, PGT_l2, PGT_l3, PGT_none, PGT_writable, XEN_L2_FIRST_SLOT } from './pagetype.ts';
import { DOMID_FREE } from './frames.ts';
import * as P from './pte.ts';
import { EBUSY, EINVAL, EPERM } from '../hv/errno.ts';

/** Drop the read-write mapping the fixture gives a data page, so it can become a table. */
function unmapRw(g: ReturnType<typeof createGuest>, pfn: number): void {
  const [lo, hi] = entry(g.mfn(pfn), L1_RO);
  const l1 = g.l1s[pfn >> 9]!;
  const [olo, ohi] = P.readEntry(g.host.mem, l1, pfn & 511);
  P.writeEntry(g.host.mem, l1, pfn & 511, lo, hi);
  g.pt.getPage(g.d, g.mfn(pfn));
  g.pt.putPageFromL1e(olo, ohi);
}

describe('page types: the fixture tables', () => {
  it('validates the bootstrap tables with the right types and counts', () => {
    const g = createGuest(new TestHost());
    const { pt } = g;
    expect(pt.typeOf(g.l3)).toBe(PGT_l3);
    expect(pt.typeCount(g.l3)).toBe(2); // pinned + CR3
    expect(pt.isPinned(g.l3)).toBe(true);
    expect(pt.typeOf(g.l2)).toBe(PGT_l2);
    expect(pt.isXenL2(g.xenL2)).toBe(true);
    expect(pt.isXenL2(g.l2)).toBe(false);
    expect(pt.typeOf(g.l1s[0]!)).toBe(PGT_l1);
    expect(pt.isValidated(g.l1s[0]!)).toBe(true);
    // A data page mapped read-write has one writable type reference.
    expect(pt.typeOf(g.mfn(FIRST_DATA_PFN))).toBe(PGT_writable);
    expect(pt.typeCount(g.mfn(FIRST_DATA_PFN))).toBe(1);
    // The L1 is mapped read-only (one general reference) and referenced by the L2.
    expect(pt.refCount(g.l1s[0]!)).toBe(2);
    expect(g.v.cpu.cr3).toBe(P.xenPfnToCr3(g.l3));
  });

  it('refuses a page table mapped writable and a writable page as a table', () => {
    const g = createGuest(new TestHost());
    expect(g.pt.getPageType(g.d, g.l1s[0]!, PGT_writable)).toBe(false);
    // A page mapped read-write cannot become an L1.
    expect(g.pt.pin(g.d, g.mfn(FIRST_DATA_PFN), 1)).toBe(-EINVAL);
  });

  it('pins once: a second pin is -EINVAL; PIN_L4 is ignored for a 32-bit guest', () => {
    const g = createGuest(new TestHost());
    const pfn = FIRST_DATA_PFN + 1;
    unmapRw(g, pfn);
    expect(g.pt.pin(g.d, g.mfn(pfn), 1)).toBe(0);
    expect(g.pt.pin(g.d, g.mfn(pfn), 1)).toBe(-EINVAL);
    expect(g.pt.typeCount(g.mfn(pfn))).toBe(1);
    expect(g.pt.pin(g.d, g.mfn(pfn), 4)).toBe(0);
    expect(g.pt.unpin(g.d, g.mfn(pfn))).toBe(0);
    expect(g.pt.unpin(g.d, g.mfn(pfn))).toBe(-EINVAL);
    expect(g.pt.isValidated(g.mfn(pfn))).toBe(false);
  });

  it('unpinning the table in CR3 keeps it valid until CR3 moves away', () => {
    const g = createGuest(new TestHost());
    expect(g.pt.unpin(g.d, g.l3)).toBe(0);
    expect(g.pt.typeCount(g.l3)).toBe(1);
    expect(g.pt.isValidated(g.l3)).toBe(true);
    // A second L3: shares the 0–1 GiB L2, has its own slot-3 L2.
    const l3b = FIRST_DATA_PFN + 2, xl2b = FIRST_DATA_PFN + 3;
    unmapRw(g, l3b);
    unmapRw(g, xl2b);
    let [lo, hi] = entry(g.l2, PTE.P);
    P.writeEntry(g.host.mem, g.mfn(l3b), 0, lo, hi);
    [lo, hi] = entry(g.mfn(xl2b), PTE.P);
    P.writeEntry(g.host.mem, g.mfn(l3b), 3, lo, hi);
    expect(g.pt.setBaseptr(g.v, g.mfn(l3b))).toBe(0);
    // The old L3 lost its last reference: devalidated, its slot-3 L2 released too.
    expect(g.pt.typeCount(g.l3)).toBe(0);
    expect(g.pt.isValidated(g.l3)).toBe(false);
    expect(g.pt.typeCount(g.xenL2)).toBe(0);
    expect(g.pt.typeCount(g.l2)).toBe(1);
  });

  it('a PAE L3 needs slot 3 present, unshared, and no reserved bits', () => {
    const g = createGuest(new TestHost());
    const l3b = FIRST_DATA_PFN + 2;
    unmapRw(g, l3b);
    let [lo, hi] = entry(g.l2, PTE.P);
    P.writeEntry(g.host.mem, g.mfn(l3b), 0, lo, hi);
    expect(g.pt.pin(g.d, g.mfn(l3b), 3)).toBe(-EINVAL); // no slot 3
    [lo, hi] = entry(g.xenL2, PTE.P);
    P.writeEntry(g.host.mem, g.mfn(l3b), 3, lo, hi);
    expect(g.pt.pin(g.d, g.mfn(l3b), 3)).toBe(-EINVAL); // slot-3 L2 shared with the live L3
    expect(g.pt.typeCount(g.l2)).toBe(1); // the failed attempt gave back what it took
    const xl2b = FIRST_DATA_PFN + 3;
    unmapRw(g, xl2b);
    [lo, hi] = entry(g.mfn(xl2b), PTE.P | PTE.RW);
    P.writeEntry(g.host.mem, g.mfn(l3b), 3, lo, hi);
    expect(g.pt.pin(g.d, g.mfn(l3b), 3)).toBe(-EINVAL); // RW is reserved in a PDPTE
    [lo, hi] = entry(g.mfn(xl2b), PTE.P);
    P.writeEntry(g.host.mem, g.mfn(l3b), 3, lo, hi);
    P.writeEntry(g.host.mem, g.mfn(l3b), 7, 0x1234, 0); // beyond the 4 PAE entries
    expect(g.pt.pin(g.d, g.mfn(l3b), 3)).toBe(0);
    expect(P.readEntry(g.host.mem, g.mfn(l3b), 7)).toEqual([0, 0]); // cleared, as Xen does
  });

  it('guest entries in the Xen hole of the slot-3 L2 are not honoured', () => {
    const g = createGuest(new TestHost());
    const l3b = FIRST_DATA_PFN + 2, xl2b = FIRST_DATA_PFN + 3;
    unmapRw(g, l3b);
    unmapRw(g, xl2b);
    let [lo, hi] = entry(g.l1s[0]!, L2_PROT);
    P.writeEntry(g.host.mem, g.mfn(xl2b), XEN_L2_FIRST_SLOT, lo, hi);
    [lo, hi] = entry(g.mfn(xl2b), PTE.P);
    P.writeEntry(g.host.mem, g.mfn(l3b), 3, lo, hi);
    const before = g.pt.typeCount(g.l1s[0]!);
    expect(g.pt.pin(g.d, g.mfn(l3b), 3)).toBe(0);
    expect(P.readEntry(g.host.mem, g.mfn(xl2b), XEN_L2_FIRST_SLOT)).toEqual([0, 0]);
    expect(g.pt.typeCount(g.l1s[0]!)).toBe(before);
  });

  it('checks L1 and L2 entries as Xen does', () => {
    const g = createGuest(new TestHost());
    const other = createGuest(g.host, { id: 2 });
    const d = g.d;
    expect(g.pt.getPageFromL1e(d, ...entry(g.mfn(FIRST_DATA_PFN), L1_RW | P._PAGE_PCD))).toBe(-EINVAL);
    expect(g.pt.getPageFromL1e(d, ...entry(g.host.mem.totalFrames + 5, L1_RO))).toBe(-EPERM);
    expect(g.pt.getPageFromL1e(d, ...entry(other.mfn(FIRST_DATA_PFN), L1_RO))).toBe(-EBUSY);
    expect(g.pt.getPageFromL1e(d, ...entry(g.l3, L1_RW))).toBe(-EBUSY);
    expect(g.pt.getPageFromL1e(d, ...entry(g.l3, L1_RO))).toBe(0);
    g.pt.putPageFromL1e(...entry(g.l3, L1_RO));
    expect(g.pt.getPageFromL2e(d, ...entry(g.l1s[0]!, L2_PROT | P._PAGE_PSE))).toBe(-EINVAL); // no superpages
    expect(g.pt.getPageFromL2e(d, ...entry(g.l2, L2_PROT))).toBe(-EINVAL); // an L2 is no L1
  });

  it('frees a domain: every frame back, references on others dropped', () => {
    const host = new TestHost();
    const free0 = host.frames.freeFrames;
    const g = createGuest(host);
    const h = createGuest(host, { id: 2 });
    const kept = h.mfn(FIRST_DATA_PFN);
    // Domain 2 lends one frame to domain 1's tables through a reference (as a grant map does).
    expect(g.pt.getPage(h.d, kept)).toBe(true);
    g.d.dying = true;
    g.pt.releaseDomain(g.d);
    expect(host.frames.count(1)).toBe(0);
    h.d.dying = true;
    g.pt.releaseDomain(h.d);
    expect(host.frames.owner(kept)).toBe(2); // still referenced
    expect(host.frames.count(2)).toBe(1);
    g.pt.putPage(kept);
    expect(host.frames.owner(kept)).toBe(DOMID_FREE);
    expect(host.frames.freeFrames).toBe(free0);
    expect(g.pt.typeOf(g.l3)).toBe(PGT_none);
  });
});
