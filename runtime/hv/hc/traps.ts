/**
 * Trap and callback registration, stack switching and iret (xen.h; pv/traps.c, pv/callback.c,
 * pv/iret.c): set_trap_table 0, stack_switch 3, set_callbacks 4, fpu_taskswitch 5, iret 23,
 * callback_op 30.
 */
import { fixSelector, NO_RESULT, type HypercallEntry } from './types.ts';
import { readU16, readU32, readU8 } from '../guestmem.ts';
import * as E from '../errno.ts';

const CALLBACKOP_register = 0;
const CALLBACKOP_unregister = 1;
const CALLBACKTYPE_event = 0;
const CALLBACKTYPE_failsafe = 1;
const CALLBACKTYPE_nmi = 4;

export const TRAP_HYPERCALLS: HypercallEntry[] = [
  [
    0,
    'set_trap_table',
    (v, table) => {
      // NULL clears every entry; otherwise entries up to the first with address 0 (xen-abi §11).
      if (table === 0) {
        v.traps.fill(undefined);
        return 0;
      }
      for (let k = 0; k < 256; k++) {
        const a = table + k * 8;
        const eip = readU32(v, a + 4);
        if (eip === 0) break;
        const vector = readU8(v, a);
        v.traps[vector] = { flags: readU8(v, a + 1), cs: fixSelector(readU16(v, a + 2)), eip };
      }
      return 0;
    },
  ],
  [
    3,
    'stack_switch',
    (v, ss, esp) => {
      v.kernelSs = fixSelector(ss);
      v.kernelSp = esp;
      return 0;
    },
  ],
  [
    4,
    'set_callbacks',
    (v, eventCs, eventEip, failsafeCs, failsafeEip) => {
      v.eventCs = fixSelector(eventCs);
      v.eventEip = eventEip;
      v.failsafeCs = fixSelector(failsafeCs);
      v.failsafeEip = failsafeEip;
      v.deliverUpcall();
      return 0;
    },
  ],
  // No FPU: CR0.TS has nothing to guard, so the request is accepted and has no effect.
  [5, 'fpu_taskswitch', () => 0],
  [
    23,
    'iret',
    (v) => {
      const eax = v.iret();
      v.cpu.r32[0] = eax;
      return NO_RESULT;
    },
  ],
  [
    30,
    'callback_op',
    (v, cmd, arg) => {
      if (cmd === CALLBACKOP_register) {
        // struct callback_register { u16 type; u16 flags; { ulong cs; ulong eip; } } (callback.h)
        const type = readU16(v, arg);
        const cs = fixSelector(readU32(v, arg + 4));
        const eip = readU32(v, arg + 8);
        if (type === CALLBACKTYPE_event) {
          v.eventCs = cs;
          v.eventEip = eip;
          v.deliverUpcall();
        } else if (type === CALLBACKTYPE_failsafe) {
          v.failsafeCs = cs;
          v.failsafeEip = eip;
        } else if (type !== CALLBACKTYPE_nmi) return -E.EINVAL;
        return 0;
      }
      if (cmd === CALLBACKOP_unregister) {
        const type = readU16(v, arg);
        if (type === CALLBACKTYPE_event || type === CALLBACKTYPE_failsafe) return -E.EINVAL; // cannot be unregistered
        return type === CALLBACKTYPE_nmi ? 0 : -E.EINVAL;
      }
      return -E.ENOSYS;
    },
  ],
];
