import { describe, expect, it } from 'vitest';
import { createGuest, entry, FIRST_DATA_PFN, L1_RW, TestHost, type Guest } from '../testing.ts';
import { DOMID_SELF } from './types.ts';
import * as E from '../errno.ts';
import { GNTMAP_device_map, GNTMAP_host_map, GNTMAP_readonly, GNTST, GTF_permit_access, GTF_readonly, GTF_reading, GTF_writing, grantTablesOf } from '../grant.ts';
import { GNTTABOP } from './grant.ts';
import { PGT_writable } from '../../mem/pagetype.ts';
import { readU16 } from '../guestmem.ts';

const GRANT_TABLE_OP = 20, UPDATE_VA_MAPPING = 14, MMUEXT_OP = 26, UVMF_INVLPG = 2;
const OP = FIRST_DATA_PFN; // argument structs
const LIST = FIRST_DATA_PFN + 1;
const GT_VA_PFN = 60; // where the granter maps its grant frame
const SHARED = 70; // the granter's page it shares

/** Domain 1 grants, domain 2 maps. The granter's table is set up and mapped at GT_VA_PFN. */
function pair(): { a: Guest; b: Guest; gt: number[] } {
  const host = new TestHost();
  const a = createGuest(host, { id: 1 });
  const b = createGuest(host, { id: 2 });
  a.w32(a.va(OP), DOMID_SELF);
  a.w32(a.va(OP) + 4, 1);
  a.w32(a.va(OP) + 12, a.va(LIST));
  expect(a.call(GRANT_TABLE_OP, GNTTABOP.setup_table, a.va(OP), 1)).toBe(0);
  expect(readU16(a.v, a.va(OP) + 8)).toBe(GNTST.okay);
  const gt = [a.r32(a.va(LIST))];
  expect(a.call(UPDATE_VA_MAPPING, a.va(GT_VA_PFN), ...entry(gt[0]!, L1_RW), UVMF_INVLPG)).toBe(0);
  a.w32(a.va(SHARED), 0x5ea1ed);
  return { a, b, gt };
}

/** Write grant entry `ref` in the granter's (mapped) table. */
function grant(a: Guest, ref: number, domid: number, frame: number, flags = GTF_permit_access): void {
  a.w32(a.va(GT_VA_PFN) + ref * 8 + 4, frame);
  a.w32(a.va(GT_VA_PFN) + ref * 8, (domid << 16) | flags);
}

const entryFlags = (a: Guest, ref: number): number => a.r32(a.va(GT_VA_PFN) + ref * 8) & 0xffff;

/** One map_grant_ref; returns [status, handle, dev_bus_addr]. */
function map(b: Guest, hostVa: number, flags: number, ref: number, dom: number): [number, number, number] {
  const at = b.va(OP);
  b.w32(at, hostVa);
  b.w32(at + 4, 0);
  b.w32(at + 8, flags);
  b.w32(at + 12, ref);
  b.w32(at + 16, dom);
  expect(b.call(GRANT_TABLE_OP, GNTTABOP.map_grant_ref, at, 1)).toBe(0);
  return [(readU16(b.v, at + 18) << 16) >> 16, b.r32(at + 20), b.r32(at + 24)];
}

function unmap(b: Guest, hostVa: number, bus: number, handle: number): number {
  const at = b.va(OP);
  b.w32(at, hostVa);
  b.w32(at + 4, 0);
  b.w32(at + 8, bus);
  b.w32(at + 12, 0);
  b.w32(at + 16, handle);
  expect(b.call(GRANT_TABLE_OP, GNTTABOP.unmap_grant_ref, at, 1)).toBe(0);
  return (readU16(b.v, at + 20) << 16) >> 16;
}

