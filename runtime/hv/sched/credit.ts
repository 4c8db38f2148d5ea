/**
 * Xen's credit scheduler (credit1, xen/common/sched/credit.c) as a pure class on the caller's
 * system time (ns). No clock and no timers of its own: the periodic work Xen does in timer
 * handlers — csched_tick every 10 ms on each busy pCPU, csched_acct every 30 ms — is performed
 * when the caller reports time passing (charge, pick, wake), in time order, exactly where the
 * timer would have fired. See README.md for the model and its differences from Xen.
 */
import { CreditAccount, type AcctHooks } from './account.ts';
import { isQueued, RunQueue } from './runq.ts';
import {
  CDom, CUnit, PRI_BOOST, PRI_OVER, PRI_UNDER, priorityName,
  type PriorityName, type SchedUnit,
} from './unit.ts';

export type { SchedUnit, PriorityName } from './unit.ts';

const MS = 1_000_000;
/** CSCHED_CREDITS_PER_MSEC. */
export const CREDITS_PER_MSEC = 10;
/** CSCHED_DEFAULT_WEIGHT. */
export const DEFAULT_WEIGHT = 256;
/** CSCHED_MIN_TIMER = XEN_SYSCTL_SCHED_RATELIMIT_MIN (100 µs): never a shorter slice. */
export const MIN_TIMER_NS = 100_000;
/** XEN_SYSCTL_CSCHED_TSLICE_MIN / _MAX (ms), XEN_SYSCTL_SCHED_RATELIMIT_MAX (µs). */
const TSLICE_MIN_MS = 1, TSLICE_MAX_MS = 1000, RATELIMIT_MAX_NS = 500_000 * 1000;

export interface CreditOptions {
  /** Physical CPUs, each with its own run queue (default 1). */
  pcpus?: number;
  /** csched_tick period (default timeslice / 3 = 10 ms: CSCHED_TICKS_PER_TSLICE). */
  tickNs?: number;
  /** sched_credit_tslice_ms: slice length and accounting period (default 30 ms). */
  timesliceNs?: number;
  /** sched_ratelimit_us: minimum run before preemption (default 1 ms; 0 disables). */
  ratelimitNs?: number;
}

export interface UnitStats {
  credit: number;
  priority: PriorityName;
  active: boolean;
  pcpu: number;
  cpuNs: number;
}

/** Bad scheduler parameters or an unknown domain: the caller's mistake, named. */
export class SchedError extends Error {
  constructor(
    readonly code: 'EINVAL' | 'ENOENT' | 'EEXIST',
    message: string,
  ) {
    super(message);
    this.name = 'SchedError';
  }
}

interface PCpu {
  readonly runq: RunQueue;
  /** curr_on_cpu(): the unit picked last, until the next pick; null = the idle unit. */
  curr: CUnit | null;
}

export class CreditScheduler {
  readonly timesliceNs: number;
  readonly tickNs: number;
  readonly ratelimitNs: number;
  private readonly pcpus: PCpu[];
  private readonly doms = new Map<number, CDom>();
  private readonly units = new Map<SchedUnit, CUnit>();
  private readonly acct: CreditAccount;
  /** Parked units (few: only capped domains' units over their cap). */
  private readonly parked = new Set<CUnit>();
  /** The master ticker: when csched_acct runs next. NaN until the first time is seen. */
  private nextAcctAt = NaN;
  /** Units whose priority the current accounting pass changed while queued. */
  private moved: Array<[CUnit, number]> = [];
  private readonly hooks: AcctHooks;

