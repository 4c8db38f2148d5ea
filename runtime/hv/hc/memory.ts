/**
 * memory_op 12 (xen/include/public/memory.h; xen/common/memory.c do_memory_op,
 * increase_reservation, decrease_reservation, populate_physmap, guest_remove_page): how a
 * balloon driver grows and shrinks a running domain within its maximum reservation.
 *
 * struct xen_memory_reservation, i386: {extent_start handle@0, nr_extents@4, extent_order@8,
 * mem_flags@12, u16 domid@16}, 20 bytes. For a PV (non-translated) guest the extents Xen reads
 * are machine frames for decrease_reservation and pseudo-physical frames for populate_physmap;
 * both increase_reservation and populate_physmap write the new machine frames back.
 *
 * Xen's quirks kept: a reservation op whose struct cannot be read, whose domain does not exist
 * or may not be touched returns the extents done so far (0), not an errno; the high bits of
 * `cmd` (>> 6) are the extent to resume from (MEMOP_EXTENT_SHIFT).
 */
import { DOMID_SELF, type HypercallEntry } from './types.ts';
import type { VCpu } from '../vcpu.ts';
import type { Domain } from '../domain.ts';
import { GuestFault, readU16, readU32, writeU32 } from '../guestmem.ts';
import { handleOkay } from './mmu.ts';
import * as E from '../errno.ts';
import { pageTypesOf, type PageTypes } from '../../mem/pagetype.ts';
import { m2pOf } from '../../mem/m2p.ts';
import { OutOfMemoryError } from '../../mem/frames.ts';

export const XENMEM = {
  increase_reservation: 0,
  decrease_reservation: 1,
  maximum_ram_page: 2,
  current_reservation: 3,
  maximum_reservation: 4,
  populate_physmap: 6,
  exchange: 11,
} as const;
const MEMOP_EXTENT_SHIFT = 6;
const MEMOP_CMD_MASK = (1 << MEMOP_EXTENT_SHIFT) - 1;

/** Frames the hypervisor shares with a domain (shared_info, grant frames): not in tot_pages. */
const xenHeap = new WeakMap<Domain, Set<number>>();

/** Record a hypervisor page owned by (shared with) a domain, so it is not counted as its memory. */
export function noteXenHeapFrame(d: Domain, mfn: number): void {
  let s = xenHeap.get(d);
  if (!s) xenHeap.set(d, (s = new Set()));
  s.add(mfn);
}

/** d->tot_pages: the frames the domain owns, less the hypervisor pages it is lent. */
export function reservationOf(d: Domain): number {
  const frames = d.host.frames;
  let n = frames.count(d.id);
  if (frames.owner(d.sharedInfo.mfn) === d.id) n--;
  for (const mfn of xenHeap.get(d) ?? []) if (mfn !== d.sharedInfo.mfn && frames.owner(mfn) === d.id) n--;
  return n;
}

interface Reservation {
  extents: number;
  nr: number;
  order: number;
  domid: number;
}

function readReservation(v: VCpu, arg: number): Reservation | undefined {
  try {
    return { extents: readU32(v, arg), nr: readU32(v, arg + 4), order: readU32(v, arg + 8), domid: readU16(v, arg + 16) };
  } catch (e) {
    if (e instanceof GuestFault) return undefined;
    throw e;
  }
}

/** Read extent i, or undefined on a fault (the op stops there). */
function readExtent(v: VCpu, r: Reservation, i: number): number | undefined {
  try {
    return readU32(v, r.extents + i * 4);
  } catch (e) {
    if (e instanceof GuestFault) return undefined;
    throw e;
  }
}

function writeExtent(v: VCpu, r: Reservation, i: number, x: number): boolean {
  try {
    writeU32(v, r.extents + i * 4, x);
    return true;
  } catch (e) {
    if (e instanceof GuestFault) return false;
    throw e;
  }
}

/** alloc_domheap_pages for one frame, within max_pages (assign_pages refuses over-allocation). */
function allocFrame(d: Domain): number | undefined {
  if (reservationOf(d) + 1 > d.maxPages) return undefined;
  try {
    return d.host.frames.allocate(d.id, 1)[0];
  } catch (e) {
    if (e instanceof OutOfMemoryError) return undefined;
    throw e;
  }
}

