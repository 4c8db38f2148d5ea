/**
 * Page types and reference counts over machine frames: the safety core of PV memory
 * management (header comment of xen/arch/x86/mm.c; xen-abi.md §7).
 *
 * Each frame has a general reference count (tot_count: every use — a mapping, a page-table
 * reference, a pin, CR3), a type (none, l1, l2, l3, l4, seg_desc, shared, writable) and a type
 * count. Types are mutually exclusive and a frame changes type only when its type count is 0.
 * A read-write PTE takes a 'writable' type reference, so a frame in use as a page table can
 * never be mapped writable, and a writably-mapped frame can never become a page table. Giving a
 * frame a page-table type validates every present entry (taking references on what they name);
 * when the type count falls back to 0 the frame is devalidated and those references are
 * dropped, recursively. Pinning holds one type reference and does not nest.
 *
 * Counts here exclude the allocation reference Xen keeps (PGC_allocated): a frame owned by a
 * domain is allocated; decrease_reservation drops the allocation (ORPHAN) and the frame is
 * freed when its last reference goes (memory.c guest_remove_page).
 *
 * Storage is per 512-frame chunk (info byte, type count, general count: 4.5 KiB), allocated on
 * first use, so idle memory costs nothing.
 */
import type { MachineMemory } from './machine.ts';
import type { FrameTable } from './frames.ts';
import { m2pOf, type M2P } from './m2p.ts';
import * as P from './pte.ts';
import type { Domain } from '../hv/domain.ts';
import type { VCpu } from '../hv/vcpu.ts';
import { CpuFault } from '../cpu/index.ts';
import { EINVAL, EPERM, EBUSY } from '../hv/errno.ts';

/** Page types (asm/mm.h PGT_*). */
export const PGT_none = 0;
export const PGT_l1 = 1;
export const PGT_l2 = 2;
export const PGT_l3 = 3;
export const PGT_l4 = 4;
export const PGT_seg_desc = 5;
export const PGT_shared = 6;
export const PGT_writable = 7;
export const PGT_NAMES = ['none', 'l1', 'l2', 'l3', 'l4', 'seg_desc', 'shared', 'writable'] as const;

const TYPE_MASK = 7;
const VALIDATED = 8;
const PINNED = 16;
/** The L2 in slot 3 of a PAE L3: its slots from HYPERVISOR_VIRT_START up are Xen's. */
const PAE_XEN_L2 = 32;
/** The allocation reference was dropped (ballooned out or domain gone): free at count 0. */
const ORPHAN = 64;
/** A hypervisor page shared with its domain writable (shared_info, grant frames). */
const XEN_HELD = 128;

/** First L2 slot of the Xen hole in the slot-3 L2: (0xF5800000 >> 21) & 511 (mm.c is_guest_l2_slot). */
export const XEN_L2_FIRST_SLOT = 0x1ac;
const ENXIO = 6;
const COUNT_MAX = 0x3fffffff;
const CHUNK_SHIFT = 9;
const CHUNK = 1 << CHUNK_SHIFT;

class Chunk {
  readonly info = new Uint8Array(CHUNK);
  readonly tcount = new Int32Array(CHUNK);
  readonly count = new Int32Array(CHUNK);
}

/** Called when a domain's memory is released, before its frames go (grant mappings). */
export type ReleaseHook = (d: Domain) => Iterable<number> | void;

export class PageTypes {
  private readonly dir: (Chunk | undefined)[];
  /** Each vCPU's current base pointer (the L3 it holds a type reference on). */
  private readonly base = new WeakMap<VCpu, number>();
  /** Domains seen, by id: to flush the right TLBs when a frame changes type or is freed. */
  private readonly domains = new Map<number, Domain>();
  /** Frames of a domain outside its P2M that may carry state (orphans, increase_reservation). */
  private readonly offP2m = new Map<number, Set<number>>();
  private readonly releaseHooks: ReleaseHook[] = [];

  constructor(
    readonly mem: MachineMemory,
    readonly frames: FrameTable,
    readonly m2p: M2P = m2pOf(mem),
  ) {
    this.dir = new Array(Math.ceil(mem.totalFrames / CHUNK));
  }