  constructor(opts: CreditOptions = {}) {
    const ncpus = opts.pcpus ?? 1;
    if (!Number.isInteger(ncpus) || ncpus < 1) throw new SchedError('EINVAL', `pcpus must be an integer >= 1, got ${ncpus}`);
    this.timesliceNs = opts.timesliceNs ?? 30 * MS;
    if (!(this.timesliceNs >= TSLICE_MIN_MS * MS && this.timesliceNs <= TSLICE_MAX_MS * MS))
      throw new SchedError('EINVAL', `timeslice must be ${TSLICE_MIN_MS}..${TSLICE_MAX_MS} ms, got ${this.timesliceNs} ns`);
    // __csched_set_tslice: three ticks per slice, one if the slice is under 3 ms.
    this.tickNs = opts.tickNs ?? (this.timesliceNs < 3 * MS ? this.timesliceNs : this.timesliceNs / 3);
    if (!(this.tickNs > 0 && this.tickNs <= this.timesliceNs)) throw new SchedError('EINVAL', `tick must be in (0, timeslice], got ${this.tickNs} ns`);
    this.ratelimitNs = opts.ratelimitNs ?? MS;
    // csched_sys_cntl: 0, or 100 µs .. 500 ms and not above the slice.
    if (this.ratelimitNs !== 0 && !(this.ratelimitNs >= MIN_TIMER_NS && this.ratelimitNs <= Math.min(RATELIMIT_MAX_NS, this.timesliceNs)))
      throw new SchedError('EINVAL', `ratelimit must be 0 or 100 µs..min(500 ms, timeslice), got ${this.ratelimitNs} ns`);
    this.pcpus = Array.from({ length: ncpus }, () => ({ runq: new RunQueue(), curr: null }));
    const perSlice = Math.round((this.timesliceNs * CREDITS_PER_MSEC) / MS);
    this.acct = new CreditAccount(perSlice, perSlice * ncpus);
    this.hooks = {
      reprioritised: (cu, oldPri) => {
        if (isQueued(cu)) this.moved.push([cu, oldPri]);
      },
      park: (cu) => {
        this.parked.add(cu);
        if (isQueued(cu)) this.runq(cu).remove(cu);
      },
      unpark: (cu) => {
        this.parked.delete(cu);
        // vcpu_wake with the PARKED flag still set: queued, not boosted.
        if (cu.awake && cu.unit.runnable && !isQueued(cu) && this.pcpus[cu.pcpu]!.curr !== cu) this.runq(cu).insert(cu);
      },
    };
  }

  // ---- domains (csched_alloc_domdata, csched_dom_cntl) ----------------------------------------

  addDomain(domid: number, weight = DEFAULT_WEIGHT, cap = 0): void {
    if (this.doms.has(domid)) throw new SchedError('EEXIST', `domain ${domid} is already known to the credit scheduler`);
    checkWeight(domid, weight);
    checkCap(domid, cap);
    this.doms.set(domid, new CDom(domid, weight, cap));
  }

  setDomain(domid: number, p: { weight?: number; cap?: number }): void {
    const d = this.dom(domid);
    if (p.weight !== undefined) checkWeight(domid, p.weight);
    if (p.cap !== undefined) checkCap(domid, p.cap);
    if (p.weight !== undefined) this.acct.setWeight(d, p.weight);
    if (p.cap !== undefined) d.cap = p.cap;
  }

  removeDomain(domid: number): void {
    const d = this.doms.get(domid);
    if (!d) return;
    for (const cu of [...d.units]) this.remove(cu.unit);
    this.acct.forget(d);
    this.doms.delete(domid);
  }

  // ---- units (csched_unit_insert/remove/wake/sleep/yield) -------------------------------------

  insert(u: SchedUnit): void {
    if (this.units.has(u)) return;
    const d = this.dom(u.domainId);
    const cu = new CUnit(u, d, this.placeNew());
    this.units.set(u, cu);
    d.units.add(cu);
    cu.awake = u.runnable;
    if (cu.awake) this.runq(cu).insert(cu); // not boosted: csched_unit_insert uses runq_insert
  }

  remove(u: SchedUnit): void {
    const cu = this.units.get(u);
    if (!cu) return;
    if (isQueued(cu)) this.runq(cu).remove(cu);
    const pc = this.pcpus[cu.pcpu]!;
    if (pc.curr === cu) pc.curr = null;
    this.parked.delete(cu);
    cu.parked = false;
    this.acct.stop(cu);
    cu.removed = true;
    cu.dom.units.delete(cu);
    this.units.delete(u);
  }

