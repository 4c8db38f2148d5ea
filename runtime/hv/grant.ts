/**
 * Grant tables, version 1 (xen/include/public/grant_table.h; xen/common/grant_table.c;
 * xen/arch/x86/pv/grant_table.c; xen-abi.md §7): a domain lists in its shared grant frames
 * which of its pages another domain may map or copy; the hypervisor checks each use against the
 * entry, marks it in use (GTF_reading/GTF_writing) and tracks it.
 *
 * Each mapping holds the references its use needs on the granter's frame (a general reference,
 * plus a writable type reference unless read-only), so a granted page can neither be freed nor
 * become a page table while mapped writable. For a PV host mapping those references live in
 * the mapper's PTE, as in Xen: tearing the PTE down drops them.
 *
 * Domain-0 is TypeScript here: its device backends use mapForeign / copyFromGuest /
 * copyToGuest instead of page tables, with exactly the checks a guest backend would meet.
 */
import { EFER_NXE } from '../cpu/constants.ts';
import type { Domain, HostContext } from './domain.ts';
import type { VCpu } from './vcpu.ts';
import { DOMID_SELF } from './hc/types.ts';
import { noteXenHeapFrame } from './hc/memory.ts';
import { pageTypesOf, PGT_l1, PGT_writable, type PageTypes } from '../mem/pagetype.ts';
import { lockGuestL1 } from '../mem/ptupdate.ts';
import * as P from '../mem/pte.ts';
import { OutOfMemoryError } from '../mem/frames.ts';
import { } from '../cpu/index.ts';

export const GTF_permit_access = 1;
export const GTF_type_mask = 3;
export const GTF_readonly = 1 << 2;
export const GTF_reading = 1 << 3;
export const GTF_writing = 1 << 4;
export const GTF_sub_page = 1 << 8;

export const GNTMAP_device_map = 1;
export const GNTMAP_host_map = 2;
export const GNTMAP_readonly = 4;
export const GNTMAP_application_map = 8;
export const GNTMAP_contains_pte = 16;

export const GNTST = {
  okay: 0,
  general_error: -1,
  bad_domain: -2,
  bad_gntref: -3,
  bad_handle: -4,
  bad_virt_addr: -5,
  bad_dev_addr: -6,
  no_device_space: -7,
  permission_denied: -8,
  bad_page: -9,
  bad_copy_arg: -10,
} as const;

/** Grant frames a domain may have (Xen's gnttab_max_frames default is 32–64). */
export const MAX_GRANT_FRAMES = 32;
export const ENTRIES_PER_FRAME = 512;
/** Mapping handles per domain (Xen: gnttab_max_maptrack_frames). */
export const MAX_MAPTRACK = 16384;
/** Domain-0, the mapper for the TypeScript backends. */
const DOM0 = 0;

/** Who uses an entry and how often (active_grant_entry; Xen packs these into act->pin). */
interface Active {
  mapper: number;
  frame: number;
  hostR: number;
  hostW: number;
  devR: number;
  devW: number;
}

const pins = (a: Active): number => a.hostR + a.hostW + a.devR + a.devW;
const writePins = (a: Active): number => a.hostW + a.devW;

interface MapTrack {
  granter: GrantTable;
  ref: number;
  flags: number;
  frame: number;
}

export class GrantTable {
  /** Shared frames (machine frames the guest maps), allocated as the table grows. */
  readonly frames: number[] = [];
  readonly active = new Map<number, Active>();
  readonly maptrack: (MapTrack | undefined)[] = [];
  private readonly freeHandles: number[] = [];
  /** The owner is gone: its frames are freed, so its entries are no longer touched. */
  dead = false;

  constructor(readonly owner: Domain) {}

  /** nr_grant_entries: a table starts with one frame (INITIAL_NR_GRANT_FRAMES). */
  get nrEntries(): number {
    return Math.max(1, this.frames.length) * ENTRIES_PER_FRAME;
  }

