/**
 * Credit accounting: the `active_sdom` bookkeeping and `csched_acct` of xen/common/sched/credit.c.
 *
 * Only *active* units earn credit. A unit becomes active when the tick finds it running
 * (csched_unit_acct → __csched_unit_acct_start) and stops being active when its credit passes
 * one timeslice's worth (then the credit is halved). So a vCPU that sleeps is on no list here
 * after a few accounting periods and costs nothing; the accounting pass is O(active units).
 */
import { CDom, CUnit, PRI_OVER, PRI_UNDER } from './unit.ts';

/** What csched_acct does to units besides changing numbers; the scheduler acts on run queues. */
export interface AcctHooks {
  /** Priority of an active unit changed (csched_runq_sort will move it). */
  reprioritised(cu: CUnit, oldPri: number): void;
  /** sched_unit_pause_nosync: the unit went over its cap. `cu.parked` is already set. */
  park(cu: CUnit): void;
  /** sched_unit_unpause: credit went back to >= 0. Called while `cu.parked` is still set. */
  unpark(cu: CUnit): void;
}

/** ceil(a / b) for non-negative a, positive b: credit.c's `(a + (b - 1)) / b`. */
function ceilDiv(a: number, b: number): number {
  return Math.floor((a + (b - 1)) / b);
}

export class CreditAccount {
  /** csched_private.weight: sum of the weights of the active units (weight is per unit). */
  weight = 0;
  /** csched_private.credit_balance: sum of active units' credit after the last pass. */
  balance = 0;
  /** csched_private.active_sdom, most recently activated first (list_add). */
  private head: CDom | null = null;

  constructor(
    /** csched_private.credits_per_tslice (10 per ms × timeslice). */
    readonly creditsPerTslice: number,
    /** csched_private.credit: credits handed out per period, one timeslice per pCPU. */
    readonly credit: number,
  ) {}

  /** __csched_unit_acct_start. */
  start(cu: CUnit): void {
    if (cu.active) return;
    const d = cu.dom;
    cu.active = true;
    d.active.add(cu);
    this.weight += d.weight;
    if (!d.onActiveList) this.linkHead(d);
  }

  /** __csched_unit_acct_stop_locked. */
  stop(cu: CUnit): void {
    if (!cu.active) return;
    const d = cu.dom;
    cu.active = false;
    d.active.delete(cu);
    this.weight -= d.weight;
    if (d.active.size === 0) this.unlink(d);
  }

  /** csched_dom_cntl putinfo: the active weight follows a weight change at once. */
  setWeight(d: CDom, weight: number): void {
    if (d.onActiveList) this.weight += (weight - d.weight) * d.active.size;
    d.weight = weight;
  }

  /**
   * csched_acct: share `credit` among active domains by weight, within each domain's cap and
   * its peak (one timeslice per active unit), then recompute each active unit's priority, park
   * the capped-out, unpark the repaid, clamp at -1 timeslice, retire the over-credited.
   */
  run(hooks: AcctHooks): void {
    const cpt = this.creditsPerTslice;
    const weightTotal = this.weight;
    let creditTotal = this.credit;
    // Converge the balance towards 0 when it drops negative.
    if (this.balance < 0) creditTotal -= this.balance;
    if (weightTotal === 0) {
      this.balance = 0;
      return;
    }
    let weightLeft = weightTotal;
    let balance = 0;
    let xtra = false;
    for (let d = this.head, next: CDom | null; d; d = next) {
      next = d.nextActive; // the body may move or unlink d (list_for_each_safe)
      const n = d.active.size;
      weightLeft -= d.weight * n;

      // At most a domain can run all its active units for a full period, more only while the
      // system-wide balance is negative.
      let peak = n * cpt;
      if (this.balance < 0) peak += ceilDiv(-this.balance * d.weight * n, weightTotal);
      let capPerUnit = 0;
      if (d.cap !== 0) {
        const capCredit = ceilDiv(d.cap * cpt, 100);
        if (capCredit < peak) peak = capCredit;
        capPerUnit = ceilDiv(capCredit, n); // credit.c: "FIXME -- set cap per-unit as well...?"
      }

      let fair = ceilDiv(creditTotal * d.weight * n, weightTotal);
      if (fair < peak) {
        xtra = true;
      } else {
        // Give other domains a chance at the credits this one cannot use.
        if (weightLeft !== 0) creditTotal += ceilDiv((fair - peak) * weightTotal, weightLeft);
        // Keep domains with spare credit at the head so later domains get the leftovers.
        if (xtra) this.moveToHead(d);
        fair = peak;
      }
      fair = ceilDiv(fair, n); // per unit

      for (const cu of d.active) {
        cu.credit += fair;
        let credit = cu.credit;
        const oldPri = cu.pri;
        if (credit < 0) {
          cu.pri = PRI_OVER;
          if (oldPri !== cu.pri) hooks.reprioritised(cu, oldPri);
          // Park running units of capped-out domains.
          if (d.cap !== 0 && credit < -capPerUnit && !cu.parked) {
            cu.parked = true;
            hooks.park(cu);
          }
          if (credit < -cpt) cu.credit = credit = -cpt; // lower bound on credit
        } else {
          cu.pri = PRI_UNDER;
          if (oldPri !== cu.pri) hooks.reprioritised(cu, oldPri);
          if (cu.parked) {
            // Unpause first, then clear the flag, so the wake does not BOOST.
            hooks.unpark(cu);
            cu.parked = false;
          }
          if (credit > cpt) {
            // Upper bound: the unit stops earning; halve it so it restarts a little ahead.
            this.stop(cu);
            cu.credit = credit = Math.trunc(credit / 2);
          }
        }
        balance += credit;
      }
    }
    this.balance = balance;
  }

  private linkHead(d: CDom): void {
    d.onActiveList = true;
    d.prevActive = null;
    d.nextActive = this.head;
    if (this.head) this.head.prevActive = d;
    this.head = d;
  }

  private unlink(d: CDom): void {
    if (!d.onActiveList) return;
    if (d.prevActive) d.prevActive.nextActive = d.nextActive;
    else this.head = d.nextActive;
    if (d.nextActive) d.nextActive.prevActive = d.prevActive;
    d.prevActive = d.nextActive = null;
    d.onActiveList = false;
  }

  private moveToHead(d: CDom): void {
    this.unlink(d);
    this.linkHead(d);
  }

  /** Drop a domain that is being destroyed (its units were stopped one by one already). */
  forget(d: CDom): void {
    for (const cu of [...d.active]) this.stop(cu);
    this.unlink(d);
  }
}
