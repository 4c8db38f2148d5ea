/**
 * multicall 13 (xen.h struct multicall_entry { ulong op, result, args[6]; }, 32 bytes on
 * i386): each entry runs as if called directly; its result is written back.
 */
import { NO_RESULT, type HypercallEntry } from './types.ts';
import { readU32, writeU32 } from '../guestmem.ts';
import { callHypercall } from '../hypercall.ts';
import * as E from '../errno.ts';

const MAX_CALLS = 4096;

export const MULTICALL_HYPERCALLS: HypercallEntry[] = [
  [
    13,
    'multicall',
    (v, list, count) => {
      if (count > MAX_CALLS) return -E.EINVAL;
      for (let k = 0; k < count; k++) {
        const e = list + k * 32;
        const op = readU32(v, e);
        const args = [0, 1, 2, 3, 4].map((n) => readU32(v, e + 8 + n * 4));
        // Nested multicalls and iret (which rewrites the caller's frame) are refused.
        const res = op === 13 || op === 23 ? -E.EINVAL : callHypercall(v, op, args[0]!, args[1]!, args[2]!, args[3]!, args[4]!);
        writeU32(v, e + 4, res === NO_RESULT ? 0 : res);
        if (v.domain.isShutdown) break;
      }
      return 0;
    },
  ],
];