function increaseReservation(v: VCpu, d: Domain, pt: PageTypes, r: Reservation, start: number): number {
  let i = start;
  for (; i < r.nr; i++) {
    const mfn = allocFrame(d);
    if (mfn === undefined) break;
    pt.noteOffP2m(d, mfn); // a PV guest places it itself (MMU_MACHPHYS_UPDATE and its own P2M)
    if (r.extents !== 0 && !writeExtent(v, r, i, mfn)) {
      i++; // the frame is the domain's now even though it was not told (memory.c: goto out)
      break;
    }
  }
  return i;
}

function populatePhysmap(v: VCpu, d: Domain, r: Reservation, start: number): number {
  const m2p = m2pOf(d.host.mem);
  let i = start;
  for (; i < r.nr; i++) {
    const gpfn = readExtent(v, r, i);
    // The host mirrors the domain's P2M: a pfn must fit it and be a hole.
    if (gpfn === undefined || gpfn >= d.p2m.length || d.p2m[gpfn]! >= 0) break;
    const mfn = allocFrame(d);
    if (mfn === undefined) break;
    d.p2m[gpfn] = mfn;
    m2p.set(mfn, gpfn);
    if (!writeExtent(v, r, i, mfn)) {
      i++;
      break;
    }
  }
  return i;
}

function decreaseReservation(v: VCpu, d: Domain, pt: PageTypes, r: Reservation, start: number): number {
  const m2p = m2pOf(d.host.mem);
  let i = start;
  for (; i < r.nr; i++) {
    const mfn = readExtent(v, r, i);
    if (mfn === undefined) break;
    const pfn = m2p.get(mfn);
    if (pt.removePage(d, mfn) !== 0) break;
    // Drop it from the host's mirror of the P2M.
    if (pfn < d.p2m.length && d.p2m[pfn] === mfn) d.p2m[pfn] = -1;
    else {
      const at = d.p2m.indexOf(mfn);
      if (at >= 0) d.p2m[at] = -1;
    }
  }
  return i;
}

function reservationOp(v: VCpu, op: number, start: number, arg: number): number {
  const r = readReservation(v, arg);
  if (!r || r.nr > 0xffffffff >>> MEMOP_EXTENT_SHIFT || start >= r.nr) return start;
  const d = r.domid === DOMID_SELF || r.domid === v.domain.id ? v.domain : undefined;
  if (!d) return start; // unknown domain, or one a domU may not adjust (xsm_memory_adjust_reservation)
  // Only single pages: a contiguous extent cannot be promised from lazily backed memory.
  if (r.order !== 0) return start;
  if (op !== XENMEM.increase_reservation || r.extents !== 0) {
    if (!handleOkay(r.extents, r.nr, 4)) return start;
  }
  const pt = pageTypesOf(d.host);
  let done: number;
  if (op === XENMEM.increase_reservation) done = increaseReservation(v, d, pt, r, start);
  else if (op === XENMEM.populate_physmap) done = populatePhysmap(v, d, r, start);
  else {
    done = decreaseReservation(v, d, pt, r, start);
    if (done > start) pt.flushDomain(d);
  }
  return done;
}

function memoryOp(v: VCpu, cmd: number, arg: number): number {
  const op = cmd & MEMOP_CMD_MASK;
  const start = cmd >>> MEMOP_EXTENT_SHIFT;
  switch (op) {
    case XENMEM.increase_reservation:
    case XENMEM.decrease_reservation:
    case XENMEM.populate_physmap:
      return reservationOp(v, op, start, arg);
  }
  if (start !== 0) return -E.EINVAL;
  switch (op) {
    case XENMEM.maximum_ram_page:
      return v.domain.host.mem.totalFrames;
    case XENMEM.current_reservation:
    case XENMEM.maximum_reservation: {
      const domid = readU16(v, arg);
      if (domid !== DOMID_SELF && domid !== v.domain.id) return v.domain.host.domain(domid) ? -E.EPERM : -E.ESRCH;
      return op === XENMEM.current_reservation ? reservationOf(v.domain) : v.domain.maxPages;
    }
    case XENMEM.exchange:
      return -E.ENOSYS;
    default:
      return -E.ENOSYS;
  }
}

export const MEMORY_HYPERCALLS: HypercallEntry[] = [[12, 'memory_op', (v, cmd, arg) => memoryOp(v, cmd, arg)]];