  /** Entry `ref` {u16 flags; u16 domid; u32 frame}; zeros where no frame exists yet. */
  entry(ref: number): { flags: number; domid: number; frame: number } {
    const mfn = this.frames[Math.floor(ref / ENTRIES_PER_FRAME)];
    if (mfn === undefined || this.dead) return { flags: 0, domid: 0, frame: 0 };
    const f = this.owner.host.mem.frame(mfn);
    const off = f.base + (ref % ENTRIES_PER_FRAME) * 8;
    return { flags: f.dv.getUint16(off, true), domid: f.dv.getUint16(off + 2, true), frame: f.dv.getUint32(off + 4, true) };
  }

  /** Set or clear GTF_reading/GTF_writing in the shared entry (Xen does it with cmpxchg). */
  mark(ref: number, set: number, clear: number): void {
    const mfn = this.frames[Math.floor(ref / ENTRIES_PER_FRAME)];
    if (mfn === undefined || this.dead) return;
    const mem = this.owner.host.mem;
    const f = mem.frame(mfn);
    const off = f.base + (ref % ENTRIES_PER_FRAME) * 8;
    const flags = f.dv.getUint16(off, true);
    const next = (flags | set) & ~clear;
    if (next === flags) return;
    mem.noteWrite(mfn);
    f.dv.setUint16(off, next, true);
  }

  allocHandle(): number {
    const h = this.freeHandles.pop();
    if (h !== undefined) return h;
    if (this.maptrack.length >= MAX_MAPTRACK) return -1;
    this.maptrack.push(undefined);
    return this.maptrack.length - 1;
  }

  freeHandle(h: number): void {
    this.maptrack[h] = undefined;
    this.freeHandles.push(h);
  }
}

/** A page of another domain held by a backend. */
export interface ForeignMapping {
  readonly mfn: number;
  release(): void;
}

export type CopyResult = Uint8Array | number;

export class GrantTables {
  constructor(
    readonly host: HostContext,
    readonly pt: PageTypes,
  ) {
    pt.onRelease((d) => this.releaseDomain(d));
  }

  tableOf(d: Domain): GrantTable {
    let t = d.ext.get('grant') as GrantTable | undefined;
    if (!t) d.ext.set('grant', (t = new GrantTable(d)));
    return t;
  }

  /** gnttab_grow_table: share more frames with the domain. False if over the limit or out of memory. */
  grow(d: Domain, nr: number): boolean {
    const t = this.tableOf(d);
    if (nr > MAX_GRANT_FRAMES) return false;
    while (t.frames.length < nr) {
      let mfn: number;
      try {
        mfn = this.host.frames.allocate(d.id, 1)[0]!;
      } catch (e) {
        if (e instanceof OutOfMemoryError) return false;
        throw e;
      }
      this.pt.shareXenPage(d, mfn);
      noteXenHeapFrame(d, mfn);
      t.frames.push(mfn);
    }
    return true;
  }

  /** The toolstack's reserved entries (xc_dom_gnttab_seed): ref 0 console, ref 1 xenstore. */
  seed(d: Domain, ref: number, domid: number, mfn: number, flags = GTF_permit_access): void {
    const t = this.tableOf(d);
    this.grow(d, Math.floor(ref / ENTRIES_PER_FRAME) + 1);
    const tf = t.frames[Math.floor(ref / ENTRIES_PER_FRAME)];
    if (tf === undefined) return;
    const f = this.host.mem.frame(tf);
    const off = f.base + (ref % ENTRIES_PER_FRAME) * 8;
    this.host.mem.noteWrite(tf);
    f.dv.setUint16(off + 2, domid, true);
    f.dv.setUint32(off + 4, mfn >>> 0, true);
    f.dv.setUint16(off, flags, true);
  }

  // ---- pins on an entry (__acquire_grant_for_copy, _set_status_v1, unmap_common_complete) ----

