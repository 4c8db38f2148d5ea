/**
 * Machine memory: the host's physical frames (Xen's "machine frames", MFNs), 4 KiB each.
 *
 * Frames are backed lazily: a frame costs host RAM only once something touches it. Backing
 * lives in slabs of SLAB_FRAMES frames so that one ArrayBuffer (with one Uint8Array and one
 * DataView) serves many frames; the CPU's TLB caches (slab view, byte offset) per page.
 *
 * mem/ also owns the two per-frame marks every writer must honour (DESIGN.md §2 "Dirty pages"):
 *  - the dirty log (live migration): a frame written since the log was last reset;
 *  - the code mark: a frame holding decoded instructions; writing it invalidates that code.
 * Every write path (CPU slow path, device backends, grant copies, the builder) goes through
 * `noteWrite`, so the marks cannot be bypassed. Writers that keep fast paths (the CPU's TLB)
 * register a listener and drop their write permissions when a mark changes.
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
const SLAB_SHIFT = 8; // 256 frames = 1 MiB per slab
const SLAB_FRAMES = 1 << SLAB_SHIFT;
const CHUNK_SHIFT = 10; // mfn → slot table is two-level, 1024 entries per chunk
const CHUNK = 1 << CHUNK_SHIFT;

/** Where a frame's bytes live: `u8[base .. base+4095]`, same bytes through `dv`. */
export interface FrameView {
  readonly u8: Uint8Array;
  readonly dv: DataView;
  readonly base: number;
}

/** Receives notice that fast write paths to a frame must be dropped (its marks changed). */
export interface WriteWatcher {
  revokeWrites(mfn: number): void;
  revokeAllWrites(): void;
}

/** Invalidates decoded code held for a frame. */
export interface CodeInvalidator {
  invalidateFrame(mfn: number): void;
}

export class MachineMemory {
  readonly totalFrames: number;
  private readonly slabsU8: Uint8Array[] = [];
  private readonly slabsDV: DataView[] = [];
  /** mfn → slot+1 (0 = not backed), two-level. */
  private readonly slotDir: (Int32Array | undefined)[];
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private backed = 0;
  /** Dirty log: one bit per frame, two-level by chunk; undefined chunk = none dirty. */
  private dirtyDir: (Uint8Array | undefined)[];
  private dirtyLogging = false;
  private dirtyUsers = 0;
  /** Code marks: frames that hold decoded instructions. */
  private readonly codeFrames = new Set<number>();
  private readonly watchers = new Set<WriteWatcher>();
  private readonly invalidators = new Set<CodeInvalidator>();

  constructor(totalBytes: number) {
    this.totalFrames = Math.floor(totalBytes / PAGE_SIZE);
    const chunks = Math.ceil(this.totalFrames / CHUNK);
    this.slotDir = new Array(chunks);
    this.dirtyDir = new Array(chunks);
  }

  /** Host bytes actually backing frames (what the host pays). */
  get backedBytes(): number {
    return this.backed * PAGE_SIZE;
  }

  exists(mfn: number): boolean {
    return mfn >= 0 && mfn < this.totalFrames;
  }

  isBacked(mfn: number): boolean {
    const chunk = this.slotDir[mfn >>> CHUNK_SHIFT];
    return chunk !== undefined && chunk[mfn & (CHUNK - 1)] !== 0;
  }

  /** The frame's backing, allocating (zeroed) on first touch. Caller checks `exists`. */
  frame(mfn: number): FrameView {
    const slot = this.slotFor(mfn);
    const slab = slot >>> SLAB_SHIFT;
    return { u8: this.slabsU8[slab]!, dv: this.slabsDV[slab]!, base: (slot & (SLAB_FRAMES - 1)) << PAGE_SHIFT };
  }

