/**
 * The console backend Domain-0 runs for each guest (xenconsoled): it drains the guest's
 * xencons_interface out ring into the domain's console log and live listeners, and feeds input
 * into the in ring (io/console.h; layout in xen-abi.md §6). Indices are free-running u32s
 * masked by the ring size; a hostile index (more than a ring's worth outstanding) stops the
 * backend for that domain, never the host.
 */
import type { FramePage } from '../../hv/shared.ts';

const IN = 0;
const IN_SIZE = 1024;
const OUT = 1024;
const OUT_SIZE = 2048;
const IN_CONS = 3072;
const IN_PROD = 3076;
const OUT_CONS = 3080;
const OUT_PROD = 3084;

/** Where console bytes go: a bounded log plus live subscribers. */
export class ConsoleLog {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  private readonly listeners = new Set<(data: Uint8Array) => void>();
  /** Total bytes ever written (a stream position clients can resume from). */
  total = 0;

  constructor(private readonly capacity = 1 << 20) {}

  write(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.bytes += data.length;
    this.total += data.length;
    while (this.bytes > this.capacity && this.chunks.length > 1) this.bytes -= this.chunks.shift()!.length;
    for (const l of this.listeners) l(data);
  }

  /**
   * Carry on from another log (a restored or migrated domain, runtime/migrate): its tail as
   * what is held, and its total, so stream positions go on where they were.
   */
  seed(tail: Uint8Array, total: number): void {
    if (this.total !== 0 || !(total >= tail.length)) return;
    const kept = tail.subarray(Math.max(0, tail.length - this.capacity));
    if (kept.length) this.chunks = [kept];
    this.bytes = kept.length;
    this.total = total;
  }

  /** Everything still held (the last `capacity` bytes). */
  contents(): Uint8Array {
    return Buffer.concat(this.chunks);
  }

  text(): string {
    return Buffer.from(this.contents()).toString('utf8');
  }

  subscribe(fn: (data: Uint8Array) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

export class ConsoleBackend {
  private broken = false;
  private pendingInput: number[] = [];

  constructor(
    private readonly page: FramePage,
    readonly log: ConsoleLog,
    /** Notify the guest (send on Domain-0's end of the console event channel). */
    private readonly notify: () => void,
  ) {}

  get failed(): boolean {
    return this.broken;
  }

  /** The guest signalled its console port: move output out, input in. */
  handle(): void {
    if (this.broken) return;
    const p = this.page;
    const cons = p.u32(OUT_CONS), prod = p.u32(OUT_PROD);
    const avail = (prod - cons) >>> 0;
    if (avail > OUT_SIZE) {
      this.broken = true; // a producer index no honest frontend can have
      return;
    }
    if (avail > 0) {
      const out = new Uint8Array(avail);
      for (let k = 0; k < avail; k++) out[k] = p.u8At(OUT + ((cons + k) & (OUT_SIZE - 1)));
      p.setU32(OUT_CONS, prod);
      this.log.write(out);
    }
    const fed = this.feed();
    if (avail > 0 || fed) this.notify();
  }

  /** Queue input for the guest (console attach). */
  input(data: Uint8Array): void {
    for (const b of data) this.pendingInput.push(b);
    if (this.feed()) this.notify();
  }

  private feed(): boolean {
    if (this.pendingInput.length === 0 || this.broken) return false;
    const p = this.page;
    const cons = p.u32(IN_CONS);
    let prod = p.u32(IN_PROD);
    const used = (prod - cons) >>> 0;
    if (used > IN_SIZE) {
      this.broken = true;
      return false;
    }
    let n = 0;
    while (n < this.pendingInput.length && ((prod - cons) >>> 0) < IN_SIZE) {
      p.setU8(IN + (prod & (IN_SIZE - 1)), this.pendingInput[n++]!);
      prod = (prod + 1) >>> 0;
    }
    this.pendingInput = this.pendingInput.slice(n);
    p.setU32(IN_PROD, prod);
    return n > 0;
  }
}

/**
 * Console output a domain writes through console_io: Xen keeps only printable characters and
 * newlines and flushes a domU's buffer at each newline (xen-abi.md §11).
 */
export class HvConsoleBuffer {
  private line: number[] = [];

  constructor(private readonly sink: (data: Uint8Array) => void) {}

  write(data: Uint8Array): void {
    for (const b of data) {
      if (b === 0x0a) {
        this.line.push(b);
        this.sink(Uint8Array.from(this.line));
        this.line = [];
      } else if ((b >= 0x20 && b < 0x7f) || b === 0x09) this.line.push(b);
      if (this.line.length >= 1024) {
        this.sink(Uint8Array.from(this.line));
        this.line = [];
      }
    }
  }

  flush(): void {
    if (this.line.length) this.sink(Uint8Array.from(this.line));
    this.line = [];
  }
}
