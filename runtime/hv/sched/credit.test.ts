import { describe, expect, it } from 'vitest';
import { CreditScheduler, SchedError } from './credit.ts';
import { simulate, SimVcpu } from './simulate.ts';

const MS = 1_000_000;
const S = 1000 * MS;

/** Within ±10% of `want` (relative). */
function near(got: number, want: number, tol = 0.1): void {
  expect(got).toBeGreaterThanOrEqual(want * (1 - tol));
  expect(got).toBeLessThanOrEqual(want * (1 + tol));
}

describe('credit scheduler: fairness on one pCPU (csched_acct)', () => {
  it('weights 256 and 512, both CPU-bound, get CPU time 1:2 within ±10% over 10 s', () => {
    const r = simulate([{ domid: 1, weight: 256 }, { domid: 2, weight: 512 }], { durationNs: 10 * S });
    near(r.share(2) / r.share(1), 2);
    expect(r.idleNs).toBe(0);
  });

  it('holds 1:2 with the host capping slices at 10 ms', () => {
    const r = simulate([{ domid: 1, weight: 256 }, { domid: 2, weight: 512 }], { durationNs: 10 * S, maxSliceNs: 10 * MS });
    near(r.share(2) / r.share(1), 2);
  });

  it('weights 1:1:2 over three domains give 25% / 25% / 50%', () => {
    const r = simulate(
      [{ domid: 1, weight: 256 }, { domid: 2, weight: 256 }, { domid: 3, weight: 512 }],
      { durationNs: 10 * S },
    );
    near(r.share(1), 0.25);
    near(r.share(2), 0.25);
    near(r.share(3), 0.5);
  });

  it('weight is per active vCPU: a 2-vCPU domain gets twice a 1-vCPU domain of equal weight', () => {
    // csched_acct: credit_fair ∝ sdom->weight × active_unit_count.
    const r = simulate([{ domid: 1, vcpus: 2 }, { domid: 2 }], { durationNs: 10 * S });
    near(r.share(1) / r.share(2), 2);
  });
});

describe('credit scheduler: caps (parking)', () => {
  it('cap 50 alone on the pCPU gets ~50% and the pCPU idles the rest', () => {
    const r = simulate([{ domid: 1, cap: 50 }], { durationNs: 10 * S });
    near(r.share(1), 0.5);
    near(r.idleNs / (10 * S), 0.5);
  });

  it('a parked runnable unit makes nextEventAt the next accounting; unparks without BOOST', () => {
    const s = new CreditScheduler();
    s.addDomain(1, 256, 50);
    const v = new SimVcpu(1);
    s.insert(v);
    let now = 0;
    let sawParked = false;
    while (now < S) {
      const p = s.pick(now);
      if (!p) {
        expect(s.stats(1).priority).toBe('PARKED');
        sawParked = true;
        const at = s.nextEventAt(now);
        expect(at).toBeGreaterThan(now);
        expect(at).toBeLessThanOrEqual(now + 30 * MS); // the next csched_acct
        now = at;
        continue;
      }
      now += p.sliceNs;
      s.charge(v, p.sliceNs, now);
    }
    expect(sawParked).toBe(true);
    expect(s.stats(1).priority).not.toBe('BOOST');
  });

  it('cap 50 holds a heavy domain (weight 1024) to half a CPU against a competitor', () => {
    const r = simulate([{ domid: 1, weight: 1024, cap: 50 }, { domid: 2, weight: 256 }], { durationNs: 10 * S });
    near(r.share(1), 0.5);
    near(r.share(2), 0.5);
    expect(r.idleNs).toBe(0);
  });

  it('cap 25 against an equal-weight competitor gives 25% / 75%', () => {
    const r = simulate([{ domid: 1, cap: 25 }, { domid: 2 }], { durationNs: 10 * S });
    near(r.share(1), 0.25);
    near(r.share(2), 0.75);
  });
});

