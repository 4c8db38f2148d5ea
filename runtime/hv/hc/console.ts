/**
 * console_io 18 (xen.h CONSOLEIO_*): a domU's writes go to the hypervisor console, as a debug
 * Xen allows (xen-abi.md §11); Xen strips non-printable characters and buffers until newline,
 * which the host's console sink does per domain.
 */
import type { HypercallEntry } from './types.ts';
import { readBytes } from '../guestmem.ts';
import * as E from '../errno.ts';

const CONSOLEIO_write = 0;
const CONSOLEIO_read = 1;
const MAX_WRITE = 16384;

export const CONSOLE_HYPERCALLS: HypercallEntry[] = [
  [
    18,
    'console_io',
    (v, cmd, count, buf) => {
      if (cmd === CONSOLEIO_write) {
        if (count === 0) return 0;
        const n = Math.min(count, MAX_WRITE);
        v.domain.host.hvConsole(v.domain, readBytes(v, buf, n));
        return 0;
      }
      if (cmd === CONSOLEIO_read) return 0; // no input on the hypervisor console for a domU
      return -E.EINVAL;
    },
  ],
];
