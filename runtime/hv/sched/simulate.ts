/**
 * A simulated host for the credit scheduler, on virtual time: pick → pretend the unit ran →
 * charge → advance. Used by the tests and (later) the scheduler benchmark; no wall clock.
 *
 * It drives the scheduler the way runtime/host.ts does — a slice ends early at the next timer
 * (here: a vCPU's wake-up) — and also honours wake()'s tickle, preempting the pCPU it names.
 */
import { TimerQueue } from '../timers.ts';
import { CreditScheduler, type CreditOptions, type SchedUnit } from './credit.ts';

/** A vCPU whose `runnable` reads are counted (to prove the scheduler does not scan blocked units). */
export class SimVcpu implements SchedUnit {
  reads = 0;
  private up = true;
  constructor(
    readonly domainId: number,
    readonly vcpuId = 0,
  ) {}
  get runnable(): boolean {
    this.reads++;
    return this.up;
  }
  set runnable(v: boolean) {
    this.up = v;
  }
}

export interface Workload {
  domid: number;
  weight?: number;
  cap?: number;
  vcpus?: number;
  /** I/O-bound: run this long, then block for `blockNs`. Absent: CPU-bound. */
  burstNs?: number;
  blockNs?: number;
  /** First wake-up (the vCPU starts blocked until then); Infinity = blocked throughout. */
  firstWakeNs?: number;
}

export interface SimOptions {
  durationNs: number;
  sched?: CreditOptions;
  /** The host's own cap on a slice (runtime/host.ts uses 10 ms). */
  maxSliceNs?: number;
}

export interface SimResult {
  sched: CreditScheduler;
  vcpus: SimVcpu[];
  /** CPU time per domain, ns. */
  cpuNs: Map<number, number>;
  /** Fraction of one pCPU each domain got. */
  share(domid: number): number;
  /** Idle time summed over pCPUs, ns. */
  idleNs: number;
  /** Per domain: wake → first picked, ns, one entry per wake-up. */
  latencies: Map<number, number[]>;
  picks: number;
}

interface VState {
  v: SimVcpu;
  w: Workload;
  left: number; // of the current burst
  wokeAt: number; // -1 when no wake-up is waiting to be picked
}

interface PState {
  cur: VState | null;
  startedAt: number;
  until: number;
}

export function simulate(workloads: Workload[], opts: SimOptions): SimResult {
  const pcpus = opts.sched?.pcpus ?? 1;
  const sched = new CreditScheduler(opts.sched);
  const timers = new TimerQueue();
  const states = new Map<SchedUnit, VState>();
  const latencies = new Map<number, number[]>();
  const dur = opts.durationNs;
  const maxSlice = opts.maxSliceNs ?? Infinity;
  const ps: PState[] = Array.from({ length: pcpus }, () => ({ cur: null, startedAt: 0, until: 0 }));
  let now = 0;
  let idleNs = 0;
  let picks = 0;

  const wake = (st: VState): void => {
    st.v.runnable = true;
    st.left = st.w.burstNs ?? Infinity;
    st.wokeAt = now;
    if (sched.wake(st.v, now)) {
      // __runq_tickle: reschedule the unit's pCPU (or every idle one, in this simple model).
      const home = sched.unitStats(st.v)!.pcpu;
      for (let k = 0; k < pcpus; k++) if (k === home || !ps[k]!.cur) ps[k]!.until = Math.min(ps[k]!.until, now);
    }
  };

  for (const w of workloads) {
    sched.addDomain(w.domid, w.weight, w.cap);
    latencies.set(w.domid, []);
    for (let i = 0; i < (w.vcpus ?? 1); i++) {
      const v = new SimVcpu(w.domid, i);
      const st: VState = { v, w, left: w.burstNs ?? Infinity, wokeAt: -1 };
      states.set(v, st);
      const first = w.firstWakeNs ?? 0;
      v.runnable = first <= 0;
      sched.insert(v);
      if (first > 0 && first !== Infinity) timers.add(first, () => wake(st));
    }
  }

  for (;;) {
    let p = 0;
    for (let k = 1; k < pcpus; k++) if (ps[k]!.until < ps[p]!.until) p = k;
    const pc = ps[p]!;
    now = pc.until;
    if (now >= dur) {
      // Every pCPU is at the end: charge what is still running.
      for (const q of ps) if (q.cur) sched.charge(q.cur.v, q.until - q.startedAt, q.until);
      break;
    }
    const st = pc.cur;
    if (st) {
      const ran = now - pc.startedAt;
      sched.charge(st.v, ran, now);
      st.left -= ran;
      if (st.left <= 0) {
        st.v.runnable = false;
        sched.sleep(st.v);
        const at = now + st.w.blockNs!;
        timers.add(at, () => wake(st));
      }
    }
    timers.runDue(now);
    const picked = sched.pick(now, p);
    picks++;
    if (!picked) {
      pc.cur = null;
      let ev = sched.nextEventAt(now);
      if (ev <= now) ev = now + 100_000; // work queued elsewhere: poll (multi-pCPU only)
      pc.until = Math.min(timers.nextAt(), ev, dur);
      idleNs += pc.until - now;
      continue;
    }
    const next = states.get(picked.unit)!;
    if (next.wokeAt >= 0) {
      latencies.get(next.w.domid)!.push(now - next.wokeAt);
      next.wokeAt = -1;
    }
    pc.cur = next;
    pc.startedAt = now;
    pc.until = now + Math.min(picked.sliceNs, maxSlice, timers.nextAt() - now, next.left, dur - now);
  }

  const cpuNs = new Map(workloads.map((w) => [w.domid, sched.stats(w.domid).cpuNs]));
  return {
    sched,
    vcpus: [...states.keys()] as SimVcpu[],
    cpuNs,
    share: (domid) => (cpuNs.get(domid) ?? 0) / dur,
    idleNs,
    latencies,
    picks,
  };
}
