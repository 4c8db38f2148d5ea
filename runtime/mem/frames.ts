/**
 * Machine frame ownership and allocation (Xen's page_info owner field and heap allocator).
 * Every machine frame is free or owned by exactly one domain. Allocation hands out frames from
 * free extents; the backing bytes stay lazy (MachineMemory), so reserving 64 MiB costs nothing
 * until the guest touches it.
 */
import type { MachineMemory } from './machine.ts';

export const DOMID_FREE = -1;
/** Frames owned by the hypervisor itself (Xen's DOMID_XEN). */
export const DOMID_XEN = 0x7ff2;

export class OutOfMemoryError extends Error {
  readonly code = 'ENOMEM';
}

export class FrameTable {
  /** Owner domid per frame (two-level: 1024 frames per chunk); absent chunk = all free. */
  private readonly owners: (Int32Array | undefined)[];
  /** Free extents [start, end), kept sorted by start. */
  private free: [number, number][];
  private freeCount: number;
  private readonly owned = new Map<number, number>();

  constructor(readonly mem: MachineMemory, reservedLow = 256) {
    this.owners = new Array(Math.ceil(mem.totalFrames / 1024));
    // Frames below `reservedLow` (1 MiB) stay the hypervisor's, as Xen keeps low memory.
    this.free = [[reservedLow, mem.totalFrames]];
    this.freeCount = mem.totalFrames - reservedLow;
  }

  get freeFrames(): number {
    return this.freeCount;
  }

  owner(mfn: number): number {
    const chunk = this.owners[mfn >>> 10];
    return chunk === undefined ? DOMID_FREE : chunk[mfn & 1023]!;
  }

  /** Frames owned by a domain. */
  count(domid: number): number {
    return this.owned.get(domid) ?? 0;
  }

  private setOwner(mfn: number, domid: number): void {
    let chunk = this.owners[mfn >>> 10];
    if (chunk === undefined) chunk = this.owners[mfn >>> 10] = new Int32Array(1024).fill(DOMID_FREE);
    chunk[mfn & 1023] = domid;
  }

  /** Allocate `n` frames for `domid`, preferring one contiguous extent. Throws OutOfMemoryError. */
  allocate(domid: number, n: number): number[] {
    if (n > this.freeCount) throw new OutOfMemoryError(`cannot allocate ${n} frames: ${this.freeCount} free`);
    const out: number[] = [];
    // Best effort contiguity: first extent large enough, else take extents in order.
    let idx = this.free.findIndex(([s, e]) => e - s >= n);
    while (out.length < n) {
      if (idx < 0) idx = 0;
      const ext = this.free[idx]!;
      const take = Math.min(n - out.length, ext[1] - ext[0]);
      for (let k = 0; k < take; k++) out.push(ext[0] + k);
      ext[0] += take;
      if (ext[0] === ext[1]) this.free.splice(idx, 1);
      idx = -1;
    }
    for (const mfn of out) this.setOwner(mfn, domid);
    this.freeCount -= n;
    this.owned.set(domid, this.count(domid) + n);
    return out;
  }

  /** Return a frame to the free pool; its contents are dropped. */
  release(mfn: number): void {
    const domid = this.owner(mfn);
    if (domid === DOMID_FREE) return;
    this.setOwner(mfn, DOMID_FREE);
    this.mem.release(mfn);
    this.owned.set(domid, this.count(domid) - 1);
    this.freeCount++;
    // Insert as an extent, merging with neighbours.
    let lo = 0, hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid]![0] < mfn) lo = mid + 1;
      else hi = mid;
    }
    const prev = this.free[lo - 1], next = this.free[lo];
    if (prev && prev[1] === mfn) {
      prev[1]++;
      if (next && next[0] === prev[1]) {
        prev[1] = next[1];
        this.free.splice(lo, 1);
      }
    } else if (next && next[0] === mfn + 1) next[0] = mfn;
    else this.free.splice(lo, 0, [mfn, mfn + 1]);
  }

  /** Hand a frame to another domain (grant transfer, migration). */
  transfer(mfn: number, to: number): void {
    const from = this.owner(mfn);
    this.owned.set(from, this.count(from) - 1);
    this.setOwner(mfn, to);
    this.owned.set(to, this.count(to) + 1);
  }
}