  /**
   * Check entry `ref` of `rgt` for use by `mapper` and mark it in use. Returns the frame, or a
   * GNTST code. The caller then adds its pin (and references), or calls unpin on failure.
   */
  private acquire(rgt: GrantTable, ref: number, mapper: number, readonly: boolean, mapping: boolean): number {
    if (!Number.isInteger(ref) || ref < 0 || ref >= rgt.nrEntries || rgt.dead) return GNTST.bad_gntref;
    let act = rgt.active.get(ref);
    if (act && pins(act) > 0 && (act.mapper !== mapper || Math.max(act.hostR, act.hostW, act.devR, act.devW) >= 0x80)) {
      return GNTST.general_error; // someone else's, or the pin counter would overflow
    }
    const pinned = act !== undefined && pins(act) > 0;
    if (!pinned || (!readonly && writePins(act!) === 0)) {
      const e = rgt.entry(ref);
      const typeMask = GTF_type_mask | (mapping ? GTF_sub_page : 0);
      if (!pinned && ((e.flags & typeMask) !== GTF_permit_access || e.domid !== mapper)) return GNTST.general_error;
      if (!readonly && e.flags & GTF_readonly) return GNTST.general_error; // write-pin of a r/o grant
      if (!pinned) {
        // A PV granter names a machine frame, which must be its own (__get_paged_frame).
        if (!(e.frame < this.host.mem.totalFrames) || this.host.frames.owner(e.frame) !== rgt.owner.id) return GNTST.bad_page;
        act = { mapper, frame: e.frame, hostR: 0, hostW: 0, devR: 0, devW: 0 };
        rgt.active.set(ref, act);
      }
      rgt.mark(ref, GTF_reading | (readonly ? 0 : GTF_writing), 0);
    }
    return act!.frame;
  }

  /** Drop one pin of `kind` and clear the in-use flags no pin needs any more. */
  private unpin(rgt: GrantTable, ref: number, kind: 'hostR' | 'hostW' | 'devR' | 'devW' | undefined): void {
    const act = rgt.active.get(ref);
    if (!act) return;
    if (kind && act[kind] > 0) act[kind]--;
    if (writePins(act) === 0) rgt.mark(ref, 0, GTF_writing);
    if (pins(act) === 0) {
      rgt.mark(ref, 0, GTF_reading);
      rgt.active.delete(ref);
    }
  }

  /** References one use holds on the frame: general, plus writable type unless read-only. */
  private takeRefs(rd: Domain, frame: number, readonly: boolean): boolean {
    return readonly ? this.pt.getPage(rd, frame) : this.pt.getPageAndType(rd, frame, PGT_writable) === 0;
  }

  private dropRefs(frame: number, readonly: boolean): void {
    if (readonly) this.pt.putPage(frame);
    else this.pt.putPageType(frame);
  }

  // ---- map / unmap (__gnttab_map_grant_ref, __gnttab_unmap_common) ----------------------------

  /** The PTE a host mapping goes into: by linear address, or by machine address (contains_pte). */
  private locatePte(v: VCpu, addr: number, flags: number): { mfn: number; index: number } | undefined {
    if (flags & GNTMAP_contains_pte) {
      if (addr % 8 !== 0) return undefined;
      const mfn = Math.floor(addr / 4096);
      if (!this.pt.getPage(v.domain, mfn)) return undefined;
      if (!this.pt.isLiveTable(mfn, PGT_l1)) {
        this.pt.putPage(mfn);
        return undefined;
      }
      return { mfn, index: (addr % 4096) / 8 };
    }
    if (addr >= 2 ** 32) return undefined; // a 32-bit guest's linear address
    return lockGuestL1(this.pt, v, addr);
  }

  /** grant_to_pte_flags: present, accessed, dirty, NX; RW unless read-only; USER for applications. */
  private grantPte(v: VCpu, frame: number, flags: number): [number, number] {
    let lo = P._PAGE_PRESENT | P._PAGE_ACCESSED | P._PAGE_DIRTY | (((flags >>> 16) & 7) << 9);
    if (flags & GNTMAP_application_map) lo |= P._PAGE_USER;
    if (!(flags & GNTMAP_readonly)) lo |= P._PAGE_RW;
    const hi = Math.floor(frame / 0x100000) | (v.cpu.efer & EFER_NXE ? P.HI_NX : 0);
    return [(((frame % 0x100000) << 12) | lo) >>> 0, hi >>> 0];
  }