  // ---- state ---------------------------------------------------------------------------------

  private chunk(mfn: number): Chunk {
    let c = this.dir[mfn >>> CHUNK_SHIFT];
    if (c === undefined) c = this.dir[mfn >>> CHUNK_SHIFT] = new Chunk();
    return c;
  }

  private infoOf(mfn: number): number {
    const c = this.dir[mfn >>> CHUNK_SHIFT];
    return c === undefined ? 0 : c.info[mfn & (CHUNK - 1)]!;
  }

  private valid(mfn: number): boolean {
    return Number.isInteger(mfn) && mfn >= 0 && mfn < this.mem.totalFrames;
  }

  typeOf(mfn: number): number {
    return this.valid(mfn) ? this.infoOf(mfn) & TYPE_MASK : PGT_none;
  }

  typeCount(mfn: number): number {
    const c = this.valid(mfn) ? this.dir[mfn >>> CHUNK_SHIFT] : undefined;
    return c === undefined ? 0 : c.tcount[mfn & (CHUNK - 1)]!;
  }

  /** General references beyond the allocation. */
  refCount(mfn: number): number {
    const c = this.valid(mfn) ? this.dir[mfn >>> CHUNK_SHIFT] : undefined;
    return c === undefined ? 0 : c.count[mfn & (CHUNK - 1)]!;
  }

  isPinned(mfn: number): boolean {
    return this.valid(mfn) && (this.infoOf(mfn) & PINNED) !== 0;
  }

  isValidated(mfn: number): boolean {
    return this.valid(mfn) && (this.infoOf(mfn) & VALIDATED) !== 0;
  }

  isXenL2(mfn: number): boolean {
    return this.valid(mfn) && (this.infoOf(mfn) & PAE_XEN_L2) !== 0;
  }

  /** A page-table frame in use: validated with a non-zero type count (mm.c page_lock). */
  isLiveTable(mfn: number, type: number): boolean {
    return this.typeOf(mfn) === type && this.isValidated(mfn) && this.typeCount(mfn) > 0;
  }

  onRelease(hook: ReleaseHook): void {
    this.releaseHooks.push(hook);
  }

  /** First contact with a domain: remember it, and hold its shared_info writable for Xen. */
  private track(d: Domain): void {
    if (this.domains.get(d.id) === d) return;
    this.domains.set(d.id, d);
    const si = d.sharedInfo.mfn;
    if (this.frames.owner(si) === d.id && !(this.infoOf(si) & XEN_HELD)) this.holdForXen(si);
  }

  private holdForXen(mfn: number): boolean {
    const c = this.chunk(mfn), i = mfn & (CHUNK - 1);
    if (c.tcount[i]! > 0 && (c.info[i]! & TYPE_MASK) !== PGT_writable) return false; // in use as a table
    c.info[i] = (c.info[i]! & ORPHAN) | PGT_writable | VALIDATED | XEN_HELD;
    c.tcount[i]!++;
    c.count[i]!++;
    return true;
  }

  /**
   * share_xen_page_with_guest: a page the hypervisor writes for as long as the domain lives
   * (grant frames; the console and xenstore rings its backends serve). It keeps a writable type
   * reference, dropped at releaseDomain, so the guest can never turn it into a page table whose
   * entries the hypervisor would then write unchecked. False if the page is not the domain's
   * or is a page table now.
   */
  shareXenPage(d: Domain, mfn: number): boolean {
    if (!this.valid(mfn) || this.frames.owner(mfn) !== d.id) return false;
    this.track(d);
    return this.infoOf(mfn) & XEN_HELD ? true : this.holdForXen(mfn);
  }

  /** Frames a domain owns outside its P2M (increase_reservation) that releaseDomain must find. */
  noteOffP2m(d: Domain, mfn: number): void {
    let s = this.offP2m.get(d.id);
    if (!s) this.offP2m.set(d.id, (s = new Set()));
    s.add(mfn);
  }

  // ---- general references (get_page / put_page) ---------------------------------------------

