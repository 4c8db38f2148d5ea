/**
 * Timers and vCPU control: set_timer_op 15 and vcpu_op 24 (vcpu.h; common/domain.c
 * do_vcpu_op). Deadlines are absolute system time in ns.
 */
import type { HypercallEntry } from './types.ts';
import type { VCpu } from '../vcpu.ts';
import { readU32, readU64, writeU32, writeU64 } from '../guestmem.ts';
import { VIRQ_TIMER } from '../evtchn.ts';
import * as E from '../errno.ts';
import { initialiseVcpu } from './vcpu-context.ts';

const ETIME = 62;
const VCPUOP_initialise = 0;
const VCPUOP_up = 1;
const VCPUOP_down = 2;
const VCPUOP_is_up = 3;
const VCPUOP_get_runstate_info = 4;
const VCPUOP_set_periodic_timer = 6;
const VCPUOP_stop_periodic_timer = 7;
const VCPUOP_set_singleshot_timer = 8;
const VCPUOP_stop_singleshot_timer = 9;
const VCPU_SSHOTTMR_future = 1;

/** Arm (or with 0, cancel) the one-shot timer; it fires VIRQ_TIMER and wakes a blocked vCPU. */
export function setSingleshot(v: VCpu, deadline: number): void {
  const cancel = v.domain.ext.get(`sshot${v.id}`) as (() => void) | undefined;
  cancel?.();
  v.domain.ext.delete(`sshot${v.id}`);
  v.singleshot = deadline;
  if (deadline === 0) return;
  const fire = (): void => {
    v.singleshot = 0;
    v.domain.ext.delete(`sshot${v.id}`);
    v.domain.evtchn.sendVirq(VIRQ_TIMER, v.id);
  };
  if (deadline <= v.now()) fire();
  else v.domain.ext.set(`sshot${v.id}`, v.domain.host.timer(deadline, fire));
}

function vcpuOp(v: VCpu, cmd: number, id: number, arg: number): number {
  const target = v.domain.vcpus[id];
  if (!target) return -E.ENOENT;
  switch (cmd) {
    case VCPUOP_initialise:
      return initialiseVcpu(v, target, arg);
    case VCPUOP_up:
      if (!target.initialised) return -E.EINVAL;
      if (!target.up) {
        target.up = true;
        v.domain.host.wake(target);
      }
      return 0;
    case VCPUOP_down:
      target.up = false;
      target.cpu.requestStop();
      return 0;
    case VCPUOP_is_up:
      return target.up ? 1 : 0;
    case VCPUOP_get_runstate_info: {
      // struct vcpu_runstate_info { int state; u64 state_entry_time; u64 time[4]; } (4-aligned u64)
      const state = !target.up ? 3 : target.blocked ? 2 : target === v ? 0 : 1;
      writeU32(v, arg, state);
      writeU64(v, arg + 4, Math.floor(v.now()));
      writeU64(v, arg + 12, Math.floor(target.cpuTimeNs));
      writeU64(v, arg + 20, 0);
      writeU64(v, arg + 28, 0);
      writeU64(v, arg + 36, 0);
      return 0;
    }
    case VCPUOP_set_periodic_timer: {
      const period = readU64(v, arg);
      if (period < 1_000_000) return -E.EINVAL; // at least 1 ms (Xen: MILLISECS(1))
      target.periodNs = period;
      target.periodicNext = v.now() + period;
      return 0;
    }
    case VCPUOP_stop_periodic_timer:
      target.periodNs = 0;
      return 0;
    case VCPUOP_set_singleshot_timer: {
      const deadline = readU64(v, arg);
      const flags = readU32(v, arg + 8);
      if (flags & VCPU_SSHOTTMR_future && deadline < v.now()) return -ETIME;
      if (target !== v) return -E.EINVAL;
      setSingleshot(target, deadline);
      return 0;
    }
    case VCPUOP_stop_singleshot_timer:
      if (target !== v) return -E.EINVAL;
      setSingleshot(target, 0);
      return 0;
    default:
      return -E.ENOSYS;
  }
}

export const TIMER_HYPERCALLS: HypercallEntry[] = [
  [15, 'set_timer_op', (v, lo, hi) => (setSingleshot(v, hi * 0x100000000 + lo), 0)],
  [24, 'vcpu_op', (v, cmd, id, arg) => vcpuOp(v, cmd, id, arg)],
];
