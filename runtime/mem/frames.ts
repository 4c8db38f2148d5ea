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

/** Free frames as sorted extents [start, end). */
class FreeList {
  private readonly ext: [number, number][] = [];
  count = 0;

  constructor(start: number, end: number) {
    if (end > start) {
      this.ext.push([start, end]);
      this.count = end - start;
    }
  }

  /** Up to `n` frames, from one extent large enough if there is one, else in order. */
  take(n: number, out: number[], below = Infinity): void {
    let idx = this.ext.findIndex(([s, e]) => e - s >= n && s + n <= below);
    while (out.length < n && this.ext.length) {
      if (idx < 0) idx = 0;
      const e = this.ext[idx]!;
      if (e[0] >= below) return;
      const k = Math.min(n - out.length, e[1] - e[0], below - e[0]);
      for (let j = 0; j < k; j++) out.push(e[0] + j);
      e[0] += k;
      this.count -= k;
      if (e[0] === e[1]) this.ext.splice(idx, 1);
      idx = -1;
    }
  }

  /** Give a frame back, merging with its neighbours. */
  put(mfn: number): void {
    const ext = this.ext;
    let lo = 0, hi = ext.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ext[mid]![0] < mfn) lo = mid + 1;
      else hi = mid;
    }
    const prev = ext[lo - 1], next = ext[lo];
    if (prev && prev[1] === mfn) {
      prev[1]++;
      if (next && next[0] === prev[1]) {
        prev[1] = next[1];
        ext.splice(lo, 1);
      }
    } else if (next && next[0] === mfn + 1) next[0] = mfn;
    else ext.splice(lo, 0, [mfn, mfn + 1]);
    this.count++;
  }
}

export class FrameTable {
  /** Owner domid per frame (two-level: 1024 frames per chunk); absent chunk = all free. */
  private readonly owners: (Int32Array | undefined)[];
  /**
   * Two pools, as Xen's xenheap and domheap: low frames (below 4 GiB) kept for pages whose
   * machine address a 32-bit guest reads from a 32-bit field (shared_info), and the rest for
   * guest memory, which falls back to the low pool only when the rest is exhausted.
   */
  private readonly low: FreeList;
  private readonly high: FreeList;
  private readonly lowEnd: number;
  private readonly owned = new Map<number, number>();

  constructor(readonly mem: MachineMemory, reservedLow = 256) {
    this.owners = new Array(Math.ceil(mem.totalFrames / 1024));
    // Frames below `reservedLow` (1 MiB) stay the hypervisor's, as Xen keeps low memory.
    const total = mem.totalFrames;
    this.lowEnd = Math.min(total, reservedLow + Math.min(65536, Math.max(16, Math.floor(total / 64))), 1 << 20);
    this.low = new FreeList(reservedLow, this.lowEnd);
    this.high = new FreeList(this.lowEnd, total);
  }

  get freeFrames(): number {
    return this.low.count + this.high.count;
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

  private claim(domid: number, mfns: number[]): number[] {
    for (const mfn of mfns) this.setOwner(mfn, domid);
    this.owned.set(domid, this.count(domid) + mfns.length);
    return mfns;
  }

  /** Allocate `n` frames for `domid`, preferring one contiguous extent. Throws OutOfMemoryError. */
  allocate(domid: number, n: number): number[] {
    if (n > this.freeFrames) throw new OutOfMemoryError(`cannot allocate ${n} frames: ${this.freeFrames} free`);
    const out: number[] = [];
    this.high.take(n, out);
    if (out.length < n) this.low.take(n, out);
    return this.claim(domid, out);
  }

  /**
   * One frame below `limit` (an MFN) for `domid`: pages whose machine address a 32-bit guest
   * reads from a 32-bit field (start_info.shared_info) must sit below 4 GiB.
   */
  allocateBelow(domid: number, limit: number): number {
    const out: number[] = [];
    this.low.take(1, out, limit);
    if (!out.length) this.high.take(1, out, limit);
    if (!out.length) throw new OutOfMemoryError(`no free frame below frame ${limit}`);
    return this.claim(domid, out)[0]!;
  }

  /** Return a frame to the free pool; its contents are dropped. */
  release(mfn: number): void {
    const domid = this.owner(mfn);
    if (domid === DOMID_FREE) return;
    this.setOwner(mfn, DOMID_FREE);
    this.mem.release(mfn);
    this.owned.set(domid, this.count(domid) - 1);
    (mfn < this.lowEnd ? this.low : this.high).put(mfn);
  }

  /** Hand a frame to another domain (grant transfer, migration). */
  transfer(mfn: number, to: number): void {
    const from = this.owner(mfn);
    this.owned.set(from, this.count(from) - 1);
    this.setOwner(mfn, to);
    this.owned.set(to, this.count(to) + 1);
  }
}
