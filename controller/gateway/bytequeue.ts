/** A FIFO of bytes held as chunks: append, read a range without consuming, drop from the front. */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** offset into chunks[0] */
  private head = 0;
  length = 0;

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.length += data.length;
  }

  /** Copy of bytes [off, off + len) (clipped to what is held). */
  peek(off: number, len: number): Uint8Array {
    const n = Math.max(0, Math.min(len, this.length - off));
    const out = new Uint8Array(n);
    let skip = off + this.head;
    let at = 0;
    for (const c of this.chunks) {
      if (at >= n) break;
      if (skip >= c.length) {
        skip -= c.length;
        continue;
      }
      const take = Math.min(c.length - skip, n - at);
      out.set(c.subarray(skip, skip + take), at);
      at += take;
      skip = 0;
    }
    return out;
  }

  /** Remove `n` bytes from the front. */
  drop(n: number): void {
    let left = Math.min(n, this.length);
    this.length -= left;
    while (left > 0) {
      const c = this.chunks[0]!;
      const avail = c.length - this.head;
      if (left < avail) {
        this.head += left;
        return;
      }
      left -= avail;
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Take everything (consumes). */
  takeAll(): Uint8Array[] {
    const out = this.chunks.map((c, i) => (i === 0 ? c.subarray(this.head) : c));
    this.chunks = [];
    this.head = 0;
    this.length = 0;
    return out;
  }
}
