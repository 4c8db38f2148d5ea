/**
 * The PV MMU hypercalls: mmu_update 1, update_va_mapping 14, update_va_mapping_otherdomain 22,
 * mmuext_op 26 (xen.h; xen/arch/x86/mm.c do_mmu_update, __do_update_va_mapping,
 * do_mmuext_op; the compat layer's 32-bit mmuext_op layout; xen-abi.md §7).
 *
 * Batches stop at the first failing request with its errno; `done` receives how many
 * completed. Every request is copied from the guest once and validated; a bad pointer is
 * -EFAULT. TLBs: each batch that changed entries flushes all of the domain's vCPUs (a simple,
 * always-safe superset of Xen's deferred flushes); update_va_mapping honours its UVMF flags.
 */
import { DOMID_IO, DOMID_SELF, DOMID_XEN, type HypercallEntry } from './types.ts';
import type { VCpu } from '../vcpu.ts';
import type { Domain } from '../domain.ts';
import { GuestFault, readU32, writeU32 } from '../guestmem.ts';
import { HYPERVISOR_VIRT_START } from './version.ts';
import * as E from '../errno.ts';
import { pageTypesOf, PGT_writable, type PageTypes } from '../../mem/pagetype.ts';
import { lockGuestL1, modL1Entry, normalPtUpdate } from '../../mem/ptupdate.ts';
import { m2pOf } from '../../mem/m2p.ts';

const EOPNOTSUPP = 95;
const PREEMPTED = 0x80000000;

/** mmuext_op commands (xen.h MMUEXT_*). */
const MMUEXT = {
  PIN_L1_TABLE: 0,
  PIN_L4_TABLE: 3,
  UNPIN_TABLE: 4,
  NEW_BASEPTR: 5,
  TLB_FLUSH_LOCAL: 6,
  INVLPG_LOCAL: 7,
  TLB_FLUSH_MULTI: 8,
  INVLPG_MULTI: 9,
  TLB_FLUSH_ALL: 10,
  INVLPG_ALL: 11,
  FLUSH_CACHE: 12,
  SET_LDT: 13,
  NEW_USER_BASEPTR: 15,
  CLEAR_PAGE: 16,
  COPY_PAGE: 17,
  FLUSH_CACHE_GLOBAL: 18,
  MARK_SUPER: 19,
  UNMARK_SUPER: 20,
} as const;

/** UVMF_* (xen.h): flush type in bits 0–1; the rest is LOCAL 0, ALL 4, or a vcpumask pointer. */
const UVMF_TLB_FLUSH = 1;
const UVMF_INVLPG = 2;
const UVMF_FLUSHTYPE_MASK = 3;
const UVMF_ALL = 4;

/** compat_array_access_ok: the array must lie below the hypervisor hole. */
export const handleOkay = (ptr: number, count: number, size: number): boolean => ptr + count * size <= HYPERVISOR_VIRT_START;

/**
 * get_pg_owner + the XSM check a domU meets: DOMID_SELF is the caller; naming itself, DOMID_XEN
 * or no domain is -ESRCH; any other domain (or DOMID_IO) needs privilege a domU lacks: -EPERM.
 */
export function pgOwner(v: VCpu, domid: number): Domain | number {
  if (domid === DOMID_SELF) return v.domain;
  if (domid === v.domain.id || domid === DOMID_XEN) return -E.ESRCH;
  if (domid === DOMID_IO) return -E.EPERM;
  return v.domain.host.domain(domid) ? -E.EPERM : -E.ESRCH;
}

/**
 * vcpumask_to_pcpumask for a compat guest: 32-bit words at `mask`, read until the bits cover
 * every vCPU. A fault leaves no vCPU selected and returns undefined.
 */
function vcpusInMask(v: VCpu, mask: number): VCpu[] | undefined {
  const out: VCpu[] = [];
  const n = v.domain.vcpus.length;
  try {
    for (let bias = 0; bias < n; bias += 32) {
      const word = readU32(v, mask + bias / 8);
      for (let b = 0; b < 32 && bias + b < n; b++) if (word & (1 << b)) out.push(v.domain.vcpus[bias + b]!);
    }
  } catch (e) {
    if (e instanceof GuestFault) return undefined;
    throw e;
  }
  return out;
}

function finishBatch(v: VCpu, pdone: number, done: number): void {
  if (pdone === 0) return;
  try {
    writeU32(v, pdone, done);
  } catch (e) {
    if (!(e instanceof GuestFault)) throw e; // Xen ignores a failed copy-out of `done`
  }
}

function startDone(v: VCpu, count: number, pdone: number): [count: number, done: number] {
  if (!(count & PREEMPTED)) return [count, 0];
  let done = 0;
  if (pdone !== 0) {
    try {
      done = readU32(v, pdone);
    } catch (e) {
      if (!(e instanceof GuestFault)) throw e;
    }
  }
  return [(count & ~PREEMPTED) >>> 0, done];
}

