/**
 * A pCPU's run queue (credit.c `struct csched_pcpu.runq`).
 *
 * Xen keeps one list sorted by priority and inserts a unit behind every unit of equal or higher
 * priority (`__runq_insert`), so the head is the unit to run and equal priorities take turns.
 * Credit1 has only three time-share priorities, so the same order is three FIFO lists, one per
 * priority: insert, remove and "first" are O(1) whatever the number of units, and a blocked unit
 * is on no list at all.
 */
import { CUnit, PRI_BOOST, PRI_OVER, PRI_UNDER } from './unit.ts';

/** One priority class: an intrusive doubly-linked FIFO. */
export class PrioList {
  head: CUnit | null = null;
  tail: CUnit | null = null;
  length = 0;
  // Keys grow towards the tail and shrink towards the head, so order == key order at all times
  // (used to keep runq order when accounting moves several units between classes).
  private headKey = 0;
  private tailKey = 0;

  pushTail(cu: CUnit): void {
    cu.qList = this;
    cu.qKey = ++this.tailKey;
    cu.qPrev = this.tail;
    cu.qNext = null;
    if (this.tail) this.tail.qNext = cu;
    else this.head = cu;
    this.tail = cu;
    this.length++;
  }

  pushHead(cu: CUnit): void {
    cu.qList = this;
    cu.qKey = --this.headKey;
    cu.qNext = this.head;
    cu.qPrev = null;
    if (this.head) this.head.qPrev = cu;
    else this.tail = cu;
    this.head = cu;
    this.length++;
  }

  remove(cu: CUnit): void {
    if (cu.qPrev) cu.qPrev.qNext = cu.qNext;
    else this.head = cu.qNext;
    if (cu.qNext) cu.qNext.qPrev = cu.qPrev;
    else this.tail = cu.qPrev;
    cu.qList = null;
    cu.qPrev = cu.qNext = null;
    this.length--;
  }
}

function classOf(pri: number): number {
  // BOOST 0 → 0, UNDER -1 → 1, OVER -2 → 2
  if (pri !== PRI_BOOST && pri !== PRI_UNDER && pri !== PRI_OVER) throw new Error(`bad priority ${pri}`);
  return -pri;
}

export class RunQueue {
  /** Indexed by -priority: [BOOST, UNDER, OVER]. */
  readonly classes: readonly [PrioList, PrioList, PrioList] = [new PrioList(), new PrioList(), new PrioList()];

  get length(): number {
    return this.classes[0].length + this.classes[1].length + this.classes[2].length;
  }

  /** __runq_insert: behind every queued unit of equal or higher priority. */
  insert(cu: CUnit): void {
    this.classes[classOf(cu.pri)]!.pushTail(cu);
  }

  /** Ahead of every queued unit of its priority (a unit put back where it was). */
  insertHead(cu: CUnit): void {
    this.classes[classOf(cu.pri)]!.pushHead(cu);
  }

  /** __runq_remove. */
  remove(cu: CUnit): void {
    cu.qList!.remove(cu);
  }

  /** The head of the run queue, or null (credit.c: `__runq_elem(runq->next)`). */
  first(): CUnit | null {
    const [b, u, o] = this.classes;
    return b.head ?? u.head ?? o.head;
  }

  /** The first queued unit of priority strictly below `pri`, or null. */
  firstBelow(pri: number): CUnit | null {
    for (let c = classOf(pri) + 1; c < 3; c++) {
      const h = this.classes[c]!.head;
      if (h) return h;
    }
    return null;
  }
}

export function isQueued(cu: CUnit): boolean {
  return cu.qList !== null;
}