describe('grant_table_op: setup and queries', () => {
  it('setup_table, query_size, versions', () => {
    const { a, b, gt } = pair();
    expect(a.pt.typeOf(gt[0]!)).toBe(PGT_writable); // a grant frame can never become a table
    const q = a.va(OP);
    a.w32(q, DOMID_SELF);
    expect(a.call(GRANT_TABLE_OP, GNTTABOP.query_size, q, 1)).toBe(0);
    expect([a.r32(q + 4), a.r32(q + 8), readU16(a.v, q + 12)]).toEqual([1, 32, 0]);
    a.w32(q, 2);
    expect(a.call(GRANT_TABLE_OP, GNTTABOP.query_size, q, 1)).toBe(0);
    expect((readU16(a.v, q + 12) << 16) >> 16).toBe(GNTST.permission_denied);
    a.w32(q, 9);
    a.call(GRANT_TABLE_OP, GNTTABOP.query_size, q, 1);
    expect((readU16(a.v, q + 12) << 16) >> 16).toBe(GNTST.bad_domain);
    expect(a.call(GRANT_TABLE_OP, GNTTABOP.query_size, q, 2)).toBe(-E.EINVAL);
    expect(a.call(GRANT_TABLE_OP, GNTTABOP.query_size, 0, 1)).toBe(-E.EFAULT);
    // setup_table beyond the limit, bad list pointer.
    a.w32(q, DOMID_SELF);
    a.w32(q + 4, 33);
    a.call(GRANT_TABLE_OP, GNTTABOP.setup_table, q, 1);
    expect((readU16(a.v, q + 8) << 16) >> 16).toBe(GNTST.general_error);
    a.w32(q + 4, 2);
    a.w32(q + 12, 0xf5800000);
    expect(a.call(GRANT_TABLE_OP, GNTTABOP.setup_table, q, 1)).toBe(-E.EFAULT);
    a.w32(q + 12, 0x80000000); // below the hole but not mapped
    expect(a.call(GRANT_TABLE_OP, GNTTABOP.setup_table, q, 1)).toBe(0);
    expect((readU16(a.v, q + 8) << 16) >> 16).toBe(GNTST.bad_virt_addr);
    // Versions: only v1.
    a.w32(q, 2);
    expect(a.call(GRANT_TABLE_OP, GNTTABOP.set_version, q, 1)).toBe(-E.ENOSYS);
    expect(a.r32(q)).toBe(1);
    a.w32(q, 3);
    expect(a.call(GRANT_TABLE_OP, GNTTABOP.set_version, q, 1)).toBe(-E.EINVAL);
    a.w32(q, DOMID_SELF);
    expect(a.call(GRANT_TABLE_OP, GNTTABOP.get_version, q, 1)).toBe(0);
    expect(a.r32(q + 4)).toBe(1);
    a.w32(q, b.d.id);
    expect(a.call(GRANT_TABLE_OP, GNTTABOP.get_version, q, 1)).toBe(-E.EPERM);
    expect(a.call(GRANT_TABLE_OP, GNTTABOP.transfer, q, 1)).toBe(-E.ENOSYS);
    expect(a.call(GRANT_TABLE_OP, 99, q, 1)).toBe(-E.ENOSYS);
    expect(a.call(GRANT_TABLE_OP, GNTTABOP.copy | 0x1000, q, 1)).toBe(-E.EINVAL);
    expect(a.call(GRANT_TABLE_OP, GNTTABOP.map_grant_ref, q, 0x80000000)).toBe(-E.EINVAL);
  });
});

