/** xen_version 17 (version.h; common/kernel.c do_xen_version; xen-abi.md §5 and §11). */
import type { HypercallEntry } from './types.ts';
import { writeBytes, writeU32, readU32 } from '../guestmem.ts';
import * as E from '../errno.ts';

export const XEN_MAJOR = 4;
export const XEN_MINOR = 19;
const EXTRAVERSION = '.0-xenoform';
/** Start of the hypervisor hole for a 32-bit PAE guest (arch-x86/xen-x86_32.h). */
export const HYPERVISOR_VIRT_START = 0xf5800000;
/** XENFEAT_* bits this hypervisor offers in submap 0 (features.h). */
export const XENFEAT_writable_page_tables = 0;
export const XENFEAT_pae_pgdir_above_4gb = 4;
export const FEATURES_0 = (1 << XENFEAT_writable_page_tables) | (1 << XENFEAT_pae_pgdir_above_4gb);

function cstr(s: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(new TextEncoder().encode(s).subarray(0, size - 1));
  return out;
}

export const VERSION_HYPERCALLS: HypercallEntry[] = [
  [
    17,
    'xen_version',
    (v, cmd, arg) => {
      switch (cmd) {
        case 0: // XENVER_version
          return (XEN_MAJOR << 16) | XEN_MINOR;
        case 1: // XENVER_extraversion: char[16]
          writeBytes(v, arg, cstr(EXTRAVERSION, 16));
          return 0;
        case 2: {
          // XENVER_compile_info: compiler[64], compile_by[16], compile_domain[32], compile_date[32]
          const info = new Uint8Array(144);
          info.set(cstr('xenoform (TypeScript)', 64), 0);
          info.set(cstr('xenoform', 16), 64);
          info.set(cstr('xenoform.dev', 32), 80);
          info.set(cstr('2026-11-24', 32), 112);
          writeBytes(v, arg, info);
          return 0;
        }
        case 3: // XENVER_capabilities: char[1024]
          writeBytes(v, arg, cstr('xen-3.0-x86_32p ', 1024));
          return 0;
        case 4: // XENVER_changeset: char[64]
          writeBytes(v, arg, cstr('xenoform', 64));
          return 0;
        case 5: // XENVER_platform_parameters: { ulong virt_start }
          writeU32(v, arg, HYPERVISOR_VIRT_START);
          return 0;
        case 6: {
          // XENVER_get_features: { u32 submap_idx; OUT u32 submap }
          const idx = readU32(v, arg);
          if (idx !== 0) return -E.EINVAL;
          writeU32(v, arg + 4, FEATURES_0);
          return 0;
        }
        case 7: // XENVER_pagesize
          return 4096;
        case 8: {
          // XENVER_guest_handle: xen_domain_handle_t (16-byte UUID)
          const uuid = new Uint8Array(16);
          new DataView(uuid.buffer).setUint32(12, v.domain.id);
          writeBytes(v, arg, uuid);
          return 0;
        }
        default:
          // commandline, build_id and unknown sub-ops are refused to a domU (xsm_xen_version).
          return -E.EPERM;
      }
    },
  ],
];