describe('credit scheduler: blocked and waking units (BOOST)', () => {
  it('a blocked domain costs nothing: no CPU, not active, the other gets the whole pCPU', () => {
    const r = simulate([{ domid: 1, firstWakeNs: Infinity }, { domid: 2 }], { durationNs: 2 * S });
    expect(r.cpuNs.get(1)).toBe(0);
    expect(r.share(2)).toBe(1);
    expect(r.sched.unitStats(r.vcpus[0]!)!.active).toBe(false);
  });

  it('an I/O-bound domain (1 ms run, 9 ms block) is BOOSTed and picked at once on every wake', () => {
    const r = simulate(
      [{ domid: 1, burstNs: 1 * MS, blockNs: 9 * MS, firstWakeNs: 1 * S }, { domid: 2 }],
      { durationNs: 10 * S },
    );
    expect(r.cpuNs.get(1)).toBeGreaterThan(0);
    const lat = r.latencies.get(1)!;
    expect(lat.length).toBeGreaterThan(800); // ~900 wakes in 9 s
    expect(Math.max(...lat)).toBe(0); // the CPU-bound domain had run > ratelimit each time
    near(r.share(1), 0.09); // it got all it asked for
    near(r.share(2), 0.91);
  });

  it('with a period out of phase with the tick, most wakes are still immediate (credit1 sampling)', () => {
    // Credit1 makes a unit active (earning) only when a tick finds it running. An I/O-bound unit
    // that is sampled after a long unsampled spell rejoins with a debt, is OVER for a period or
    // two (no BOOST), and waits for the CPU-bound unit's slice: Xen behaves the same.
    const r = simulate(
      [{ domid: 1, burstNs: 1 * MS, blockNs: 2.3 * MS, firstWakeNs: 1 }, { domid: 2 }],
      { durationNs: 10 * S },
    );
    const lat = [...r.latencies.get(1)!].sort((x, y) => x - y);
    expect(lat.length).toBeGreaterThan(2000);
    expect(lat[Math.floor(lat.length * 0.95)]).toBeLessThanOrEqual(MS);
    expect(r.share(1)).toBeGreaterThan(0.2); // it asks for 1/3.3 ≈ 30%
  });

  it('waking UNDER gives BOOST; a tick that finds it running demotes it to UNDER', () => {
    const s = new CreditScheduler();
    s.addDomain(1);
    const v = new SimVcpu(1);
    v.runnable = false;
    s.insert(v);
    v.runnable = true;
    s.wake(v, 5 * MS);
    expect(s.stats(1).priority).toBe('BOOST');
    expect(s.pick(5 * MS)?.unit).toBe(v);
    s.charge(v, 3 * MS, 8 * MS); // no tick in (5, 8] ms
    expect(s.stats(1).priority).toBe('BOOST');
    s.charge(v, 3 * MS, 11 * MS); // the 10 ms tick: csched_unit_acct
    expect(s.stats(1).priority).toBe('UNDER');
    expect(s.unitStats(v)!.active).toBe(true);
  });

  it('an OVER unit is not boosted when it wakes', () => {
    const s = new CreditScheduler();
    s.addDomain(1, 1);
    s.addDomain(2, 65535);
    const a = new SimVcpu(1), b = new SimVcpu(2);
    s.insert(a);
    s.insert(b);
    let now = 0;
    // Both CPU-bound for 300 ms: domain 1 (weight 1) overspends and goes OVER.
    while (now < 300 * MS) {
      const p = s.pick(now)!;
      now += p.sliceNs;
      s.charge(p.unit, p.sliceNs, now);
    }
    expect(s.unitStats(a)!.priority).toBe('OVER');
    s.sleep(a);
    a.runnable = false;
    a.runnable = true;
    s.wake(a, now);
    expect(s.unitStats(a)!.priority).toBe('OVER');
  });

  it('ratelimit: a BOOST wake-up waits until the running unit has had 1 ms', () => {
    const s = new CreditScheduler();
    s.addDomain(1);
    s.addDomain(2);
    const a = new SimVcpu(1), b = new SimVcpu(2);
    s.insert(a);
    b.runnable = false;
    s.insert(b);
    expect(s.pick(0)?.unit).toBe(a);
    s.charge(a, 300_000, 300_000);
    b.runnable = true;
    expect(s.wake(b, 300_000)).toBe(true); // tickle: BOOST outranks the running UNDER
    const keep = s.pick(300_000)!;
    expect(keep.unit).toBe(a);
    expect(keep.sliceNs).toBe(700_000);
    s.charge(a, 700_000, MS);
    expect(s.pick(MS)?.unit).toBe(b);
  });

  it('ratelimit 0 lets the BOOST wake-up preempt at once', () => {
    const s = new CreditScheduler({ ratelimitNs: 0 });
    s.addDomain(1);
    s.addDomain(2);
    const a = new SimVcpu(1), b = new SimVcpu(2);
    s.insert(a);
    b.runnable = false;
    s.insert(b);
    s.pick(0);
    s.charge(a, 300_000, 300_000);
    b.runnable = true;
    s.wake(b, 300_000);
    expect(s.pick(300_000)?.unit).toBe(b);
  });
});

