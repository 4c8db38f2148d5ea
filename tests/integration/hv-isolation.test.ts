/**
 * Isolation fuzz (issue "Runtime II", Proof): guests made of random bytes and guests issuing
 * random hypercalls with random arguments run beside a `ticker` domain; the host process never
 * throws and the ticker's console is exactly what it would be alone. XENOFORM_FUZZ_CASES
 * raises the count (npm run fuzz does).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Host } from '../../runtime/host.ts';
import { loadXenImage, type XenImage } from '../../runtime/boot/elf.ts';

const TICKER = readFileSync(new URL('../../guests/build/ticker.elf', import.meta.url));
const HELLO = readFileSync(new URL('../../guests/build/hello.elf', import.meta.url));
const HCFUZZ = readFileSync(new URL('../../guests/build/hcfuzz.elf', import.meta.url));
const CASES = Number(process.env.XENOFORM_FUZZ_CASES ?? 2000);

/** A deterministic PRNG (xorshift32) so a failing case can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed | 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** The hello kernel with its code replaced by random bytes from the entry point on. */
function randomKernel(seed: number): XenImage {
  const img = loadXenImage(HELLO);
  const next = rng(seed);
  const segments = img.segments.map((s) => {
    if (!(s.flags & 1)) return s; // only the executable segment
    const data = new Uint8Array(s.data);
    const from = Math.max(0, img.entry - s.vaddr);
    for (let k = from; k < data.length; k++) {
      // Keep the hypercall page as the builder fills it; randomize everything else.
      if (img.hypercallPage !== undefined && s.vaddr + k >= img.hypercallPage && s.vaddr + k < img.hypercallPage + 4096) continue;
      data[k] = next() & 0xff;
    }
    return { ...s, data };
  });
  return { ...img, segments };
}

function tickerOutput(n: number): string {
  return 'ticker: ready\n' + Array.from({ length: n }, (_, k) => `tick ${k + 1}\n`).join('');
}

describe('isolation fuzz: hostile guests beside a ticker', () => {
  it(`${CASES} random-code and random-hypercall guests never disturb the host or the ticker`, () => {
    const host = new Host({ clock: 'virtual' });
    const ticker = host.createDomain({ name: 'ticker', kernel: TICKER, memoryMiB: 16 });
    const log = host.console(ticker.id)!;
    let crashed = 0, poweredOff = 0, survived = 0;
    const batch = 25;
    for (let base = 0; base < CASES; base += batch) {
      const doms = [];
      for (let k = base; k < Math.min(CASES, base + batch); k++) {
        const fuzzHypercalls = k % 4 === 3;
        doms.push(
          host.createDomain({
            name: `fuzz-${k}`,
            kernel: fuzzHypercalls ? HCFUZZ : randomKernel(k + 1),
            memoryMiB: 4,
            cmdline: `seed=${k + 1} calls=300`,
          }),
        );
      }
      host.runFor(0.05e9);
      for (const d of doms) {
        if (d.shutdownReason === 3) crashed++;
        else if (d.isShutdown) poweredOff++;
        else survived++;
        host.destroy(d.id);
      }
    }
    // Let the ticker reach a known number of ticks; its output must be exactly a lone ticker's.
    const t = host.clock.now();
    host.runFor(Math.ceil(t / 1e9 + 1.5) * 1e9 - t);
    expect(ticker.isShutdown).toBe(false);
    const text = log.text();
    const n = (text.match(/^tick /gm) ?? []).length;
    expect(n).toBeGreaterThan(0);
    expect(text).toBe(tickerOutput(n));
    expect(crashed + poweredOff + survived).toBe(CASES);
    expect(crashed).toBeGreaterThan(0);
  }, 300_000);
});
