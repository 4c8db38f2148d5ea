/** A min-heap of timers on system time (ns): add returns a cancel function. */
interface Timer {
  at: number;
  fn: () => void;
  live: boolean;
}

export class TimerQueue {
  private heap: Timer[] = [];

  add(at: number, fn: () => void): () => void {
    const t: Timer = { at, fn, live: true };
    const h = this.heap;
    h.push(t);
    let k = h.length - 1;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (h[parent]!.at <= at) break;
      h[k] = h[parent]!;
      k = parent;
    }
    h[k] = t;
    return () => {
      t.live = false;
    };
  }

  /** Earliest live deadline, or Infinity. */
  nextAt(): number {
    while (this.heap.length && !this.heap[0]!.live) this.pop();
    return this.heap.length ? this.heap[0]!.at : Infinity;
  }

  /** Run every timer due at `now` (timers added by a callback for ≤ now run too). */
  runDue(now: number): void {
    while (this.nextAt() <= now) {
      const t = this.pop();
      t.live = false;
      t.fn();
    }
  }

  get size(): number {
    return this.heap.length;
  }

  private pop(): Timer {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      let k = 0;
      for (;;) {
        const l = 2 * k + 1, r = l + 1;
        let m = k;
        const mAt = (i: number): number => (i === k ? last.at : h[i]!.at);
        if (l < h.length && h[l]!.at < mAt(m)) m = l;
        if (r < h.length && h[r]!.at < mAt(m)) m = r;
        if (m === k) break;
        h[k] = h[m]!;
        k = m;
      }
      h[k] = last;
    }
    return top;
  }
}
