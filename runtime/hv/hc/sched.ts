/**
 * Scheduling and shutdown (sched.h; common/sched/core.c do_sched_op): sched_op 29 and the old
 * sched_op_compat 6.
 */
import type { HypercallEntry } from './types.ts';
import type { VCpu } from '../vcpu.ts';
import { readU16, readU32, readU64 } from '../guestmem.ts';
import * as E from '../errno.ts';
import { SHUTDOWN_SUSPEND, SHUTDOWN_WATCHDOG } from '../domain.ts';

const SCHEDOP_yield = 0;
const SCHEDOP_block = 1;
const SCHEDOP_shutdown = 2;
const SCHEDOP_poll = 3;
const SCHEDOP_remote_shutdown = 4;
const SCHEDOP_shutdown_code = 5;
const SCHEDOP_watchdog = 6;
const MAX_SHUTDOWN_REASON = 5;
const NR_WATCHDOGS = 2; // Xen's NR_DOMAIN_WATCHDOG_TIMERS

interface Watchdogs {
  cancel: ((() => void) | undefined)[];
}

function shutdown(v: VCpu, reason: number): number {
  if (reason > MAX_SHUTDOWN_REASON) return -E.EINVAL;
  v.cpu.requestStop();
  v.domain.shutdown(reason);
  return 0;
}

/** SCHEDOP_watchdog {u32 id; u32 timeout}: id 0 creates (returns the id), timeout 0 destroys. */
function watchdog(v: VCpu, id: number, timeout: number): number {
  const d = v.domain;
  let w = d.ext.get('watchdogs') as Watchdogs | undefined;
  if (!w) d.ext.set('watchdogs', (w = { cancel: [] }));
  const arm = (slot: number): void => {
    w!.cancel[slot]?.();
    w!.cancel[slot] = d.host.timer(v.now() + timeout * 1e9, () => {
      d.host.log(d, `watchdog ${slot + 1} expired`);
      d.shutdown(SHUTDOWN_WATCHDOG);
    });
  };
  if (id === 0) {
    for (let slot = 0; slot < NR_WATCHDOGS; slot++) {
      if (w.cancel[slot] === undefined) {
        if (timeout === 0) return -E.EINVAL;
        arm(slot);
        return slot + 1;
      }
    }
    return -E.EEXIST;
  }
  const slot = id - 1;
  if (slot >= NR_WATCHDOGS || w.cancel[slot] === undefined) return -E.EINVAL;
  if (timeout === 0) {
    w.cancel[slot]!();
    w.cancel[slot] = undefined;
  } else arm(slot);
  return 0;
}

function schedOp(v: VCpu, cmd: number, arg: number, compat: boolean): number {
  switch (cmd) {
    case SCHEDOP_yield:
      v.cpu.requestStop();
      return 0;
    case SCHEDOP_block:
      v.block();
      return 0;
    case SCHEDOP_shutdown: {
      const reason = compat ? arg : readU32(v, arg);
      return shutdown(v, reason);
    }
    case SCHEDOP_poll: {
      if (compat) return -E.ENOSYS;
      // struct sched_poll { XEN_GUEST_HANDLE(evtchn_port_t) ports; u32 nr_ports; u64 timeout; }
      const ports = readU32(v, arg);
      const n = readU32(v, arg + 4);
      const timeout = readU64(v, arg + 8);
      if (n > 128) return -E.EINVAL;
      const list: number[] = [];
      for (let k = 0; k < n; k++) {
        const p = readU32(v, ports + k * 4);
        if (!v.domain.evtchn.channel(p)) return -E.EINVAL;
        list.push(p);
      }
      if (list.some((p) => v.domain.evtchn.isPending(p))) return 0;
      v.pollPorts = list;
      v.blocked = true;
      v.cpu.requestStop();
      if (timeout) {
        const cancel = v.domain.host.timer(timeout, () => v.unblock());
        v.onWake = cancel;
      }
      return 0;
    }
    case SCHEDOP_remote_shutdown: {
      // Only a privileged domain may shut down another (xsm_schedop_shutdown).
      const domid = readU16(v, arg);
      void domid;
      return -E.EPERM;
    }
    case SCHEDOP_shutdown_code: {
      const reason = readU32(v, arg);
      if (reason > MAX_SHUTDOWN_REASON) return -E.EINVAL;
      v.domain.ext.set('shutdownCode', reason);
      return 0;
    }
    case SCHEDOP_watchdog:
      return watchdog(v, readU32(v, arg), readU32(v, arg + 4));
    default:
      return -E.ENOSYS;
  }
}

export const SCHED_HYPERCALLS: HypercallEntry[] = [
  [29, 'sched_op', (v, cmd, arg) => schedOp(v, cmd, arg, false)],
  [6, 'sched_op_compat', (v, cmd, arg) => schedOp(v, cmd, arg, true)],
];

export { SHUTDOWN_SUSPEND };
