/**
 * The remaining small hypercalls: set_gdt 2, set_debugreg 8, get_debugreg 9,
 * update_descriptor 10, vm_assist 21 (xen.h; pv/descriptor_tables.c; common/domain.c).
 */
import type { HypercallEntry } from './types.ts';
import { readU32 } from '../guestmem.ts';
import { FIRST_RESERVED_GDT_ENTRY } from '../vcpu.ts';
import * as E from '../errno.ts';

const VMASST_CMD_enable = 0;
const VMASST_CMD_disable = 1;
/** Types a 32-bit PV guest may ask for: 4gb_segments 0, notify 1, writable_pagetables 2, pae_extended_cr3 3. */
const VMASST_VALID = 0b1111;

export const EXTRA_HYPERCALLS: HypercallEntry[] = [
  [
    2,
    'set_gdt',
    (v, frames, entries) => {
      if (entries > FIRST_RESERVED_GDT_ENTRY) return -E.EINVAL;
      const n = Math.ceil(entries / 512);
      const list: number[] = [];
      for (let k = 0; k < n; k++) {
        const mfn = readU32(v, frames + k * 4);
        if (!v.domain.owns(mfn)) return -E.EINVAL;
        list.push(mfn);
      }
      v.gdtFrames = list;
      v.gdtEntries = entries;
      return 0;
    },
  ],
  [
    10,
    'update_descriptor',
    (v, maLo, maHi, dLo, dHi) => {
      const ma = maHi * 0x100000000 + maLo;
      if (ma % 8 !== 0) return -E.EINVAL;
      const mfn = Math.floor(ma / 4096);
      if (!v.domain.owns(mfn)) return -E.EINVAL;
      // check_descriptor: no DPL-0 code or data segments, no gates.
      if (dHi & 0x8000 && (((dHi >>> 13) & 3) === 0 || !(dHi & 0x1000))) return -E.EINVAL;
      const mem = v.domain.host.mem;
      const f = mem.frame(mfn);
      mem.noteWrite(mfn);
      f.dv.setUint32(f.base + (ma % 4096), dLo >>> 0, true);
      f.dv.setUint32(f.base + (ma % 4096) + 4, dHi >>> 0, true);
      return 0;
    },
  ],
  [
    8,
    'set_debugreg',
    (v, reg, value) => {
      if (reg > 7 || reg === 4 || reg === 5) return -E.EINVAL;
      v.cpu.dr[reg] = value;
      return 0;
    },
  ],
  [9, 'get_debugreg', (v, reg) => (reg > 7 || reg === 4 || reg === 5 ? -E.EINVAL : v.cpu.dr[reg]!)],
  [
    21,
    'vm_assist',
    (v, cmd, type) => {
      if (type > 31 || !((1 << type) & VMASST_VALID)) return -E.EINVAL;
      if (cmd === VMASST_CMD_enable) v.domain.vmAssist |= 1 << type;
      else if (cmd === VMASST_CMD_disable) v.domain.vmAssist &= ~(1 << type);
      else return -E.EINVAL;
      return 0;
    },
  ],
];

export { readU32 };