function mmuUpdate(v: VCpu, reqs: number, count: number, pdone: number, foreigndom: number): number {
  if (count === PREEMPTED && reqs === 0) return foreigndom | 0; // the final value of a continuation
  const d = v.domain;
  let done: number;
  [count, done] = startDone(v, count, pdone);
  if (!handleOkay(reqs, count, 16)) return -E.EFAULT;
  const pt = pageTypesOf(d.host);
  let rc = 0;
  let i = 0;
  // Page tables (foreigndom >> 16, plus one) or pages (low half) of another domain need privilege.
  const ptDom = foreigndom >>> 16;
  const owner = pgOwner(v, foreigndom & 0xffff);
  if (ptDom !== 0 && ptDom - 1 !== d.id && !d.host.domain(ptDom - 1)) rc = -E.ESRCH;
  else if (typeof owner === 'number' && owner === -E.ESRCH) rc = -E.ESRCH;
  const foreign = (ptDom !== 0 && ptDom - 1 !== d.id) || owner !== d;
  for (; rc === 0 && i < count; i++) {
    const at = reqs + i * 16;
    let ptrLo: number, ptrHi: number, valLo: number, valHi: number;
    try {
      ptrLo = readU32(v, at);
      ptrHi = readU32(v, at + 4);
      valLo = readU32(v, at + 8);
      valHi = readU32(v, at + 12);
    } catch (e) {
      if (!(e instanceof GuestFault)) throw e;
      rc = -E.EFAULT;
      break;
    }
    if (foreign) {
      rc = -E.EPERM;
      break;
    }
    rc = mmuRequest(pt, d, ptrLo, ptrHi, valLo, valHi);
    if (rc !== 0) break;
  }
  if (i > 0) pt.flushDomain(d);
  finishBatch(v, pdone, done + i);
  return rc;
}

/** One {ptr, val} request; the command is ptr[2:0] (xen.h MMU_*). */
function mmuRequest(pt: PageTypes, d: Domain, ptrLo: number, ptrHi: number, valLo: number, valHi: number): number {
  const cmd = ptrLo & 7;
  const mfn = ptrHi * 0x100000 + (ptrLo >>> 12);
  switch (cmd) {
    case 0: // MMU_NORMAL_PT_UPDATE
    case 2: // MMU_PT_UPDATE_PRESERVE_AD
    case 3: // MMU_PT_UPDATE_NO_TRANSLATE: the same thing for a PV guest
      return normalPtUpdate(pt, d, mfn * 4096 + (ptrLo & 0xff8), valLo, valHi, cmd === 2);
    case 1: {
      // MMU_MACHPHYS_UPDATE: M2P[ptr >> 12] = val, for a frame the domain owns.
      if (!pt.getPage(d, mfn)) return -E.EINVAL;
      m2pOf(pt.mem).set(mfn, valLo);
      pt.putPage(mfn);
      return 0;
    }
    default:
      return -E.ENOSYS;
  }
}

/** __do_update_va_mapping: the L1 entry for `va` in the current tables, then the UVMF flush. */
function updateVaMapping(v: VCpu, va: number, lo: number, hi: number, flags: number): number {
  const d = v.domain;
  const pt = pageTypesOf(d.host);
  const loc = lockGuestL1(pt, v, va);
  if (!loc) return -E.EINVAL;
  const rc = modL1Entry(pt, d, loc.mfn, loc.index, lo, hi);
  pt.putPage(loc.mfn);
  if (rc !== 0) return rc; // nothing changed: no flush (va is unaudited)
  const type = flags & UVMF_FLUSHTYPE_MASK;
  if (type !== UVMF_TLB_FLUSH && type !== UVMF_INVLPG) return 0;
  const bmap = (flags & ~UVMF_FLUSHTYPE_MASK) >>> 0;
  const targets = bmap === 0 ? [v] : bmap === UVMF_ALL ? d.vcpus : vcpusInMask(v, bmap);
  if (!targets) return -E.EFAULT;
  for (const t of targets) {
    if (type === UVMF_TLB_FLUSH) t.cpu.mmu.flush();
    else t.cpu.mmu.invlpg(va | 0);
  }
  return 0;
}