  /** Slab index and base for a frame, for callers that cache them (the TLB). */
  slotFor(mfn: number): number {
    const ci = mfn >>> CHUNK_SHIFT;
    let chunk = this.slotDir[ci];
    if (chunk === undefined) chunk = this.slotDir[ci] = new Int32Array(CHUNK);
    const s = chunk[mfn & (CHUNK - 1)]!;
    if (s !== 0) return s - 1;
    const slot = this.allocSlot();
    chunk[mfn & (CHUNK - 1)] = slot + 1;
    this.backed++;
    return slot;
  }

  slabU8(slot: number): Uint8Array {
    return this.slabsU8[slot >>> SLAB_SHIFT]!;
  }

  slabDV(slot: number): DataView {
    return this.slabsDV[slot >>> SLAB_SHIFT]!;
  }

  /** Give a frame's backing back to the host (domain teardown, balloon). Contents are lost. */
  release(mfn: number): void {
    const chunk = this.slotDir[mfn >>> CHUNK_SHIFT];
    if (chunk === undefined) return;
    const s = chunk[mfn & (CHUNK - 1)]!;
    if (s === 0) return;
    if (this.codeFrames.has(mfn)) this.invalidateCode(mfn);
    for (const w of this.watchers) w.revokeWrites(mfn);
    const slot = s - 1;
    this.slabsU8[slot >>> SLAB_SHIFT]!.fill(0, (slot & (SLAB_FRAMES - 1)) << PAGE_SHIFT, ((slot & (SLAB_FRAMES - 1)) + 1) << PAGE_SHIFT);
    chunk[mfn & (CHUNK - 1)] = 0;
    this.freeSlots.push(slot);
    this.backed--;
  }

  private allocSlot(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    const slot = this.nextSlot++;
    const slab = slot >>> SLAB_SHIFT;
    if (slab === this.slabsU8.length) {
      const buf = new ArrayBuffer(SLAB_FRAMES * PAGE_SIZE);
      this.slabsU8.push(new Uint8Array(buf));
      this.slabsDV.push(new DataView(buf));
    }
    return slot;
  }

  // ---- marks -------------------------------------------------------------------------------

  addWatcher(w: WriteWatcher): void {
    this.watchers.add(w);
  }

  removeWatcher(w: WriteWatcher): void {
    this.watchers.delete(w);
  }

  addInvalidator(inv: CodeInvalidator): void {
    this.invalidators.add(inv);
  }

  removeInvalidator(inv: CodeInvalidator): void {
    this.invalidators.delete(inv);
  }

  /**
   * Whether a writer may cache a fast write path to this frame: only when a write would change
   * no mark (the frame holds no code, and it is already dirty or logging is off).
   */
  writeFastOk(mfn: number): boolean {
    if (this.codeFrames.has(mfn)) return false;
    return !this.dirtyLogging || this.isDirty(mfn);
  }

  /** Every write to a frame that did not come through a cached fast path calls this first. */
  noteWrite(mfn: number): void {
    if (this.dirtyLogging) this.setDirty(mfn);
    if (this.codeFrames.size !== 0 && this.codeFrames.has(mfn)) this.invalidateCode(mfn);
  }

  markCode(mfn: number): void {
    if (this.codeFrames.has(mfn)) return;
    this.codeFrames.add(mfn);
    for (const w of this.watchers) w.revokeWrites(mfn);
  }

  isCode(mfn: number): boolean {
    return this.codeFrames.has(mfn);
  }

  private invalidateCode(mfn: number): void {
    this.codeFrames.delete(mfn);
    for (const inv of this.invalidators) inv.invalidateFrame(mfn);
  }

  /** Start (or restart) dirty logging with an empty log: every later first write is recorded. */
  startDirtyLog(): void {
    this.dirtyLogging = true;
    this.dirtyDir = new Array(this.dirtyDir.length);
    for (const w of this.watchers) w.revokeAllWrites();
  }

