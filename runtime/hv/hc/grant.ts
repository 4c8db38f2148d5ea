/**
 * grant_table_op 20 `(cmd, uops*, count)` (grant_table.h; common/grant_table.c
 * do_grant_table_op and its compat layer). Argument structs, i386 layout (xen-abi.md §7):
 *   map_grant_ref   {u64 host_addr; u32 flags@8; u32 ref@12; u16 dom@16; OUT i16 status@18;
 *                    OUT u32 handle@20; OUT u64 dev_bus_addr@24}                       32 B
 *   unmap_grant_ref {u64 host_addr; u64 dev_bus_addr@8; u32 handle@16; OUT i16 status@20} 24 B
 *   setup_table     {u16 dom; u32 nr_frames@4; OUT i16 status@8; u32 frame_list@12}    16 B
 *   dump_table      {u16 dom; OUT i16 status@2}                                         4 B
 *   copy            {src {u32 ref|gmfn; u16 domid@4; u16 offset@6}; dest@8;
 *                    u16 len@16; u16 flags@18; OUT i16 status@20}                       24 B
 *   query_size      {u16 dom; OUT u32 nr_frames@4, max_nr_frames@8; OUT i16 status@12} 16 B
 *   set_version     {u32 version}; get_version {u16 dom; OUT u32 version@4}
 * Per-operation results are GNTST_* status codes in the struct; the hypercall itself returns
 * -errno only for what Xen does (bad pointers, bad counts, unknown commands).
 */
import { DOMID_SELF, type HypercallEntry } from './types.ts';
import type { VCpu } from '../vcpu.ts';
import type { Domain } from '../domain.ts';
import { GuestFault, readU16, readU32, writeU16, writeU32 } from '../guestmem.ts';
import { handleOkay } from './mmu.ts';
import * as E from '../errno.ts';
import { GNTST, grantTablesOf, MAX_GRANT_FRAMES, type GrantTables } from '../grant.ts';

export const GNTTABOP = {
  map_grant_ref: 0,
  unmap_grant_ref: 1,
  setup_table: 2,
  dump_table: 3,
  transfer: 4,
  copy: 5,
  query_size: 6,
  unmap_and_replace: 7,
  set_version: 8,
  get_status_frames: 9,
  get_version: 10,
} as const;
const CMD_MASK = 0xfff; // GNTTABOP_CMD_MASK: higher bits carry continuation state

const readU64 = (v: VCpu, va: number): number => readU32(v, va) + readU32(v, va + 4) * 0x100000000;

/** DOMID_SELF or the caller itself; any other existing domain needs privilege (XSM). */
function targetDomain(v: VCpu, dom: number): Domain | 'bad' | 'denied' {
  if (dom === DOMID_SELF || dom === v.domain.id) return v.domain;
  return v.domain.host.domain(dom) ? 'denied' : 'bad';
}

const domainStatus = (t: 'bad' | 'denied'): number => (t === 'bad' ? GNTST.bad_domain : GNTST.permission_denied);

function mapGrantRefs(v: VCpu, g: GrantTables, uop: number, count: number): number {
  for (let i = 0; i < count; i++) {
    const a = uop + i * 32;
    const hostAddr = readU64(v, a), flags = readU32(v, a + 8), ref = readU32(v, a + 12), dom = readU16(v, a + 16);
    const r = g.map(v, hostAddr, flags, ref, dom);
    writeU16(v, a + 18, r.status);
    if (r.status === GNTST.okay) {
      writeU32(v, a + 20, r.handle);
      writeU32(v, a + 24, r.bus % 0x100000000);
      writeU32(v, a + 28, Math.floor(r.bus / 0x100000000));
    }
  }
  return 0;
}

function unmapGrantRefs(v: VCpu, g: GrantTables, uop: number, count: number): number {
  try {
    for (let i = 0; i < count; i++) {
      const a = uop + i * 24;
      const hostAddr = readU64(v, a), bus = readU64(v, a + 8), handle = readU32(v, a + 16);
      writeU16(v, a + 20, g.unmap(v, hostAddr, bus, handle));
    }
  } finally {
    g.pt.flushDomain(v.domain); // gnttab_flush_tlb before the references go
  }
  return 0;
}