describe('grant_table_op: map and unmap', () => {
  it('maps a granted page into the mapper, marks it in use, and unmaps it', () => {
    const { a, b } = pair();
    const frame = a.mfn(SHARED);
    grant(a, 5, b.d.id, frame);
    const hostVa = b.va(80);
    const [st, handle, bus] = map(b, hostVa, GNTMAP_host_map, 5, a.d.id);
    expect(st).toBe(GNTST.okay);
    expect(bus).toBe(frame * 4096);
    expect(entryFlags(a, 5)).toBe(GTF_permit_access | GTF_reading | GTF_writing);
    b.v.cpu.mmu.invlpg(hostVa);
    expect(b.r32(hostVa)).toBe(0x5ea1ed);
    b.w32(hostVa + 4, 0xb00);
    expect(a.r32(a.va(SHARED) + 4)).toBe(0xb00);
    // Mapped writable: the granter cannot make it a page table.
    expect(a.call(UPDATE_VA_MAPPING, a.va(SHARED), 0, 0, UVMF_INVLPG)).toBe(0);
    a.w32(a.va(OP), 0);
    a.w32(a.va(OP) + 4, frame);
    expect(a.call(MMUEXT_OP, a.va(OP), 1, 0, DOMID_SELF)).toBe(-E.EINVAL);
    // Unmap: wrong address, then right.
    expect(unmap(b, b.va(81), 0, handle)).toBe(GNTST.general_error);
    expect(unmap(b, hostVa, bus + 4096, handle)).toBe(GNTST.general_error);
    expect(unmap(b, hostVa, 0, handle)).toBe(GNTST.okay);
    expect(entryFlags(a, 5)).toBe(GTF_permit_access);
    expect(unmap(b, hostVa, 0, handle)).toBe(GNTST.bad_handle);
    expect(unmap(b, hostVa, 0, 12345)).toBe(GNTST.bad_handle);
    expect(() => b.r32(hostVa)).toThrow(); // the TLB was flushed
    expect(a.pt.typeCount(frame)).toBe(0);
  });

  it('checks refs, domains, flags and read-only grants', () => {
    const { a, b } = pair();
    const frame = a.mfn(SHARED);
    grant(a, 5, b.d.id, frame);
    grant(a, 6, 7, frame); // for domain 7, not 2
    grant(a, 7, b.d.id, frame, GTF_permit_access | GTF_readonly);
    grant(a, 8, b.d.id, b.mfn(SHARED)); // names a frame a does not own
    expect(map(b, b.va(80), GNTMAP_host_map, 9999, a.d.id)[0]).toBe(GNTST.bad_gntref);
    expect(map(b, b.va(80), GNTMAP_host_map, 5, 9)[0]).toBe(GNTST.bad_domain);
    expect(map(b, b.va(80), GNTMAP_host_map, 5, DOMID_SELF)[0]).toBe(GNTST.bad_domain);
    expect(map(b, b.va(80), 0, 5, a.d.id)[0]).toBe(GNTST.bad_gntref);
    expect(map(b, b.va(80), GNTMAP_host_map, 6, a.d.id)[0]).toBe(GNTST.general_error);
    expect(map(b, b.va(80), GNTMAP_host_map, 7, a.d.id)[0]).toBe(GNTST.general_error); // r/o grant, writable map
    expect(map(b, b.va(80), GNTMAP_host_map, 8, a.d.id)[0]).toBe(GNTST.bad_page);
    expect(map(b, 0x80000000, GNTMAP_host_map, 5, a.d.id)[0]).toBe(GNTST.general_error); // no L1 there
    expect(entryFlags(a, 5)).toBe(GTF_permit_access); // failures leave no marks
    const [st, handle] = map(b, b.va(80), GNTMAP_host_map | GNTMAP_readonly, 7, a.d.id);
    expect(st).toBe(GNTST.okay);
    expect(entryFlags(a, 7)).toBe(GTF_permit_access | GTF_readonly | GTF_reading);
    expect(() => b.w32(b.va(80), 1)).toThrow(); // mapped read-only
    expect(unmap(b, b.va(80), 0, handle)).toBe(GNTST.okay);
    // A mapping cannot be taken while another domain holds the entry.
    const [st2, h2] = map(b, b.va(80), GNTMAP_host_map, 5, a.d.id);
    expect(st2).toBe(GNTST.okay);
    expect(grantTablesOf(a.host).mapForeign(a.d.id, 5, true)).toBe(GNTST.general_error);
    expect(unmap(b, b.va(80), 0, h2)).toBe(GNTST.okay);
    expect(b.call(GRANT_TABLE_OP, GNTTABOP.map_grant_ref, 0, 1)).toBe(-E.EFAULT);
  });

  it('device maps report the bus address and are released with the domain', () => {
    const { a, b } = pair();
    const frame = a.mfn(SHARED);
    grant(a, 5, b.d.id, frame);
    const [st, handle, bus] = map(b, 0, GNTMAP_device_map, 5, a.d.id);
    expect(st).toBe(GNTST.okay);
    expect(bus).toBe(frame * 4096);
    expect(a.pt.typeCount(frame)).toBe(2); // the granter's own mapping + the device map
    expect(handle).toBeGreaterThanOrEqual(0);
    b.d.dying = true;
    b.pt.releaseDomain(b.d);
    expect(entryFlags(a, 5)).toBe(GTF_permit_access);
    expect(a.pt.typeCount(frame)).toBe(1);
    expect(a.host.frames.count(2)).toBe(0);
  });
});