describe('credit scheduler: credit bounds (csched_acct clamping)', () => {
  it('a starved active unit is clamped at -1 slice of credit (-300)', () => {
    const r = simulate([{ domid: 1, weight: 1 }, { domid: 2, weight: 65535 }], { durationNs: 3 * S });
    // Domain 1 still runs a little: OVER units run when nothing UNDER is queued.
    expect(r.sched.stats(1).credit).toBeGreaterThanOrEqual(-300 - 300);
    expect(r.sched.stats(1).credit).toBeLessThan(0);
  });

  it('a unit that blocks stops earning once past +1 slice and keeps at most that', () => {
    const s = new CreditScheduler();
    s.addDomain(1);
    const v = new SimVcpu(1);
    s.insert(v);
    s.pick(0);
    s.charge(v, 15 * MS, 15 * MS); // the 10 ms tick makes it active
    expect(s.unitStats(v)!.active).toBe(true);
    v.runnable = false;
    s.sleep(v);
    expect(s.pick(15 * MS)).toBeUndefined();
    expect(s.nextEventAt(15 * MS)).toBe(Infinity); // nothing to wake up for
    s.pick(10 * S); // replays the missed accounting passes
    expect(s.unitStats(v)!.active).toBe(false);
    expect(s.stats(1).credit).toBeLessThanOrEqual(300);
    expect(s.stats(1).credit).toBeGreaterThan(0);
  });
});

describe('credit scheduler: scale', () => {
  it('1,000 mostly-blocked domains and two busy ones: blocked units are never scanned', () => {
    const idle = Array.from({ length: 1000 }, (_, i) => ({
      domid: 10 + i,
      burstNs: 50_000, // a ticker: wakes each second, runs 50 µs, blocks
      blockNs: 1 * S,
      firstWakeNs: 1 + i * 997_000, // spread over the first second
    }));
    const r = simulate([{ domid: 1 }, { domid: 2 }, ...idle], { durationNs: 5 * S });
    near(r.share(1), r.share(2));
    const idleUnits = r.vcpus.filter((v) => v.domainId >= 10);
    const reads = idleUnits.reduce((n, v) => n + v.reads, 0);
    const wakes = [...r.latencies.entries()].filter(([d]) => d >= 10).reduce((n, [, l]) => n + l.length, 0);
    expect(wakes).toBeGreaterThan(4000);
    // `runnable` is read O(1) times per wake-up, never per pick × units (picks × 1000 ≈ 10^7).
    expect(reads / wakes).toBeLessThan(10);
    expect(r.picks * 1000).toBeGreaterThan(100 * reads);
    // Tickers are boosted: picked at once, or once the running unit has had its ratelimit
    // (1 ms, and never a slice under CSCHED_MIN_TIMER = 100 µs).
    const lat = [...r.latencies.entries()].filter(([d]) => d >= 10).flatMap(([, l]) => l).sort((x, y) => x - y);
    expect(lat[Math.floor(lat.length / 2)]).toBe(0);
    expect(lat.at(-1)).toBeLessThanOrEqual(MS + 100_000);
  });
});

describe('credit scheduler: several pCPUs', () => {
  it('three CPU-bound domains on two pCPUs get ~2/3 of a CPU each (load balancing by stealing)', () => {
    const r = simulate([{ domid: 1 }, { domid: 2 }, { domid: 3 }], { durationNs: 10 * S, sched: { pcpus: 2 } });
    for (const d of [1, 2, 3]) near(r.share(d), 2 / 3, 0.15);
    expect(r.idleNs).toBe(0);
  });

  it('two domains on two pCPUs each get a full CPU', () => {
    const r = simulate([{ domid: 1 }, { domid: 2 }], { durationNs: 2 * S, sched: { pcpus: 2 } });
    near(r.share(1), 1, 0.01);
    near(r.share(2), 1, 0.01);
  });
});

