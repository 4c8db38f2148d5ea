/**
 * Hypercall dispatch (xen-abi.md §1): EAX = number, EBX, ECX, EDX, ESI, EDI = arguments,
 * result in EAX. One table, filled from one file per hypercall family (hc/*.ts); anything
 * not in it returns -ENOSYS. Handlers return a number, or NO_RESULT when they set the
 * guest's registers themselves (iret).
 */
import type { VCpu } from './vcpu.ts';
import { ENOSYS } from './errno.ts';
import { guestCall } from './guestmem.ts';
import { TRAP_HYPERCALLS } from './hc/traps.ts';
import { SCHED_HYPERCALLS } from './hc/sched.ts';
import { CONSOLE_HYPERCALLS } from './hc/console.ts';
import { VERSION_HYPERCALLS } from './hc/version.ts';
import { TIMER_HYPERCALLS } from './hc/timer.ts';
import { EVTCHN_HYPERCALLS } from './hc/evtchn.ts';
import { MULTICALL_HYPERCALLS } from './hc/multicall.ts';
import { EXTRA_HYPERCALLS } from './hc/extra.ts';
import { MMU_HYPERCALLS } from './hc/mmu.ts';
import { MEMORY_HYPERCALLS } from './hc/memory.ts';
import { GRANT_HYPERCALLS } from './hc/grant.ts';

import { NO_RESULT, type HypercallFn } from './hc/types.ts';

export { NO_RESULT };

export const HYPERCALL_NAMES: string[] = new Array(64).fill('');
const TABLE: (HypercallFn | undefined)[] = new Array(64);

for (const family of [TRAP_HYPERCALLS, SCHED_HYPERCALLS, CONSOLE_HYPERCALLS, VERSION_HYPERCALLS, TIMER_HYPERCALLS, EVTCHN_HYPERCALLS, MULTICALL_HYPERCALLS, EXTRA_HYPERCALLS, MMU_HYPERCALLS, MEMORY_HYPERCALLS, GRANT_HYPERCALLS]) {
  for (const [nr, name, fn] of family) {
    if (TABLE[nr]) throw new Error(`hypercall ${nr} (${name}) registered twice`);
    TABLE[nr] = fn;
    HYPERCALL_NAMES[nr] = name;
  }
}

/** Call hypercall `nr` with arguments, as from the guest: -ENOSYS if unknown, -EFAULT on bad pointers. */
export function callHypercall(v: VCpu, nr: number, a1: number, a2: number, a3: number, a4: number, a5: number): number | typeof NO_RESULT {
  const fn = nr >= 0 && nr < TABLE.length ? TABLE[nr] : undefined;
  if (!fn) return -ENOSYS;
  let out: number | typeof NO_RESULT = 0;
  const rc = guestCall(() => {
    out = fn(v, a1 >>> 0, a2 >>> 0, a3 >>> 0, a4 >>> 0, a5 >>> 0);
    return 0;
  });
  return rc !== 0 ? rc : out;
}

/** The int 0x82 trap: arguments from the registers, result to EAX. */
export function hypercall(v: VCpu): void {
  const r = v.cpu.r32;
  const res = callHypercall(v, r[0]! >>> 0, r[3]!, r[1]!, r[2]!, r[6]!, r[7]!);
  if (res !== NO_RESULT) r[0] = res;
}