describe('grant_table_op: copy', () => {
  /** One gnttab_copy; returns its status. */
  function copy(b: Guest, src: [number, number, number], dst: [number, number, number], len: number, flags: number): number {
    const at = b.va(OP);
    b.w32(at, src[0]);
    b.w32(at + 4, src[1] | (src[2] << 16));
    b.w32(at + 8, dst[0]);
    b.w32(at + 12, dst[1] | (dst[2] << 16));
    b.w32(at + 16, len | (flags << 16));
    expect(b.call(GRANT_TABLE_OP, GNTTABOP.copy, at, 1)).toBe(0);
    return (readU16(b.v, at + 20) << 16) >> 16;
  }

  it('copies between a grant and the caller’s own frame, with Xen’s checks', () => {
    const { a, b } = pair();
    grant(a, 5, b.d.id, a.mfn(SHARED));
    grant(a, 6, b.d.id, a.mfn(SHARED), GTF_permit_access | GTF_readonly);
    const mine = b.mfn(SHARED);
    expect(copy(b, [5, a.d.id, 0], [mine, DOMID_SELF, 8], 4, 1)).toBe(GNTST.okay);
    expect(b.r32(b.va(SHARED) + 8)).toBe(0x5ea1ed);
    b.w32(b.va(SHARED), 0xc0ffee);
    expect(copy(b, [mine, DOMID_SELF, 0], [5, a.d.id, 16], 4, 2)).toBe(GNTST.okay);
    expect(a.r32(a.va(SHARED) + 16)).toBe(0xc0ffee);
    expect(entryFlags(a, 5)).toBe(GTF_permit_access);
    expect(copy(b, [mine, DOMID_SELF, 0], [6, a.d.id, 0], 4, 2)).toBe(GNTST.general_error); // r/o grant
    expect(copy(b, [5, a.d.id, 4090], [mine, DOMID_SELF, 0], 8, 1)).toBe(GNTST.bad_copy_arg);
    expect(copy(b, [99999, a.d.id, 0], [mine, DOMID_SELF, 0], 4, 1)).toBe(GNTST.bad_gntref);
    expect(copy(b, [a.mfn(SHARED), a.d.id, 0], [mine, DOMID_SELF, 0], 4, 0)).toBe(GNTST.permission_denied);
    expect(copy(b, [a.mfn(SHARED), DOMID_SELF, 0], [mine, DOMID_SELF, 0], 4, 0)).toBe(GNTST.bad_page); // not ours
    expect(copy(b, [5, 9, 0], [mine, DOMID_SELF, 0], 4, 1)).toBe(GNTST.bad_domain);
    expect(copy(b, [5, a.d.id, 0], [b.l1s[0]!, DOMID_SELF, 0], 4, 1)).toBe(GNTST.general_error); // dest is a table
    expect(b.call(GRANT_TABLE_OP, GNTTABOP.copy, 0xf57ffff0, 1)).toBe(-E.EFAULT);
  });
});

describe('Domain-0 backends', () => {
  it('mapForeign and copies honour the grant; releasing clears the marks', () => {
    const { a } = pair();
    const g = grantTablesOf(a.host);
    grant(a, 1, 0, a.mfn(SHARED));
    grant(a, 2, 0, a.mfn(SHARED), GTF_permit_access | GTF_readonly);
    grant(a, 3, 5, a.mfn(SHARED));
    const m = g.mapForeign(a.d.id, 1, false);
    expect(typeof m).toBe('object');
    if (typeof m === 'number') return;
    expect(m.mfn).toBe(a.mfn(SHARED));
    expect(entryFlags(a, 1)).toBe(GTF_permit_access | GTF_reading | GTF_writing);
    m.release();
    m.release();
    expect(entryFlags(a, 1)).toBe(GTF_permit_access);
    expect(g.mapForeign(a.d.id, 2, false)).toBe(GNTST.general_error);
    expect(g.mapForeign(a.d.id, 3, true)).toBe(GNTST.general_error);
    expect(g.mapForeign(a.d.id, 100000, true)).toBe(GNTST.bad_gntref);
    expect(g.mapForeign(42, 1, true)).toBe(GNTST.bad_domain);
    const data = g.copyFromGuest(a.d.id, 2, 0, 4);
    expect(data).toEqual(new Uint8Array([0xed, 0xa1, 0x5e, 0]));
    expect(g.copyToGuest(a.d.id, 2, 0, new Uint8Array([1]))).toBe(GNTST.general_error); // read-only grant
    expect(g.copyToGuest(a.d.id, 1, 4094, new Uint8Array([1, 2, 3]))).toBe(GNTST.bad_copy_arg);
    expect(g.copyToGuest(a.d.id, 1, 100, new Uint8Array([7, 0, 0, 0]))).toBe(GNTST.okay);
    expect(a.r32(a.va(SHARED) + 100)).toBe(7);
    expect(entryFlags(a, 1)).toBe(GTF_permit_access);
  });

  it('a granter destroyed while Domain-0 maps its page: the frame lives until released', () => {
    const { a } = pair();
    const g = grantTablesOf(a.host);
    grant(a, 1, 0, a.mfn(SHARED));
    const m = g.mapForeign(a.d.id, 1, false);
    if (typeof m === 'number') throw new Error(`map failed ${m}`);
    a.d.dying = true;
    a.pt.releaseDomain(a.d);
    expect(a.host.frames.count(1)).toBe(1);
    expect(a.host.frames.owner(m.mfn)).toBe(1);
    m.release();
    expect(a.host.frames.count(1)).toBe(0);
  });
});