describe('credit scheduler: parameters and lifecycle', () => {
  it('refuses bad weights, caps and options with a named error', () => {
    const s = new CreditScheduler();
    expect(() => s.addDomain(1, 0)).toThrow(SchedError);
    expect(() => s.addDomain(1, 65536)).toThrow(/weight must be an integer 1..65535/);
    expect(() => s.addDomain(1, 256, -1)).toThrow(/cap/);
    s.addDomain(1);
    expect(() => s.addDomain(1)).toThrow(/already known/);
    expect(() => s.setDomain(7, { weight: 5 })).toThrow(/domain 7 is not known/);
    expect(() => s.insert(new SimVcpu(9))).toThrow(/domain 9/);
    expect(() => new CreditScheduler({ timesliceNs: 0 })).toThrow(/timeslice/);
    expect(() => new CreditScheduler({ ratelimitNs: 50_000 })).toThrow(/ratelimit/);
  });

  it('setDomain changes the share while running', () => {
    const s = new CreditScheduler();
    s.addDomain(1);
    s.addDomain(2);
    const a = new SimVcpu(1), b = new SimVcpu(2);
    s.insert(a);
    s.insert(b);
    let now = 0;
    const run = (until: number): void => {
      while (now < until) {
        const p = s.pick(now)!;
        now += p.sliceNs;
        s.charge(p.unit, p.sliceNs, now);
      }
    };
    run(2 * S);
    s.setDomain(2, { weight: 768 });
    const a0 = s.stats(1).cpuNs, b0 = s.stats(2).cpuNs;
    run(12 * S);
    near((s.stats(2).cpuNs - b0) / (s.stats(1).cpuNs - a0), 3);
  });

  it('removed units and domains are forgotten; the rest keeps running', () => {
    const s = new CreditScheduler();
    s.addDomain(1);
    s.addDomain(2);
    const a = new SimVcpu(1), b = new SimVcpu(2);
    s.insert(a);
    s.insert(b);
    const p = s.pick(0)!;
    s.charge(p.unit, 30 * MS, 30 * MS);
    s.remove(a);
    s.removeDomain(1);
    expect(() => s.stats(1)).toThrow(/not known/);
    for (let t = 30 * MS; t < 300 * MS; t += 30 * MS) {
      const q = s.pick(t)!;
      expect(q.unit).toBe(b);
      s.charge(b, 30 * MS, t + 30 * MS);
    }
  });

  it('a unit that stops being runnable without sleep() is dropped at pick, not run', () => {
    const s = new CreditScheduler();
    s.addDomain(1);
    const v = new SimVcpu(1);
    s.insert(v);
    v.runnable = false;
    expect(s.pick(0)).toBeUndefined();
    v.runnable = true;
    s.wake(v, 1000);
    expect(s.pick(1000)?.unit).toBe(v);
  });

  it('yield lets a lower-priority unit run first and skips the ratelimit', () => {
    const s = new CreditScheduler();
    s.addDomain(1, 1);
    s.addDomain(2, 65535);
    const a = new SimVcpu(1), b = new SimVcpu(2);
    s.insert(a);
    s.insert(b);
    let now = 0;
    while (now < 300 * MS) {
      const p = s.pick(now)!;
      now += p.sliceNs;
      s.charge(p.unit, p.sliceNs, now);
    }
    // b is UNDER, a is OVER; b runs 200 µs and yields.
    let p = s.pick(now)!;
    while (p.unit !== b) {
      now += p.sliceNs;
      s.charge(p.unit, p.sliceNs, now);
      p = s.pick(now)!;
    }
    expect(s.unitStats(a)!.priority).toBe('OVER');
    s.charge(b, 200_000, now + 200_000);
    now += 200_000;
    s.yield(b);
    expect(s.pick(now)?.unit).toBe(a);
  });
});