  /**
   * csched_unit_wake: `u` became runnable. A unit that wakes UNDER (not parked) is BOOSTed so it
   * preempts CPU-bound units. Returns true when its pCPU should reschedule now (__runq_tickle:
   * the pCPU idles, or the woken unit outranks the running one).
   */
  wake(u: SchedUnit, now: number): boolean {
    this.advance(now);
    const cu = this.units.get(u);
    if (!cu) return false;
    cu.awake = true;
    if (!u.runnable) return false; // vcpu_wake calls the scheduler only for a runnable vCPU
    const pc = this.pcpus[cu.pcpu]!;
    if (pc.curr === cu || isQueued(cu)) return false; // unit_wake_running / unit_wake_onrunq
    if (cu.parked) return false; // paused by its cap: csched_acct unparks it
    if (cu.pri === PRI_UNDER) cu.pri = PRI_BOOST;
    this.runq(cu).insert(cu);
    const cur = pc.curr;
    return cur === null || !this.eligible(cur) || cu.pri > cur.pri;
  }

  /** csched_unit_sleep: blocked or paused. Off the run queue; if running, not put back. */
  sleep(u: SchedUnit): void {
    const cu = this.units.get(u);
    if (!cu) return;
    cu.awake = false;
    if (isQueued(cu)) this.runq(cu).remove(cu);
  }

  /** csched_unit_yield (SCHEDOP_yield): skip the ratelimit; let one lower-priority unit go first. */
  yield(u: SchedUnit): void {
    const cu = this.units.get(u);
    if (cu) cu.yielding = true;
  }

  // ---- scheduling (csched_schedule, burn_credits, csched_tick) -------------------------------

  /** The unit to run next on `pcpu` at `now`, and for how long at most (ns); undefined = idle. */
  pick(now: number, pcpu = 0): { unit: SchedUnit; sliceNs: number } | undefined {
    this.advance(now);
    const pc = this.pcpus[pcpu];
    if (!pc) throw new SchedError('EINVAL', `no pCPU ${pcpu} (the scheduler has ${this.pcpus.length})`);
    const prev = pc.curr;
    const yielding = prev?.yielding ?? false;
    if (prev) {
      prev.yielding = false;
      const runnable = this.eligible(prev);
      // Ratelimit: a unit that has run less than `ratelimit` keeps the pCPU (not if yielding).
      if (runnable && !yielding && this.ratelimitNs > 0 && prev.runtimeNs < this.ratelimitNs) {
        // credit.c tests `runtime < CSCHED_MIN_TIMER`; the stated intent is a floor on the slice.
        const slice = Math.max(this.ratelimitNs - prev.runtimeNs, MIN_TIMER_NS);
        return { unit: prev.unit, sliceNs: this.capSlice(prev, slice, now) };
      }
      if (runnable) pc.runq.insert(prev);
    }
    let next = this.takeFirst(pc);
    if (next && next === prev && yielding) {
      // __runq_insert puts a yielding unit behind one lower-priority unit: run that one first.
      const lower = this.firstEligibleBelow(pc, next.pri);
      if (lower) {
        pc.runq.insertHead(next);
        pc.runq.remove(lower);
        next = lower;
      }
    }
    if ((next === null || next.pri === PRI_OVER) && this.pcpus.length > 1) {
      const stolen = this.steal(pcpu, next?.pri ?? -Infinity);
      if (stolen) {
        if (next) pc.runq.insertHead(next);
        next = stolen;
      }
    }
    pc.curr = next;
    if (!next) return undefined;
    if (next !== prev) next.runtimeNs = 0; // state_entry_time: a new unit was switched in
    return { unit: next.unit, sliceNs: this.capSlice(next, this.timesliceNs, now) };
  }

  /**
   * `u` ran `ranNs` ending at `now` (after pick). Burns its credit (burn_credits), and performs the
   * ticks (csched_tick → csched_unit_acct) and accounting passes (csched_acct) that fell due while
   * it ran, at their own times, so credit is debited up to each one before it fires.
   */
  charge(u: SchedUnit, ranNs: number, now: number): void {
    const cu = this.units.get(u);
    ranNs = Number.isFinite(ranNs) ? Math.max(0, ranNs) : 0;
    const start = now - ranNs;
    this.advance(start);
    if (!cu) return this.advance(now);
    // Ticks fire only on a busy pCPU (csched_schedule stops the ticker when going idle), at
    // multiples of the tick period.
    const running = this.pcpus[cu.pcpu]!.curr === cu;
    let t = start;
    for (;;) {
      const tickAt = running ? (Math.floor(t / this.tickNs) + 1) * this.tickNs : Infinity;
      const at = Math.min(tickAt, this.nextAcctAt);
      if (!(at <= now)) break;
      this.burn(cu, at - t);
      t = at;
      if (at === tickAt) this.tick(cu);
      if (at === this.nextAcctAt) this.account();
    }
    this.burn(cu, now - t);
    cu.cpuNs += ranNs;
    cu.dom.cpuNs += ranNs;
    cu.runtimeNs += ranNs;
  }