  getPage(d: Domain, mfn: number): boolean {
    if (!this.valid(mfn) || this.frames.owner(mfn) !== d.id) return false;
    this.track(d);
    const c = this.chunk(mfn), i = mfn & (CHUNK - 1);
    if (c.count[i]! >= COUNT_MAX) return false;
    c.count[i]!++;
    return true;
  }

  putPage(mfn: number): void {
    const c = this.dir[mfn >>> CHUNK_SHIFT];
    if (c === undefined) return;
    const i = mfn & (CHUNK - 1);
    if (c.count[i]! > 0) c.count[i]!--;
    if (c.count[i] === 0 && c.info[i]! & ORPHAN) this.free(mfn);
  }

  // ---- type references (get_page_type / put_page_type) ---------------------------------------

  /** _get_page_type: 0, or -errno (type clash, overflow, or the validation's error). */
  private getType(d: Domain, mfn: number, type: number, xenL2: boolean): number {
    const c = this.chunk(mfn), i = mfn & (CHUNK - 1);
    const want = type | (xenL2 ? PAE_XEN_L2 : 0);
    const info = c.info[i]!;
    const tc = c.tcount[i]!;
    if (tc >= COUNT_MAX) return -EINVAL;
    if (tc > 0) {
      if ((info & (TYPE_MASK | PAE_XEN_L2)) !== want) return -EINVAL;
      c.tcount[i] = tc + 1;
      return 0;
    }
    let next = info;
    if ((info & (TYPE_MASK | PAE_XEN_L2)) !== want) {
      // No vCPU may keep a stale writable TLB entry for a frame about to become a table.
      if (type !== PGT_writable && type !== PGT_shared) this.flushDomain(d);
      next = (info & ~(TYPE_MASK | VALIDATED | PAE_XEN_L2)) | want;
      if (type === PGT_writable || type === PGT_shared) next |= VALIDATED;
    }
    c.info[i] = next;
    c.tcount[i] = 1;
    if (next & VALIDATED) return 0;
    const rc = this.validate(d, mfn, type, xenL2);
    if (rc !== 0) {
      c.info[i] = c.info[i]! & ~(TYPE_MASK | VALIDATED | PAE_XEN_L2);
      c.tcount[i] = 0;
      return rc;
    }
    c.info[i] = c.info[i]! | VALIDATED;
    return 0;
  }

  private putType(mfn: number): void {
    const c = this.dir[mfn >>> CHUNK_SHIFT];
    if (c === undefined) return;
    const i = mfn & (CHUNK - 1);
    if (c.tcount[i]! <= 0) return;
    if (--c.tcount[i]! > 0) return;
    const info = c.info[i]!;
    const t = info & TYPE_MASK;
    if (t >= PGT_l1 && t <= PGT_l4 && info & VALIDATED) {
      // Page tables are devalidated when their count reaches zero (_put_final_page_type).
      c.info[i] = info & ~(VALIDATED | PAE_XEN_L2);
      this.devalidate(mfn, t, (info & PAE_XEN_L2) !== 0);
    }
  }

  /** get_page_and_type: 0 or -errno (-EINVAL if the frame is not the domain's). */
  getPageAndType(d: Domain, mfn: number, type: number, xenL2 = false): number {
    if (!this.getPage(d, mfn)) return -EINVAL;
    const rc = this.getType(d, mfn, type, xenL2);
    if (rc !== 0) this.putPage(mfn);
    return rc;
  }

  /** The brief's name for get_page_and_type: a general and a type reference, or false. */
  getPageType(d: Domain, mfn: number, type: number): boolean {
    return this.getPageAndType(d, mfn, type) === 0;
  }

  /** put_page_and_type. */
  putPageType(mfn: number): void {
    this.putType(mfn);
    this.putPage(mfn);
  }

  /**
   * A writable hold for a hypervisor-side user of a guest page (console and xenstore rings):
   * while held, the guest cannot turn the page into a page table. Returns the release, or
   * undefined if the page is not the domain's or is a page table.
   */
  acquireWritable(d: Domain, mfn: number): (() => void) | undefined {
    if (this.getPageAndType(d, mfn, PGT_writable) !== 0) return undefined;
    let held = true;
    return () => {
      if (held) this.putPageType(mfn);
      held = false;
    };
  }