  /**
   * Shared dirty logging for concurrent users (one per outgoing migration): logging runs while
   * any holds it; each collects only its own frames (collectDirty(mfns)), so one user never
   * clears another's bits. The first begin starts with an empty log.
   */
  beginDirtyLog(): void {
    if (this.dirtyUsers++ === 0) this.startDirtyLog();
  }

  endDirtyLog(): void {
    if (this.dirtyUsers > 0 && --this.dirtyUsers === 0) this.stopDirtyLog();
  }

  stopDirtyLog(): void {
    this.dirtyLogging = false;
    this.dirtyDir = new Array(this.dirtyDir.length);
  }

  get loggingDirty(): boolean {
    return this.dirtyLogging;
  }

  isDirty(mfn: number): boolean {
    const chunk = this.dirtyDir[mfn >>> CHUNK_SHIFT];
    return chunk !== undefined && (chunk[(mfn & (CHUNK - 1)) >>> 3]! & (1 << (mfn & 7))) !== 0;
  }

  private setDirty(mfn: number): void {
    const ci = mfn >>> CHUNK_SHIFT;
    let chunk = this.dirtyDir[ci];
    if (chunk === undefined) chunk = this.dirtyDir[ci] = new Uint8Array(CHUNK >>> 3);
    chunk[(mfn & (CHUNK - 1)) >>> 3]! |= 1 << (mfn & 7);
  }

  /**
   * The frames first written since the last reset, among `mfns` (or all), then reset the log
   * for those reported: the peek-and-clean step of an iterative pre-copy round.
   */
  collectDirty(mfns?: Iterable<number>): number[] {
    const out: number[] = [];
    if (mfns) {
      for (const mfn of mfns) {
        if (this.isDirty(mfn)) {
          out.push(mfn);
          const chunk = this.dirtyDir[mfn >>> CHUNK_SHIFT]!;
          chunk[(mfn & (CHUNK - 1)) >>> 3]! &= ~(1 << (mfn & 7));
        }
      }
    } else {
      for (let ci = 0; ci < this.dirtyDir.length; ci++) {
        const chunk = this.dirtyDir[ci];
        if (!chunk) continue;
        for (let b = 0; b < chunk.length; b++) {
          const byte = chunk[b]!;
          if (byte === 0) continue;
          for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) out.push((ci << CHUNK_SHIFT) | (b << 3) | bit);
        }
      }
      this.dirtyDir = new Array(this.dirtyDir.length);
    }
    if (out.length) for (const w of this.watchers) w.revokeAllWrites();
    return out;
  }

  // ---- convenience accessors for the hypervisor and devices (not hot paths) ----------------

  read8(addr: number): number {
    const f = this.frame(Math.floor(addr / PAGE_SIZE));
    return f.u8[f.base + (addr % PAGE_SIZE)]!;
  }

  /** Copy bytes out of machine memory (may cross frames). */
  readBytes(addr: number, len: number, out: Uint8Array = new Uint8Array(len)): Uint8Array {
    let done = 0;
    while (done < len) {
      const a = addr + done;
      const mfn = Math.floor(a / PAGE_SIZE);
      const off = a % PAGE_SIZE;
      const n = Math.min(len - done, PAGE_SIZE - off);
      if (!this.isBacked(mfn)) out.fill(0, done, done + n);
      else {
        const f = this.frame(mfn);
        out.set(f.u8.subarray(f.base + off, f.base + off + n), done);
      }
      done += n;
    }
    return out;
  }

  /** Copy bytes into machine memory (may cross frames), honouring the marks. */
  writeBytes(addr: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const a = addr + done;
      const mfn = Math.floor(a / PAGE_SIZE);
      const off = a % PAGE_SIZE;
      const n = Math.min(data.length - done, PAGE_SIZE - off);
      this.noteWrite(mfn);
      const f = this.frame(mfn);
      f.u8.set(data.subarray(done, done + n), f.base + off);
      done += n;
    }
  }
}
