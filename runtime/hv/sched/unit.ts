/**
 * The credit scheduler's per-vCPU and per-domain records: `struct csched_unit` and
 * `struct csched_dom` of xen/common/sched/credit.c, with the same field meanings.
 */
import type { PrioList } from './runq.ts';

/** One vCPU, as the scheduler sees it (the host's VCpu implements this). */
export interface SchedUnit {
  readonly domainId: number;
  readonly vcpuId: number;
  /** Up, not blocked, its domain not paused/shut down: may run. */
  readonly runnable: boolean;
}

// Priorities (credit.c CSCHED_PRI_*). Bigger runs first; the idle unit (-64) is "no unit" here.
export const PRI_BOOST = 0; // time-share, just woken
export const PRI_UNDER = -1; // time-share, credit >= 0 at the last accounting
export const PRI_OVER = -2; // time-share, credit < 0 at the last accounting

export type PriorityName = 'BOOST' | 'UNDER' | 'OVER' | 'PARKED';

export function priorityName(pri: number): PriorityName {
  return pri === PRI_BOOST ? 'BOOST' : pri === PRI_UNDER ? 'UNDER' : 'OVER';
}

/** credit.c `struct csched_dom`. */
export class CDom {
  /** Every unit of the domain (for stats and removeDomain). */
  readonly units = new Set<CUnit>();
  /** `active_unit`: the units that earn credit at accounting (csched_acct). */
  readonly active = new Set<CUnit>();
  /** Links in the scheduler-wide `active_sdom` list (see CreditAccount). */
  prevActive: CDom | null = null;
  nextActive: CDom | null = null;
  onActiveList = false;
  /** CPU time of the domain's units, ns (xl list's Time(s)); survives unit removal. */
  cpuNs = 0;

  constructor(
    readonly id: number,
    public weight: number,
    public cap: number,
  ) {}
}

/** credit.c `struct csched_unit`, plus the few facts Xen keeps in `struct sched_unit`. */
export class CUnit {
  pri = PRI_UNDER; // csched_alloc_udata: a new unit starts UNDER with no credit
  credit = 0;
  /** Sub-credit remainder of burn_credits, in credit·ns units (credits × 1 ms). */
  residual = 0;
  /** CSCHED_FLAG_UNIT_PARKED: over its domain's cap; paused until accounting repays it. */
  parked = false;
  /** CSCHED_FLAG_UNIT_YIELD: skip the ratelimit and let a lower-priority unit run once. */
  yielding = false;
  /** Woken and not put to sleep since (the scheduler's side of vcpu_wake / vcpu_sleep). */
  awake = false;
  /** remove() was called: every reference the scheduler still holds is stale. */
  removed = false;
  /** On this domain's `active` set (credit.c: !list_empty(&svc->active_unit_elem)). */
  active = false;

  // Intrusive run-queue links (credit.c runq_elem): O(1) insert/remove.
  qList: PrioList | null = null; // the PrioList this unit is queued on, or null
  qPrev: CUnit | null = null;
  qNext: CUnit | null = null;
  /** Order key within its PrioList: ascending from head to tail (see runq.ts). */
  qKey = 0;

  /** Run time since last switched in: the ratelimit's `runtime` (csched_schedule). */
  runtimeNs = 0;
  cpuNs = 0;

  constructor(
    readonly unit: SchedUnit,
    readonly dom: CDom,
    /** sched_unit_master(): the pCPU whose run queue holds this unit. */
    public pcpu: number,
  ) {}
}