  /**
   * Earliest time the scheduler needs the host awake while it idles: when accounting will
   * unpark a runnable capped unit, or `now` if a run queue holds work. Other accounting is
   * replayed lazily (it depends on nothing that changes while no unit runs), so an idle host
   * with only blocked units gets Infinity.
   */
  nextEventAt(now: number): number {
    for (const pc of this.pcpus) if (pc.runq.length > 0) return now;
    for (const cu of this.parked) {
      if (cu.awake && cu.unit.runnable) {
        const at = Number.isNaN(this.nextAcctAt) ? this.firstAcctAfter(now) : this.nextAcctAt;
        return Math.max(now, at);
      }
    }
    return Infinity;
  }

  stats(domid: number): { credit: number; priority: PriorityName; cpuNs: number } {
    const d = this.dom(domid);
    let credit = 0;
    let best = -Infinity;
    let allParked = d.units.size > 0;
    for (const cu of d.units) {
      credit += cu.credit;
      if (!cu.parked) {
        allParked = false;
        best = Math.max(best, cu.pri);
      }
    }
    const priority = allParked ? 'PARKED' : priorityName(best === -Infinity ? PRI_UNDER : best);
    return { credit, priority, cpuNs: d.cpuNs };
  }

  unitStats(u: SchedUnit): UnitStats | undefined {
    const cu = this.units.get(u);
    if (!cu) return undefined;
    return {
      credit: cu.credit,
      priority: cu.parked ? 'PARKED' : priorityName(cu.pri),
      active: cu.active,
      pcpu: cu.pcpu,
      cpuNs: cu.cpuNs,
    };
  }

  // ---- internals --------------------------------------------------------------------------------

  private dom(domid: number): CDom {
    const d = this.doms.get(domid);
    if (!d) throw new SchedError('ENOENT', `domain ${domid} is not known to the credit scheduler (addDomain first)`);
    return d;
  }

  private runq(cu: CUnit): RunQueue {
    return this.pcpus[cu.pcpu]!.runq;
  }

  /** May run now: unit_runnable() and not paused by its cap. */
  private eligible(cu: CUnit): boolean {
    return !cu.removed && cu.awake && !cu.parked && cu.unit.runnable;
  }

  /** Pop the head of the run queue; drop units that stopped being runnable without a sleep(). */
  private takeFirst(pc: PCpu): CUnit | null {
    for (let cu = pc.runq.first(); cu; cu = pc.runq.first()) {
      pc.runq.remove(cu);
      if (this.eligible(cu)) return cu;
      cu.awake = false;
    }
    return null;
  }

  private firstEligibleBelow(pc: PCpu, pri: number): CUnit | null {
    for (let cu = pc.runq.firstBelow(pri); cu; cu = pc.runq.firstBelow(pri)) {
      if (this.eligible(cu)) return cu;
      pc.runq.remove(cu);
      cu.awake = false;
    }
    return null;
  }

  /**
   * csched_load_balance / csched_runq_steal, simplified: an idle pCPU, or one about to run an
   * OVER unit, takes the head of a busy peer's run queue if it outranks what it has.
   * O(pCPUs); no affinity (Xenoform has no vcpu-pin yet) and migration_delay is 0 as in Xen.
   */
  private steal(pcpu: number, pri: number): CUnit | null {
    const n = this.pcpus.length;
    for (let k = 1; k < n; k++) {
      const peer = this.pcpus[(pcpu + k) % n]!;
      if (peer.curr === null) continue; // an idle peer will pick up its own work
      const cu = this.takeFirst(peer);
      if (!cu) continue;
      if (cu.pri > pri) {
        cu.pcpu = pcpu;
        return cu;
      }
      peer.runq.insertHead(cu);
    }
    return null;
  }