  // ---- validation (promote_l*_table / demote_l*_table) ---------------------------------------

  private validate(d: Domain, mfn: number, type: number, xenL2: boolean): number {
    switch (type) {
      case PGT_l1:
        return this.validateL1(d, mfn);
      case PGT_l2:
        return this.validateL2(d, mfn, xenL2);
      case PGT_l3:
        return this.validateL3(d, mfn);
      case PGT_seg_desc:
        return this.validateSegDesc(mfn);
      default:
        return -EINVAL; // no L4 tables for a 32-bit PAE guest
    }
  }

  /** get_page_from_l1e: references for one present L1 entry. */
  getPageFromL1e(d: Domain, lo: number, hi: number): number {
    if (lo & P.L1_DISALLOW || hi & P.HI_RESERVED) return -EINVAL;
    const mfn = P.pteMfn(lo, hi);
    if (hi & P.HI_ADDR_BEYOND || mfn >= this.mem.totalFrames) return -EPERM; // MMIO a domU may not map
    if (lo & P._PAGE_RW) return this.getPageAndType(d, mfn, PGT_writable) === 0 ? 0 : -EBUSY;
    return this.getPage(d, mfn) ? 0 : -EBUSY;
  }

  /** put_page_from_l1e: also drops grant mappings' references, which live in their PTEs. */
  putPageFromL1e(lo: number, hi: number): void {
    if (!(lo & P._PAGE_PRESENT)) return;
    const mfn = P.pteMfn(lo, hi);
    if (mfn >= this.mem.totalFrames) return;
    if (lo & P._PAGE_RW) this.putPageType(mfn);
    else this.putPage(mfn);
  }

  getPageFromL2e(d: Domain, lo: number, hi: number): number {
    if (lo & P.L2_DISALLOW || hi & 0x7ffffff0) return -EINVAL;
    const mfn = P.pteMfn(lo, hi);
    if (mfn >= this.mem.totalFrames) return -EINVAL;
    return this.getPageAndType(d, mfn, PGT_l1);
  }

  putPageFromL2e(l2mfn: number, lo: number, hi: number): void {
    if (!(lo & P._PAGE_PRESENT)) return;
    const mfn = P.pteMfn(lo, hi);
    if (mfn !== l2mfn && mfn < this.mem.totalFrames) this.putPageType(mfn);
  }

  getPageFromL3e(d: Domain, lo: number, hi: number, xenL2: boolean): number {
    if (lo & P.L3_DISALLOW || hi & P.L3_HI_DISALLOW) return -EINVAL;
    const mfn = P.pteMfn(lo, hi);
    if (mfn >= this.mem.totalFrames) return -EINVAL;
    return this.getPageAndType(d, mfn, PGT_l2, xenL2);
  }

  private validateL1(d: Domain, mfn: number): number {
    if (!this.mem.isBacked(mfn)) return 0;
    const f = this.mem.frame(mfn);
    for (let i = 0; i < 512; i++) {
      const lo = f.dv.getUint32(f.base + i * 8, true);
      if (!(lo & P._PAGE_PRESENT)) continue;
      const rc = this.getPageFromL1e(d, lo, f.dv.getUint32(f.base + i * 8 + 4, true));
      if (rc !== 0) {
        while (i-- > 0) this.putPageFromL1e(f.dv.getUint32(f.base + i * 8, true), f.dv.getUint32(f.base + i * 8 + 4, true));
        return rc;
      }
    }
    return 0;
  }

  private validateL2(d: Domain, mfn: number, xenL2: boolean): number {
    const end = xenL2 ? XEN_L2_FIRST_SLOT : 512;
    if (this.mem.isBacked(mfn)) {
      const f = this.mem.frame(mfn);
      for (let i = 0; i < end; i++) {
        const lo = f.dv.getUint32(f.base + i * 8, true);
        if (!(lo & P._PAGE_PRESENT)) continue;
        const rc = this.getPageFromL2e(d, lo, f.dv.getUint32(f.base + i * 8 + 4, true));
        if (rc !== 0) {
          while (i-- > 0) this.putPageFromL2e(mfn, f.dv.getUint32(f.base + i * 8, true), f.dv.getUint32(f.base + i * 8 + 4, true));
          return rc;
        }
      }
    }
    // Xen replaces the guest's entries in its hole with its own (init_xen_pae_l2_slots); this
    // hypervisor maps nothing there, so they are cleared.
    if (xenL2) this.clearEntries(mfn, end);
    return 0;
  }