function setupTable(v: VCpu, g: GrantTables, uop: number, count: number): number {
  if (count !== 1) return -E.EINVAL;
  const dom = readU16(v, uop), nr = readU32(v, uop + 4), list = readU32(v, uop + 12);
  let status: number = GNTST.okay;
  if (nr > MAX_GRANT_FRAMES) status = GNTST.general_error;
  else {
    if (!handleOkay(list, nr, 4)) return -E.EFAULT;
    const d = targetDomain(v, dom);
    if (typeof d === 'string') status = domainStatus(d);
    else if (!g.grow(d, Math.max(nr, 1))) status = GNTST.general_error;
    else {
      const frames = g.tableOf(d).frames;
      for (let k = 0; k < nr; k++) {
        try {
          writeU32(v, list + k * 4, frames[k]!);
        } catch (e) {
          if (!(e instanceof GuestFault)) throw e;
          status = GNTST.bad_virt_addr;
        }
      }
    }
  }
  writeU16(v, uop + 8, status);
  return 0;
}

function copyOps(v: VCpu, g: GrantTables, uop: number, count: number): number {
  for (let i = 0; i < count; i++) {
    const a = uop + i * 24;
    const src = { ref: readU32(v, a), domid: readU16(v, a + 4), offset: readU16(v, a + 6) };
    const dst = { ref: readU32(v, a + 8), domid: readU16(v, a + 12), offset: readU16(v, a + 14) };
    const len = readU16(v, a + 16), flags = readU16(v, a + 18);
    writeU16(v, a + 20, g.copy(v, src, dst, len, flags));
  }
  return 0;
}

function querySize(v: VCpu, g: GrantTables, uop: number, count: number): number {
  if (count !== 1) return -E.EINVAL;
  const d = targetDomain(v, readU16(v, uop));
  if (typeof d === 'string') {
    writeU16(v, uop + 12, domainStatus(d));
    return 0;
  }
  writeU32(v, uop + 4, Math.max(1, g.tableOf(d).frames.length));
  writeU32(v, uop + 8, MAX_GRANT_FRAMES);
  writeU16(v, uop + 12, GNTST.okay);
  return 0;
}

function grantTableOp(v: VCpu, cmd: number, uop: number, count: number): number {
  if ((count | 0) < 0) return -E.EINVAL;
  if (cmd & ~CMD_MASK) return -E.EINVAL;
  const g = grantTablesOf(v.domain.host);
  switch (cmd) {
    case GNTTABOP.map_grant_ref:
      return handleOkay(uop, count, 32) ? mapGrantRefs(v, g, uop, count) : -E.EFAULT;
    case GNTTABOP.unmap_grant_ref:
      return handleOkay(uop, count, 24) ? unmapGrantRefs(v, g, uop, count) : -E.EFAULT;
    case GNTTABOP.setup_table:
      return setupTable(v, g, uop, count);
    case GNTTABOP.copy:
      return handleOkay(uop, count, 24) ? copyOps(v, g, uop, count) : -E.EFAULT;
    case GNTTABOP.query_size:
      return querySize(v, g, uop, count);
    case GNTTABOP.dump_table: {
      if (count !== 1) return -E.EINVAL;
      const d = targetDomain(v, readU16(v, uop));
      writeU16(v, uop + 2, typeof d === 'string' ? domainStatus(d) : GNTST.okay);
      return 0;
    }
    case GNTTABOP.set_version: {
      const version = readU32(v, uop);
      // Version 2 is not offered: behave as a Xen with gnttab max_ver=1.
      const rc = version === 1 ? 0 : version === 2 ? -E.ENOSYS : -E.EINVAL;
      writeU32(v, uop, 1);
      return rc;
    }
    case GNTTABOP.get_version: {
      const d = targetDomain(v, readU16(v, uop));
      if (d === 'bad') return -E.ESRCH;
      if (d === 'denied') return -E.EPERM;
      writeU32(v, uop + 4, 1);
      return 0;
    }
    default:
      return -E.ENOSYS; // transfer, unmap_and_replace, v2 status frames, swap, cache_flush
  }
}

export const GRANT_HYPERCALLS: HypercallEntry[] = [[20, 'grant_table_op', (v, cmd, uop, count) => grantTableOp(v, cmd, uop, count)]];