function mmuextOp(v: VCpu, uops: number, count: number, pdone: number, foreigndom: number): number {
  if (count === PREEMPTED && uops === 0) return foreigndom | 0;
  const d = v.domain;
  let done: number;
  [count, done] = startDone(v, count, pdone);
  if (!handleOkay(uops, count, 12)) return -E.EFAULT;
  const owner = pgOwner(v, foreigndom & 0xffff);
  if (typeof owner === 'number') return owner;
  const pt = pageTypesOf(d.host);
  let rc = 0;
  let i = 0;
  for (; i < count; i++) {
    const at = uops + i * 12;
    let cmd: number, arg1: number, arg2: number;
    try {
      cmd = readU32(v, at);
      arg1 = readU32(v, at + 4);
      arg2 = readU32(v, at + 8);
    } catch (e) {
      if (!(e instanceof GuestFault)) throw e;
      rc = -E.EFAULT;
      break;
    }
    rc = mmuextOne(v, pt, cmd, arg1, arg2);
    if (rc !== 0) break;
  }
  finishBatch(v, pdone, done + i);
  return rc;
}

function mmuextOne(v: VCpu, pt: PageTypes, cmd: number, arg1: number, arg2: number): number {
  const d = v.domain;
  switch (cmd) {
    case MMUEXT.PIN_L1_TABLE:
    case MMUEXT.PIN_L1_TABLE + 1:
    case MMUEXT.PIN_L1_TABLE + 2:
    case MMUEXT.PIN_L4_TABLE:
      return pt.pin(d, arg1, cmd - MMUEXT.PIN_L1_TABLE + 1);
    case MMUEXT.UNPIN_TABLE:
      return pt.unpin(d, arg1);
    case MMUEXT.NEW_BASEPTR:
      return pt.setBaseptr(v, arg1);
    case MMUEXT.NEW_USER_BASEPTR:
      return -E.EINVAL; // x86-64 guests only (compat_mmuext_op)
    case MMUEXT.TLB_FLUSH_LOCAL:
      v.cpu.mmu.flush();
      return 0;
    case MMUEXT.INVLPG_LOCAL:
      v.cpu.mmu.invlpg(arg1 | 0);
      return 0;
    case MMUEXT.TLB_FLUSH_MULTI:
    case MMUEXT.INVLPG_MULTI: {
      const targets = vcpusInMask(v, arg2);
      if (!targets) return -E.EINVAL;
      for (const t of targets) {
        if (cmd === MMUEXT.TLB_FLUSH_MULTI) t.cpu.mmu.flush();
        else t.cpu.mmu.invlpg(arg1 | 0);
      }
      return 0;
    }
    case MMUEXT.TLB_FLUSH_ALL:
      pt.flushDomain(d);
      return 0;
    case MMUEXT.INVLPG_ALL:
      for (const t of d.vcpus) t.cpu.mmu.invlpg(arg1 | 0);
      return 0;
    case MMUEXT.FLUSH_CACHE:
      return -E.EACCES; // a domU may not flush caches (cache_flush_permitted)
    case MMUEXT.FLUSH_CACHE_GLOBAL:
      return -E.EINVAL;
    case MMUEXT.SET_LDT: {
      const ents = arg2;
      const ptr = ents ? arg1 : 0;
      if (ptr & 0xfff || ents > 8192) return -E.EINVAL;
      return ents === 0 ? 0 : -E.EINVAL; // LDTs are not supported: only "no LDT" is accepted
    }
    case MMUEXT.CLEAR_PAGE: {
      if (pt.getPageAndType(d, arg1, PGT_writable) !== 0) return -E.EINVAL;
      pt.mem.noteWrite(arg1);
      const f = pt.mem.frame(arg1);
      f.u8.fill(0, f.base, f.base + 4096);
      pt.putPageType(arg1);
      return 0;
    }
    case MMUEXT.COPY_PAGE: {
      if (!pt.getPage(d, arg2)) return -E.EINVAL;
      if (pt.getPageAndType(d, arg1, PGT_writable) !== 0) {
        pt.putPage(arg2);
        return -E.EINVAL;
      }
      const data = pt.mem.readBytes(arg2 * 4096, 4096);
      pt.mem.writeBytes(arg1 * 4096, data);
      pt.putPageType(arg1);
      pt.putPage(arg2);
      return 0;
    }
    case MMUEXT.MARK_SUPER:
    case MMUEXT.UNMARK_SUPER:
      return -EOPNOTSUPP;
    default:
      return -E.ENOSYS;
  }
}

export const MMU_HYPERCALLS: HypercallEntry[] = [
  [1, 'mmu_update', (v, reqs, count, pdone, foreigndom) => mmuUpdate(v, reqs, count, pdone, foreigndom)],
  [14, 'update_va_mapping', (v, va, lo, hi, flags) => updateVaMapping(v, va, lo, hi, flags)],
  [
    22,
    'update_va_mapping_otherdomain',
    (v, va, lo, hi, flags, domid) => {
      const owner = pgOwner(v, domid & 0xffff);
      return typeof owner === 'number' ? owner : updateVaMapping(v, va, lo, hi, flags);
    },
  ],
  [26, 'mmuext_op', (v, uops, count, pdone, foreigndom) => mmuextOp(v, uops, count, pdone, foreigndom)],
];