  /** Zero entries [from, 512) of a table frame, writing only if one is non-zero. */
  private clearEntries(mfn: number, from: number): void {
    if (!this.mem.isBacked(mfn)) return;
    const f = this.mem.frame(mfn);
    let dirty = false;
    for (let off = f.base + from * 8; off < f.base + 4096; off += 4) if (f.dv.getUint32(off, true) !== 0) dirty = true;
    if (!dirty) return;
    this.mem.noteWrite(mfn);
    f.u8.fill(0, f.base + from * 8, f.base + 4096);
  }

  private validateL3(d: Domain, mfn: number): number {
    // A compat guest's L3 is a full page but only 4 entries count: Xen clears the rest.
    this.clearEntries(mfn, 4);
    const undo = (n: number): void => {
      for (let k = 0; k < n; k++) {
        const [lo, hi] = P.readEntry(this.mem, mfn, k);
        if (lo & P._PAGE_PRESENT) this.putPageType(P.pteMfn(lo, hi));
      }
    };
    for (let i = 0; i < 3; i++) {
      const [lo, hi] = P.readEntry(this.mem, mfn, i);
      if (!(lo & P._PAGE_PRESENT)) continue;
      const rc = this.getPageFromL3e(d, lo, hi, false);
      if (rc !== 0) {
        undo(i);
        return rc;
      }
    }
    // Slot 3 must hold the L2 with Xen's mappings, and that L2 may not be shared
    // (promote_l3_table, pae_xen_mappings_check).
    const [lo, hi] = P.readEntry(this.mem, mfn, 3);
    const rc = lo & P._PAGE_PRESENT ? this.getPageFromL3e(d, lo, hi, true) : -EINVAL;
    if (rc !== 0) {
      undo(3);
      return rc;
    }
    if (this.typeCount(P.pteMfn(lo, hi)) !== 1) {
      undo(4);
      return -EINVAL;
    }
    return 0;
  }

  /** validate_segdesc_page: no DPL-0 code/data segments and no system descriptors. */
  private validateSegDesc(mfn: number): number {
    if (!this.mem.isBacked(mfn)) return 0;
    const f = this.mem.frame(mfn);
    for (let i = 0; i < 512; i++) {
      const hi = f.dv.getUint32(f.base + i * 8 + 4, true);
      if (!(hi & 0x8000)) continue;
      if (!(hi & 0x1000) || ((hi >>> 13) & 3) === 0) return -EINVAL;
    }
    return 0;
  }

  private devalidate(mfn: number, type: number, xenL2: boolean): void {
    if (!this.mem.isBacked(mfn)) return;
    const f = this.mem.frame(mfn);
    const n = type === PGT_l3 ? 4 : type === PGT_l2 && xenL2 ? XEN_L2_FIRST_SLOT : 512;
    for (let i = 0; i < n; i++) {
      const lo = f.dv.getUint32(f.base + i * 8, true);
      if (!(lo & P._PAGE_PRESENT)) continue;
      const hi = f.dv.getUint32(f.base + i * 8 + 4, true);
      if (type === PGT_l1) this.putPageFromL1e(lo, hi);
      else this.putPageFromL2e(mfn, lo, hi); // L2 → L1 and L3 → L2 drop a table reference alike
    }
  }

  // ---- pinning and base pointers (do_mmuext_op, new_guest_cr3) -------------------------------

  /** MMUEXT_PIN_L{level}_TABLE: 0 or -errno. Pinning does not nest (-EINVAL if already pinned). */
  pin(d: Domain, mfn: number, level: number): number {
    if (level === 4) return 0; // ignored for a 32-bit guest (mm.c: is_pv_32bit_domain → break)
    if (level < 1 || level > 3) return -EINVAL;
    if (!this.getPage(d, mfn)) return -EINVAL;
    const rc = this.getType(d, mfn, level, false);
    if (rc !== 0) {
      this.putPage(mfn);
      return rc;
    }
    const c = this.chunk(mfn), i = mfn & (CHUNK - 1);
    if (c.info[i]! & PINNED) {
      this.putPageType(mfn);
      return -EINVAL;
    }
    c.info[i] = c.info[i]! | PINNED;
    return 0;
  }