  /** csched_res_pick at insert, simplified: the least loaded pCPU. */
  private placeNew(): number {
    let best = 0;
    let load = Infinity;
    this.pcpus.forEach((pc, i) => {
      const l = pc.runq.length + (pc.curr ? 1 : 0);
      if (l < load) [best, load] = [i, l];
    });
    return best;
  }

  /**
   * A capped unit's slice ends at the next accounting, which may park it: Xen deschedules a
   * parked running unit at once (sched_unit_pause_nosync raises SCHEDULE_SOFTIRQ).
   */
  private capSlice(cu: CUnit, slice: number, now: number): number {
    if (cu.dom.cap === 0) return slice;
    return Math.max(1, Math.min(slice, this.nextAcctAt - now));
  }

  /** burn_credits: 10 credits per ms run, the remainder carried in `residual`. */
  private burn(cu: CUnit, ns: number): void {
    if (ns <= 0) return;
    const val = ns * CREDITS_PER_MSEC + cu.residual;
    const credits = Math.floor(val / MS);
    cu.residual = val - credits * MS;
    cu.credit -= credits;
  }

  /** csched_tick → csched_unit_acct on the unit found running. */
  private tick(cu: CUnit): void {
    if (cu.removed) return;
    // Found consuming CPU at a tick: no longer boosted.
    if (cu.pri === PRI_BOOST) cu.pri = PRI_UNDER;
    // Back on the active list if it was idling (credit.c also considers migrating it here).
    this.acct.start(cu);
  }

  private firstAcctAfter(now: number): number {
    return (Math.floor(now / this.timesliceNs) + 1) * this.timesliceNs;
  }

  /** Run every accounting pass due at or before `now` (the master ticker, csched_acct). */
  private advance(now: number): void {
    if (Number.isNaN(this.nextAcctAt)) this.nextAcctAt = this.firstAcctAfter(now);
    while (this.nextAcctAt <= now) {
      if (this.acct.weight === 0) {
        // csched_acct with no active unit only zeroes the balance: skip the idle periods at once.
        this.acct.balance = 0;
        this.nextAcctAt = this.firstAcctAfter(now);
        break;
      }
      this.account();
    }
  }

  private account(): void {
    this.acct.run(this.hooks);
    this.nextAcctAt += this.timesliceNs;
    this.sortRunqs();
  }

  /**
   * csched_runq_sort, applied to the units the pass reprioritised: Xen's sort is a stable
   * partition of the queue (BOOST/UNDER ahead of OVER), so units leaving the BOOST region go to
   * the front of their new class, UNDER→OVER to the front of OVER, OVER→UNDER to the back of
   * UNDER, each group in queue order.
   */
  private sortRunqs(): void {
    const moved = this.moved.filter(([cu]) => isQueued(cu));
    this.moved = [];
    if (moved.length === 0) return;
    moved.sort(([a, pa], [b, pb]) => a.pcpu - b.pcpu || pb - pa || a.qKey - b.qKey);
    for (const [cu] of moved) this.runq(cu).remove(cu);
    // Back to front for the groups that go to a class's head, front to back for the tail.
    for (let k = moved.length - 1; k >= 0; k--) {
      const [cu, oldPri] = moved[k]!;
      if (oldPri > cu.pri) this.runq(cu).insertHead(cu);
    }
    for (const [cu, oldPri] of moved) if (oldPri < cu.pri) this.runq(cu).insert(cu);
  }
}

function checkWeight(domid: number, weight: number): void {
  // xl.cfg cpu_weight: 1..65535 (csched_dom weight is a uint16_t).
  if (!Number.isInteger(weight) || weight < 1 || weight > 65535)
    throw new SchedError('EINVAL', `domain ${domid}: weight must be an integer 1..65535, got ${weight}`);
}

function checkCap(domid: number, cap: number): void {
  // cap is a uint16_t percentage of one CPU; 0 = no cap.
  if (!Number.isInteger(cap) || cap < 0 || cap > 65535)
    throw new SchedError('EINVAL', `domain ${domid}: cap must be an integer percentage 0..65535, got ${cap}`);
}
