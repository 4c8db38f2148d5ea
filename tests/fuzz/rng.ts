/**
 * The fuzzer's seeded PRNG (xoshiro128**, Blackman & Vigna 2018, seeded through splitmix32).
 * Every case has its own stream derived from (seed, case index), so one case replays alone.
 */
import { INTERESTING32 } from './layout.ts';

function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    let x = (seed ^ Math.imul(stream, 0x27d4eb2f)) >>> 0;
    this.a = x = splitmix32(x);
    this.b = x = splitmix32(x ^ stream);
    this.c = x = splitmix32(x + 0x1234567);
    this.d = splitmix32(x ^ 0xdeadbeef) || 1;
  }

  /** 32 random bits, unsigned. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9);
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result >>> 0;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x100000000) * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** Pick by weight: `items` of [weight, value]. */
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of items) total += w;
    let x = (this.u32() / 0x100000000) * total;
    for (const [w, v] of items) {
      if ((x -= w) < 0) return v;
    }
    return items[items.length - 1]![1];
  }

  /** A value of `bits` width that is often on an arithmetic edge. */
  value(bits: 8 | 16 | 32): number {
    const mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
    const r = this.int(10);
    if (r < 4) return (this.pick(INTERESTING32) & mask) >>> 0;
    if (r < 5) {
      // The edge values of the narrower width, sign-extended (0x80 → 0xffffff80).
      const v = this.pick([0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff]);
      return (this.chance(0.5) && v & (v > 0xff ? 0x8000 : 0x80) ? (v > 0xff ? v | 0xffff0000 : v | 0xffffff00) : v) & mask;
    }
    if (r < 6) return this.int(64) & mask;
    return this.u32() & mask;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