  /** MMUEXT_UNPIN_TABLE. A table still in CR3 stays valid: CR3 holds its own reference. */
  unpin(d: Domain, mfn: number): number {
    if (!this.getPage(d, mfn)) return -EINVAL;
    const c = this.chunk(mfn), i = mfn & (CHUNK - 1);
    if (!(c.info[i]! & PINNED)) {
      this.putPage(mfn);
      return -EINVAL;
    }
    c.info[i] = c.info[i]! & ~PINNED;
    this.putPageType(mfn);
    this.putPage(mfn);
    return 0;
  }

  /** The L3 a vCPU's CR3 holds, or -1. */
  baseptrOf(v: VCpu): number {
    return this.base.get(v) ?? -1;
  }

  /**
   * MMUEXT_NEW_BASEPTR (new_guest_cr3): take an l3 reference on `mfn`, load CR3 =
   * xen_pfn_to_cr3(mfn) (which reloads the PDPTEs and flushes the TLB), then drop the old one.
   */
  setBaseptr(v: VCpu, mfn: number): number {
    const old = this.baseptrOf(v);
    if (old === mfn) {
      this.loadCr3(v, mfn);
      return 0;
    }
    const rc = this.getPageAndType(v.domain, mfn, PGT_l3);
    if (rc !== 0) return rc;
    this.base.set(v, mfn);
    this.loadCr3(v, mfn);
    if (old >= 0) this.putPageType(old);
    return 0;
  }

  private loadCr3(v: VCpu, mfn: number): void {
    const cpu = v.cpu;
    cpu.mmu.pdptBase = mfn * 4096;
    try {
      cpu.setCr3(P.xenPfnToCr3(mfn));
    } catch (e) {
      if (!(e instanceof CpuFault)) throw e;
      v.domain.crash(`page directory at mfn ${mfn} could not be loaded`);
    }
  }

  /** After an L3 entry changed: vCPUs running on that L3 reload their PDPTEs. */
  reloadPdptes(d: Domain, l3mfn: number): void {
    for (const v of d.vcpus) if (this.base.get(v) === l3mfn) this.loadCr3(v, l3mfn);
  }

  flushDomain(d: Domain): void {
    for (const v of d.vcpus) v.cpu.mmu.flush();
  }

  // ---- giving frames back ----------------------------------------------------------------------

  /**
   * guest_remove_page (decrease_reservation): the domain gives up frame `mfn`. It is unpinned and
   * loses its allocation; it is freed now, or when the last mapping or table reference goes.
   */
  removePage(d: Domain, mfn: number): number {
    if (!this.getPage(d, mfn)) return -ENXIO;
    const c = this.chunk(mfn), i = mfn & (CHUNK - 1);
    if (c.info[i]! & ORPHAN) {
      this.putPage(mfn); // already given back: nothing more to drop
      return 0;
    }
    if (c.info[i]! & XEN_HELD) {
      this.putPage(mfn); // shared_info and grant frames are the hypervisor's to free
      return -EINVAL;
    }
    if (c.info[i]! & PINNED) {
      c.info[i] = c.info[i]! & ~PINNED;
      this.putPageType(mfn);
    }
    c.info[i] = c.info[i]! | ORPHAN;
    this.noteOffP2m(d, mfn);
    this.m2p.clear(mfn);
    this.putPage(mfn);
    return 0;
  }

  private free(mfn: number): void {
    const c = this.dir[mfn >>> CHUNK_SHIFT];
    if (c !== undefined) {
      const i = mfn & (CHUNK - 1);
      c.info[i] = 0;
      c.tcount[i] = 0;
      c.count[i] = 0;
    }
    const owner = this.frames.owner(mfn);
    this.offP2m.get(owner)?.delete(mfn);
    // No vCPU of the owner may keep a TLB entry for a frame that is about to be reused.
    const d = this.domains.get(owner);
    if (d && !d.dying) this.flushDomain(d);
    this.m2p.clear(mfn);
    this.frames.release(mfn);
  }