  map(v: VCpu, hostAddr: number, flags: number, ref: number, dom: number): { status: number; handle: number; bus: number } {
    const fail = (status: number) => ({ status, handle: 0, bus: 0 });
    const ld = v.domain;
    if (!(flags & (GNTMAP_device_map | GNTMAP_host_map))) return fail(GNTST.bad_gntref);
    const rd = this.host.domain(dom); // by id: DOMID_SELF is not accepted here
    if (!rd || rd.dying) return fail(GNTST.bad_domain);
    const lgt = this.tableOf(ld);
    const handle = lgt.allocHandle();
    if (handle < 0) return fail(GNTST.no_device_space);
    const rgt = this.tableOf(rd);
    const ro = (flags & GNTMAP_readonly) !== 0;
    const frame = this.acquire(rgt, ref, ld.id, ro, true);
    if (frame < 0) {
      this.unpin(rgt, ref, undefined);
      lgt.freeHandle(handle);
      return fail(frame);
    }
    const kinds: ('devR' | 'devW' | 'hostR' | 'hostW')[] = [];
    if (flags & GNTMAP_device_map) kinds.push(ro ? 'devR' : 'devW');
    if (flags & GNTMAP_host_map) kinds.push(ro ? 'hostR' : 'hostW');
    const act = rgt.active.get(ref)!;
    for (const k of kinds) act[k]++;
    let held = 0;
    const undo = (status: number) => {
      while (held-- > 0) this.dropRefs(frame, ro);
      for (const k of kinds) this.unpin(rgt, ref, k);
      lgt.freeHandle(handle);
      return fail(status);
    };
    for (let k = 0; k < kinds.length; k++, held++) if (!this.takeRefs(rd, frame, ro)) return undo(GNTST.general_error);
    if (flags & GNTMAP_host_map) {
      const loc = this.locatePte(v, hostAddr, flags);
      if (!loc) return undo(GNTST.general_error);
      const [olo, ohi] = P.readEntry(this.pt.mem, loc.mfn, loc.index);
      const [lo, hi] = this.grantPte(v, frame, flags);
      P.writeEntry(this.pt.mem, loc.mfn, loc.index, lo, hi);
      this.pt.putPage(loc.mfn);
      this.pt.putPageFromL1e(olo, ohi); // the old mapping goes (create_grant_pv_mapping)
    }
    lgt.maptrack[handle] = { granter: rgt, ref, flags: flags & 0xffff, frame };
    return { status: GNTST.okay, handle, bus: frame * 4096 };
  }

  unmap(v: VCpu, hostAddr: number, bus: number, handle: number): number {
    const ld = v.domain;
    const lgt = this.tableOf(ld);
    const m = Number.isInteger(handle) && handle >= 0 ? lgt.maptrack[handle] : undefined;
    if (!m) return GNTST.bad_handle;
    const rgt = m.granter;
    if (!rgt.active.get(m.ref)) return GNTST.bad_handle;
    if (bus !== 0 && bus !== m.frame * 4096) return GNTST.general_error;
    const ro = (m.flags & GNTMAP_readonly) !== 0;
    let done = 0;
    if (hostAddr !== 0 && m.flags & GNTMAP_host_map) {
      // replace_grant_pv_mapping: the PTE must still map this frame with the grant's rights.
      const loc = this.locatePte(v, hostAddr, m.flags);
      if (!loc) return GNTST.general_error;
      const [olo, ohi] = P.readEntry(this.pt.mem, loc.mfn, loc.index);
      const want = P._PAGE_PRESENT | (ro ? 0 : P._PAGE_RW);
      if (P.pteMfn(olo, ohi) !== m.frame || (olo & (P._PAGE_PRESENT | P._PAGE_RW)) !== want) {
        this.pt.putPage(loc.mfn);
        return GNTST.general_error;
      }
      P.writeEntry(this.pt.mem, loc.mfn, loc.index, 0, 0);
      this.pt.putPage(loc.mfn);
      m.flags &= ~GNTMAP_host_map;
      done |= GNTMAP_host_map;
    }
    if (bus !== 0 && m.flags & GNTMAP_device_map) {
      m.flags &= ~GNTMAP_device_map;
      done |= GNTMAP_device_map;
    }
    if (!(m.flags & (GNTMAP_device_map | GNTMAP_host_map))) lgt.freeHandle(handle);
    if (done & GNTMAP_host_map) {
      this.dropRefs(m.frame, ro);
      this.unpin(rgt, m.ref, ro ? 'hostR' : 'hostW');
    }
    if (done & GNTMAP_device_map) {
      this.dropRefs(m.frame, ro);
      this.unpin(rgt, m.ref, ro ? 'devR' : 'devW');
    }
    return GNTST.okay;
  }

