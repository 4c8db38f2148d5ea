/**
 * PAE page-table entries as a 32-bit PV guest writes them (two 32-bit halves, little-endian),
 * and the flag rules Xen applies to them.
 *
 * Sources: Intel SDM Vol. 3 §4.4 (PAE entries), xen/arch/x86/mm.c (L1_DISALLOW_MASK,
 * L2_DISALLOW_MASK, l3_disallow_mask for a 32-bit PV domain, FASTPATH_FLAG_WHITELIST),
 * xen/arch/x86/include/asm/x86_64/page.h (BASE_DISALLOW_MASK).
 */
import type { MachineMemory } from './machine.ts';

export const _PAGE_PRESENT = 0x001;
export const _PAGE_RW = 0x002;
export const _PAGE_USER = 0x004;
export const _PAGE_PWT = 0x008;
export const _PAGE_PCD = 0x010;
export const _PAGE_ACCESSED = 0x020;
export const _PAGE_DIRTY = 0x040;
/** Bit 7: PSE in an L2 entry (a superpage), PAT in an L1 entry. */
export const _PAGE_PSE = 0x080;
export const _PAGE_GLOBAL = 0x100;
/** Bits 9–11 are free for the guest (_PAGE_AVAIL). */
export const _PAGE_AVAIL = 0xe00;
/** NX is bit 63: bit 31 of the high half. */
export const HI_NX = 0x80000000;

/**
 * Low-half flags a domU may not set. L1: PWT, PCD and PAT (cache attributes need I/O memory
 * rights). L2: PWT, PCD, PSE (no superpages for PV) and GLOBAL. L3 of a 32-bit guest: mm.c
 * forbids 0x198 as well; we also refuse RW, USER, ACCESSED and DIRTY (0x066), which the CPU's
 * PAE PDPTE load treats as reserved (SDM Vol. 3 §4.4.1) — a 64-bit Xen runs compat guests on
 * 4-level tables and tolerates them.
 */
export const L1_DISALLOW = _PAGE_PWT | _PAGE_PCD | _PAGE_PSE;
export const L2_DISALLOW = _PAGE_PWT | _PAGE_PCD | _PAGE_PSE | _PAGE_GLOBAL;
export const L3_DISALLOW = 0x1fe;
/**
 * High-half bits refused in L1/L2 entries: bits 52–62. Xen leaves them to software
 * (_PAGE_AVAIL_HIGH), but this CPU (36-bit physical addresses, like P6 PAE parts) faults on any
 * of bits 36–62; bits 36–51 would name a frame beyond memory and are refused as such.
 */
export const HI_RESERVED = 0x7ff00000;
export const HI_ADDR_BEYOND = 0x000ffff0;
/** In an L3 entry everything above the address is refused (l3_disallow_mask covers NX too). */
export const L3_HI_DISALLOW = 0xfffffff0;

/**
 * Flags a guest may change without the entry being revalidated (mm.c FASTPATH_FLAG_WHITELIST:
 * NX, AVAIL, GLOBAL, DIRTY, ACCESSED, USER); anything else, and any address change, takes the
 * full path.
 */
export const FASTPATH_LO = _PAGE_AVAIL | _PAGE_GLOBAL | _PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_USER;
export const FASTPATH_HI = HI_NX;

/** Machine frame an entry names (address bits 12–51; only 12–35 can be set here). */
export const pteMfn = (lo: number, hi: number): number => (hi & 0xfffff) * 0x100000 + (lo >>> 12);

/** Entry `index` of table frame `mfn` as [lo, hi]; an untouched frame reads as zeros. */
export function readEntry(mem: MachineMemory, mfn: number, index: number): [number, number] {
  if (!mem.isBacked(mfn)) return [0, 0];
  const f = mem.frame(mfn);
  const off = f.base + index * 8;
  return [f.dv.getUint32(off, true), f.dv.getUint32(off + 4, true)];
}

/** Store entry `index` of table frame `mfn`, marking the frame written (dirty log, code). */
export function writeEntry(mem: MachineMemory, mfn: number, index: number, lo: number, hi: number): void {
  mem.noteWrite(mfn);
  const f = mem.frame(mfn);
  const off = f.base + index * 8;
  f.dv.setUint32(off, lo >>> 0, true);
  f.dv.setUint32(off + 4, hi >>> 0, true);
}

/** xen_pfn_to_cr3 for a compat guest (xen-abi.md §2): the frame rotated into CR3's layout. */
export const xenPfnToCr3 = (mfn: number): number => ((mfn << 12) | (mfn >>> 20)) >>> 0;
export const xenCr3ToPfn = (cr3: number): number => ((cr3 >>> 12) | (cr3 << 20)) >>> 0;
