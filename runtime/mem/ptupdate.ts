/**
 * Checked updates of live page-table entries (xen/arch/x86/mm.c mod_l1_entry, mod_l2_entry,
 * mod_l3_entry, do_mmu_update's MMU_NORMAL_PT_UPDATE body, map_guest_l1e). The new entry's
 * references are taken before the old entry's are dropped, so an entry that maps the same frame
 * again never lets its count touch zero.
 */
import type { Domain } from '../hv/domain.ts';
import type { VCpu } from '../hv/vcpu.ts';
import { EINVAL, EPERM } from '../hv/errno.ts';
import * as P from './pte.ts';
import { PGT_l1, PGT_l2, PGT_l3, PGT_writable, XEN_L2_FIRST_SLOT, type PageTypes } from './pagetype.ts';

const AD = P._PAGE_ACCESSED | P._PAGE_DIRTY;

/** Only whitelisted flags differ and the frame is the same: no references change. */
const sameMapping = (olo: number, ohi: number, lo: number, hi: number): boolean =>
  (olo & P._PAGE_PRESENT) !== 0 && ((olo ^ lo) & ~P.FASTPATH_LO) === 0 && ((ohi ^ hi) & ~P.FASTPATH_HI) === 0;

export function modL1Entry(pt: PageTypes, d: Domain, l1: number, index: number, lo: number, hi: number, preserveAD = false): number {
  const [olo, ohi] = P.readEntry(pt.mem, l1, index);
  if (preserveAD) lo |= olo & AD;
  if (lo & P._PAGE_PRESENT) {
    if (lo & P.L1_DISALLOW || hi & P.HI_RESERVED) return -EINVAL;
    if (!sameMapping(olo, ohi, lo, hi)) {
      const rc = pt.getPageFromL1e(d, lo, hi);
      if (rc !== 0) return rc;
      P.writeEntry(pt.mem, l1, index, lo, hi);
      pt.putPageFromL1e(olo, ohi);
      return 0;
    }
    P.writeEntry(pt.mem, l1, index, lo, hi);
    return 0;
  }
  P.writeEntry(pt.mem, l1, index, lo, hi);
  pt.putPageFromL1e(olo, ohi);
  return 0;
}

export function modL2Entry(pt: PageTypes, d: Domain, l2: number, index: number, lo: number, hi: number, preserveAD = false): number {
  if (pt.isXenL2(l2) && index >= XEN_L2_FIRST_SLOT) return -EPERM; // "L2 update in Xen-private area"
  const [olo, ohi] = P.readEntry(pt.mem, l2, index);
  if (preserveAD) lo |= olo & AD;
  if (lo & P._PAGE_PRESENT) {
    if (lo & P.L2_DISALLOW || hi & 0x7ffffff0) return -EINVAL;
    if (!sameMapping(olo, ohi, lo, hi)) {
      const rc = pt.getPageFromL2e(d, lo, hi);
      if (rc !== 0) return rc;
      P.writeEntry(pt.mem, l2, index, lo, hi);
      pt.putPageFromL2e(l2, olo, ohi);
      return 0;
    }
    P.writeEntry(pt.mem, l2, index, lo, hi);
    return 0;
  }
  P.writeEntry(pt.mem, l2, index, lo, hi);
  pt.putPageFromL2e(l2, olo, ohi);
  return 0;
}

export function modL3Entry(pt: PageTypes, d: Domain, l3: number, index: number, lo: number, hi: number, preserveAD = false): number {
  // Slot 3 holds Xen's mappings and cannot be changed in a live table (mod_l3_entry).
  if (index >= 3) return -EINVAL;
  const [olo, ohi] = P.readEntry(pt.mem, l3, index);
  if (preserveAD) lo |= olo & AD;
  if (lo & P._PAGE_PRESENT) {
    if (lo & P.L3_DISALLOW || hi & P.L3_HI_DISALLOW) return -EINVAL;
    if (!sameMapping(olo, ohi, lo, hi)) {
      const rc = pt.getPageFromL3e(d, lo, hi, false);
      if (rc !== 0) return rc;
      P.writeEntry(pt.mem, l3, index, lo, hi);
      pt.putPageFromL2e(l3, olo, ohi);
    } else P.writeEntry(pt.mem, l3, index, lo, hi);
  } else {
    P.writeEntry(pt.mem, l3, index, lo, hi);
    pt.putPageFromL2e(l3, olo, ohi);
  }
  pt.reloadPdptes(d, l3); // the CPU caches PDPTEs at CR3 load (SDM Vol. 3 §4.4.1)
  return 0;
}