  // ---- copy (gnttab_copy) ---------------------------------------------------------------------

  /**
   * Claim one side of a copy for `ld`: a grant of `domid`, or (without the gref flag) one of the
   * caller's own frames, which Xen allows only as DOMID_SELF.
   */
  private claim(ld: number, d: Domain, isGref: boolean, refOrMfn: number, readonly: boolean): { frame: number; release: () => void } | number {
    if (isGref) {
      const rgt = this.tableOf(d);
      const kind = readonly ? 'hostR' : 'hostW';
      const frame = this.acquire(rgt, refOrMfn, ld, readonly, false);
      if (frame < 0) {
        this.unpin(rgt, refOrMfn, undefined);
        return frame;
      }
      rgt.active.get(refOrMfn)![kind]++;
      if (!this.takeRefs(d, frame, readonly)) {
        this.unpin(rgt, refOrMfn, kind);
        return GNTST.general_error;
      }
      return {
        frame,
        release: () => {
          this.dropRefs(frame, readonly);
          this.unpin(rgt, refOrMfn, kind);
        },
      };
    }
    if (!this.pt.getPage(d, refOrMfn)) return GNTST.bad_page;
    if (!readonly && this.pt.getPageAndType(d, refOrMfn, PGT_writable) !== 0) {
      this.pt.putPage(refOrMfn);
      return GNTST.general_error;
    }
    return {
      frame: refOrMfn,
      release: () => {
        if (!readonly) this.pt.putPageType(refOrMfn);
        this.pt.putPage(refOrMfn);
      },
    };
  }

  /** Resolve a copy side's domain: a gref may name any domain; a frame only DOMID_SELF. */
  private copyDomain(v: VCpu, domid: number, isGref: boolean): Domain | number {
    if (!isGref && domid !== DOMID_SELF) return GNTST.permission_denied;
    const d = domid === DOMID_SELF ? v.domain : this.host.domain(domid);
    return d && !d.dying ? d : GNTST.bad_domain;
  }

  copy(v: VCpu, src: CopySide, dst: CopySide, len: number, flags: number): number {
    const srcGref = (flags & 1) !== 0, dstGref = (flags & 2) !== 0;
    const sd = this.copyDomain(v, src.domid, srcGref);
    if (typeof sd === 'number') return sd;
    const dd = this.copyDomain(v, dst.domid, dstGref);
    if (typeof dd === 'number') return dd;
    const s = this.claim(v.domain.id, sd, srcGref, src.ref, true);
    if (typeof s === 'number') return s;
    const t = this.claim(v.domain.id, dd, dstGref, dst.ref, false);
    if (typeof t === 'number') {
      s.release();
      return t;
    }
    let status: number = GNTST.okay;
    if (src.offset + len > 4096 || dst.offset + len > 4096) status = GNTST.bad_copy_arg;
    else if (len > 0) {
      const mem = this.host.mem;
      mem.writeBytes(t.frame * 4096 + dst.offset, mem.readBytes(s.frame * 4096 + src.offset, len));
    }
    t.release();
    s.release();
    return status;
  }