  /**
   * Domain destruction (domain_relinquish_resources → relinquish_memory): drop every
   * reference the domain holds — grant mappings (release hooks), CR3s, pins, Xen's holds,
   * then force any table still valid to devalidate, top level first — and free its frames.
   * Frames other domains still reference (grant mappings) stay until their last reference.
   */
  releaseDomain(d: Domain): void {
    const cand = new Set<number>();
    for (const hook of this.releaseHooks) {
      const extra = hook(d);
      if (extra) for (const mfn of extra) cand.add(mfn);
    }
    for (const v of d.vcpus) {
      const b = this.base.get(v);
      this.base.delete(v);
      if (b !== undefined) this.putPageType(b);
    }
    for (const mfn of d.p2m) if (mfn >= 0) cand.add(mfn);
    cand.add(d.sharedInfo.mfn);
    for (const mfn of this.offP2m.get(d.id) ?? []) cand.add(mfn);
    const mine = [...cand].filter((mfn) => this.valid(mfn) && this.frames.owner(mfn) === d.id);
    for (const mfn of mine) {
      const info = this.infoOf(mfn);
      if (info & PINNED) {
        this.chunk(mfn).info[mfn & (CHUNK - 1)] = info & ~PINNED;
        this.putPageType(mfn);
      }
      if (this.infoOf(mfn) & XEN_HELD) {
        this.chunk(mfn).info[mfn & (CHUNK - 1)] &= ~XEN_HELD;
        this.putPageType(mfn);
      }
    }
    for (const level of [PGT_l3, PGT_l2, PGT_l1]) {
      for (const mfn of mine) {
        const c = this.dir[mfn >>> CHUNK_SHIFT];
        if (c === undefined) continue;
        const i = mfn & (CHUNK - 1), info = c.info[i]!;
        if ((info & TYPE_MASK) !== level || !(info & VALIDATED)) continue;
        c.info[i] = info & ~(VALIDATED | PAE_XEN_L2 | TYPE_MASK);
        c.tcount[i] = 0;
        this.devalidate(mfn, level, (info & PAE_XEN_L2) !== 0);
      }
    }
    let orphans = 0;
    for (const mfn of mine) {
      if (this.frames.owner(mfn) !== d.id) continue; // freed on the way
      const c = this.chunk(mfn), i = mfn & (CHUNK - 1);
      if (c.count[i]! > 0) {
        c.info[i] = (c.tcount[i]! > 0 ? c.info[i]! & (TYPE_MASK | VALIDATED) : 0) | ORPHAN;
        orphans++;
      } else this.free(mfn);
    }
    if (this.frames.count(d.id) > orphans) {
      // Frames we were never told about (a leak elsewhere): find them the slow way.
      for (let mfn = 0; mfn < this.mem.totalFrames && this.frames.count(d.id) > orphans; mfn++) {
        if (this.frames.owner(mfn) === d.id && !(this.infoOf(mfn) & ORPHAN)) this.free(mfn);
      }
    }
    this.domains.delete(d.id);
    if (orphans === 0) this.offP2m.delete(d.id);
    for (const mfn of mine) this.dropChunkIfEmpty(mfn >>> CHUNK_SHIFT);
  }

  private dropChunkIfEmpty(ci: number): void {
    const c = this.dir[ci];
    if (c === undefined) return;
    for (let i = 0; i < CHUNK; i++) if (c.info[i] !== 0 || c.count[i] !== 0 || c.tcount[i] !== 0) return;
    this.dir[ci] = undefined;
  }
}

const instances = new WeakMap<object, PageTypes>();

/** The host's page-type table (one per host: keyed by its machine memory). */
export function pageTypesOf(host: { mem: MachineMemory; frames: FrameTable }): PageTypes {
  let pt = instances.get(host.mem);
  if (!pt) instances.set(host.mem, (pt = new PageTypes(host.mem, host.frames)));
  return pt;
}