/**
 * MMU_NORMAL_PT_UPDATE / PT_UPDATE_PRESERVE_AD of the entry at machine address `ptr`
 * (8-aligned): checked by the frame's current type; a frame that is no live table is plain
 * memory and is simply written, provided it can be writable (xen-abi.md §11).
 */
export function normalPtUpdate(pt: PageTypes, d: Domain, ptr: number, lo: number, hi: number, preserveAD: boolean): number {
  const mfn = Math.floor(ptr / 4096);
  const index = (ptr % 4096) >>> 3;
  if (!pt.getPage(d, mfn)) return -EINVAL;
  let rc = -EINVAL;
  if (pt.typeCount(mfn) > 0 && pt.isValidated(mfn)) {
    switch (pt.typeOf(mfn)) {
      case PGT_l1:
        rc = modL1Entry(pt, d, mfn, index, lo, hi, preserveAD);
        break;
      case PGT_l2:
        rc = modL2Entry(pt, d, mfn, index, lo, hi, preserveAD);
        break;
      case PGT_l3:
        rc = modL3Entry(pt, d, mfn, index, lo, hi, preserveAD);
        break;
      case PGT_writable:
        P.writeEntry(pt.mem, mfn, index, lo, hi);
        rc = 0;
        break;
    }
  } else if (pt.getPageAndType(d, mfn, PGT_writable) === 0) {
    P.writeEntry(pt.mem, mfn, index, lo, hi);
    pt.putPageType(mfn);
    rc = 0;
  }
  pt.putPage(mfn);
  return rc;
}

/** The L3 a vCPU runs on: the base pointer it holds, else what its CR3 names. */
function currentL3(pt: PageTypes, v: VCpu): number {
  const b = pt.baseptrOf(v);
  if (b >= 0) return b;
  return v.cpu.mmu.pdptBase >= 0 ? Math.floor(v.cpu.mmu.pdptBase / 4096) : P.xenCr3ToPfn(v.cpu.cr3);
}

/**
 * map_guest_l1e: the L1 frame and index that map `va` in the vCPU's current tables, or
 * undefined if the L3 or L2 entry is not present (or is a superpage). The caller checks that
 * the L1 is the domain's and a live L1 table.
 */
export function guestL1For(pt: PageTypes, v: VCpu, va: number): { mfn: number; index: number } | undefined {
  const total = pt.mem.totalFrames;
  const l3 = currentL3(pt, v);
  if (!(l3 < total)) return undefined;
  const [lo3, hi3] = P.readEntry(pt.mem, l3, (va >>> 30) & 3);
  if (!(lo3 & P._PAGE_PRESENT)) return undefined;
  const l2 = P.pteMfn(lo3, hi3);
  if (l2 >= total) return undefined;
  const [lo2, hi2] = P.readEntry(pt.mem, l2, (va >>> 21) & 511);
  if (!(lo2 & P._PAGE_PRESENT) || lo2 & P._PAGE_PSE) return undefined;
  const l1 = P.pteMfn(lo2, hi2);
  if (l1 >= total) return undefined;
  return { mfn: l1, index: (va >>> 12) & 511 };
}

/** Find the live L1 of the domain that maps `va` and take a reference on it (release with putPage). */
export function lockGuestL1(pt: PageTypes, v: VCpu, va: number): { mfn: number; index: number } | undefined {
  const loc = guestL1For(pt, v, va);
  if (!loc || !pt.getPage(v.domain, loc.mfn)) return undefined;
  if (!pt.isLiveTable(loc.mfn, PGT_l1)) {
    pt.putPage(loc.mfn);
    return undefined;
  }
  return loc;
}