  // ---- Domain-0's backends --------------------------------------------------------------------

  /**
   * Map a grant of `granter` for Domain-0 (GNTMAP_device_map semantics): the entry must grant
   * domain 0, read-only if it says so. Returns the frame and its release, or a GNTST code.
   */
  mapForeign(granter: number, ref: number, readonly: boolean): ForeignMapping | number {
    const rd = this.host.domain(granter);
    if (!rd || rd.dying) return GNTST.bad_domain;
    const rgt = this.tableOf(rd);
    const frame = this.acquire(rgt, ref, DOM0, readonly, true);
    if (frame < 0) {
      this.unpin(rgt, ref, undefined);
      return frame;
    }
    const kind = readonly ? 'devR' : 'devW';
    rgt.active.get(ref)![kind]++;
    if (!this.takeRefs(rd, frame, readonly)) {
      this.unpin(rgt, ref, kind);
      return GNTST.general_error;
    }
    let live = true;
    return {
      mfn: frame,
      release: () => {
        if (!live) return;
        live = false;
        this.dropRefs(frame, readonly);
        this.unpin(rgt, ref, kind);
      },
    };
  }

  private dom0Claim(domid: number, ref: number, readonly: boolean): { frame: number; release: () => void } | number {
    const d = this.host.domain(domid);
    if (!d || d.dying) return GNTST.bad_domain;
    return this.claim(DOM0, d, true, ref, readonly);
  }

  /** Read `len` bytes at `offset` of a page `domid` granted to Domain-0 (GNTTABOP_copy rules). */
  copyFromGuest(domid: number, ref: number, offset: number, len: number): CopyResult {
    if (!(Number.isInteger(offset) && Number.isInteger(len) && offset >= 0 && len >= 0 && offset + len <= 4096)) return GNTST.bad_copy_arg;
    const c = this.dom0Claim(domid, ref, true);
    if (typeof c === 'number') return c;
    const out = this.host.mem.readBytes(c.frame * 4096 + offset, len);
    c.release();
    return out;
  }

  /** Write `data` at `offset` of a page `domid` granted writable to Domain-0. Returns a GNTST code. */
  copyToGuest(domid: number, ref: number, offset: number, data: Uint8Array): number {
    if (!(Number.isInteger(offset) && offset >= 0 && offset + data.length <= 4096)) return GNTST.bad_copy_arg;
    const c = this.dom0Claim(domid, ref, false);
    if (typeof c === 'number') return c;
    this.host.mem.writeBytes(c.frame * 4096 + offset, data);
    c.release();
    return GNTST.okay;
  }

  // ---- teardown (gnttab_release_mappings) ----------------------------------------------------

  /**
   * A domain is being destroyed: release the grants it holds of others (device mappings drop
   * their references here; host mappings' references go with its page tables), and retire its
   * own table. Returns its grant frames, for the caller to free.
   */
  releaseDomain(d: Domain): number[] {
    const t = d.ext.get('grant') as GrantTable | undefined;
    if (!t) return [];
    t.maptrack.forEach((m, h) => {
      if (!m) return;
      const ro = (m.flags & GNTMAP_readonly) !== 0;
      if (m.flags & GNTMAP_device_map) {
        this.dropRefs(m.frame, ro);
        this.unpin(m.granter, m.ref, ro ? 'devR' : 'devW');
      }
      if (m.flags & GNTMAP_host_map) this.unpin(m.granter, m.ref, ro ? 'hostR' : 'hostW');
      t.freeHandle(h);
    });
    t.dead = true;
    return t.frames;
  }
}

export interface CopySide {
  /** A grant reference, or (without the gref flag) a machine frame of the caller. */
  ref: number;
  domid: number;
  offset: number;
}

const services = new WeakMap<object, GrantTables>();

/** The host's grant-table service (one per host). */
export function grantTablesOf(host: HostContext): GrantTables {
  let g = services.get(host);
  if (!g) services.set(host, (g = new GrantTables(host, pageTypesOf(host))));
  return g;
}
