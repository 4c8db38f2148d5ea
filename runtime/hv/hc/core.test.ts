/**
 * Error paths of the core hypercall families (traps, sched, timers, console, version, event
 * channels, multicall, vm_assist), called as a real vCPU would with arguments in its memory.
 * Expected values come from the Xen sources named in each family's file and xen-abi.md §11.
 */
import { describe, expect, it } from 'vitest';
import { createGuest, FIRST_DATA_PFN, TestHost } from '../testing.ts';
import * as E from '../errno.ts';
import { SI } from '../shared.ts';

const UNMAPPED = 0x7fff0000; // beyond the fixture's mapped pages
const DOMID_SELF = 0x7ff0;

function guest(id = 1, host = new TestHost()) {
  const g = createGuest(host, { id, vcpus: 2 });
  const buf = g.va(FIRST_DATA_PFN); // a scratch page the guest can read and write
  return { ...g, buf };
}

describe('dispatch', () => {
  it('unknown hypercalls return -ENOSYS', () => {
    const g = guest();
    for (const nr of [11, 27, 31, 34, 35, 36, 40, 47, 63, 64, 1000]) expect(g.call(nr, 1, 2, 3)).toBe(-E.ENOSYS);
  });

  it('a bad pointer is -EFAULT, never a host exception', () => {
    const g = guest();
    expect(g.call(0, UNMAPPED)).toBe(-E.EFAULT); // set_trap_table
    expect(g.call(32, 4, UNMAPPED)).toBe(-E.EFAULT); // event_channel_op send
    expect(g.call(29, 2, UNMAPPED)).toBe(-E.EFAULT); // sched_op shutdown
    expect(g.call(17, 1, UNMAPPED)).toBe(-E.EFAULT); // xen_version extraversion
    expect(g.call(18, 0, 16, UNMAPPED)).toBe(-E.EFAULT); // console_io write
    expect(g.call(13, UNMAPPED, 1)).toBe(-E.EFAULT); // multicall
    expect(g.d.isShutdown).toBe(false);
  });
});

describe('set_trap_table and callbacks', () => {
  it('a NULL table clears every entry; a table whose first entry has address 0 changes nothing', () => {
    const g = guest();
    // {vector 14, flags 0, cs 0xe019, address 0x1234}, then the terminator.
    g.w32(g.buf, 14 | (0xe019 << 16));
    g.w32(g.buf + 4, 0x1234);
    g.w32(g.buf + 8, 0);
    g.w32(g.buf + 12, 0);
    expect(g.call(0, g.buf)).toBe(0);
    expect(g.v.traps[14]).toEqual({ flags: 0, cs: 0xe019, eip: 0x1234 });
    expect(g.call(0, g.buf + 8)).toBe(0); // empty table
    expect(g.v.traps[14]?.eip).toBe(0x1234);
    expect(g.call(0, 0)).toBe(0);
    expect(g.v.traps[14]).toBeUndefined();
  });

  it('a ring-0 selector is raised to ring 1', () => {
    const g = guest();
    g.w32(g.buf, 3 | (0xe018 << 16));
    g.w32(g.buf + 4, 0x5678);
    g.w32(g.buf + 12, 0);
    expect(g.call(0, g.buf)).toBe(0);
    expect(g.v.traps[3]!.cs).toBe(0xe019);
    expect(g.call(3, 0xe020, 0x9000)).toBe(0); // stack_switch
    expect([g.v.kernelSs, g.v.kernelSp]).toEqual([0xe021, 0x9000]);
  });

  it('callback_op registers the event callback; unknown commands are -ENOSYS; bad types -EINVAL', () => {
    const g = guest();
    g.w32(g.buf, 0); // type event, flags 0
    g.w32(g.buf + 4, 0xe019);
    g.w32(g.buf + 8, 0xc0001234);
    expect(g.call(30, 0, g.buf)).toBe(0);
    expect([g.v.eventCs, g.v.eventEip]).toEqual([0xe019, 0xc0001234]);
    g.w32(g.buf, 9);
    expect(g.call(30, 0, g.buf)).toBe(-E.EINVAL);
    expect(g.call(30, 7, g.buf)).toBe(-E.ENOSYS);
  });
});

describe('sched_op', () => {
  it('shutdown with each valid reason; reasons above 5 are -EINVAL; unknown commands -ENOSYS', () => {
    for (let reason = 0; reason <= 5; reason++) {
      const g = guest();
      g.w32(g.buf, reason);
      expect(g.call(29, 2, g.buf)).toBe(0);
      expect(g.d.shutdownReason).toBe(reason);
    }
    const g = guest();
    g.w32(g.buf, 6);
    expect(g.call(29, 2, g.buf)).toBe(-E.EINVAL);
    expect(g.d.isShutdown).toBe(false);
    expect(g.call(29, 99, g.buf)).toBe(-E.ENOSYS);
    expect(g.call(6, 2, 3)).toBe(0); // sched_op_compat takes the reason directly: crash
    expect(g.d.shutdownReason).toBe(3);
  });

  it('remote_shutdown needs privilege a domU lacks', () => {
    const g = guest();
    g.w32(g.buf, 2);
    expect(g.call(29, 4, g.buf)).toBe(-E.EPERM);
  });

  it('block re-enables events and does not sleep with an event already pending', () => {
    const g = guest();
    g.v.upcallMask = 1;
    g.d.sharedInfo.setU8(SI.VCPU_INFO, 1); // upcall_pending
    expect(g.call(29, 1, 0)).toBe(0);
    expect(g.v.upcallMask).toBe(0);
    expect(g.v.blocked).toBe(false);
    g.d.sharedInfo.setU8(SI.VCPU_INFO, 0);
    expect(g.call(29, 1, 0)).toBe(0);
    expect(g.v.blocked).toBe(true);
  });

  it('poll with a closed port is -EINVAL', () => {
    const g = guest();
    g.w32(g.buf, g.buf + 64); // ports handle
    g.w32(g.buf + 4, 1); // nr_ports
    g.w32(g.buf + 8, 0);
    g.w32(g.buf + 12, 0);
    g.w32(g.buf + 64, 77);
    expect(g.call(29, 3, g.buf)).toBe(-E.EINVAL);
  });
});

describe('event_channel_op', () => {
  it('closed ports, double binds, foreign domains and unknown commands are refused', () => {
    const g = guest();
    g.w32(g.buf, 77);
    expect(g.call(32, 3, g.buf)).toBe(-E.EINVAL); // close a closed port
    expect(g.call(32, 4, g.buf)).toBe(-E.EINVAL); // send on a closed port
    expect(g.call(32, 9, g.buf)).toBe(-E.EINVAL); // unmask a closed port
    g.w32(g.buf, 0); // bind_virq VIRQ_TIMER on vCPU 0
    g.w32(g.buf + 4, 0);
    expect(g.call(32, 1, g.buf)).toBe(0);
    expect(g.r32(g.buf + 8)).toBeGreaterThan(0);
    expect(g.call(32, 1, g.buf)).toBe(-E.EEXIST);
    g.w32(g.buf, 99); // no such VIRQ
    expect(g.call(32, 1, g.buf)).toBe(-E.EINVAL);
    g.w32(g.buf, 0);
    g.w32(g.buf + 4, 9); // no such vCPU
    expect(g.call(32, 1, g.buf)).toBe(-E.ENOENT);
    g.w32(g.buf, 5 | (0 << 16)); // alloc_unbound for dom 5: not ours
    expect(g.call(32, 6, g.buf)).toBe(-E.EPERM);
    expect(g.call(32, 2, g.buf)).toBe(-E.EPERM); // bind_pirq
    expect(g.call(32, 11, g.buf)).toBe(-E.ENOSYS); // FIFO ABI
    expect(g.call(32, 42, g.buf)).toBe(-E.ENOSYS);
  });

  it('interdomain: bind only to a port offered to us; send raises the peer; status reports both ends', () => {
    const host = new TestHost();
    const a = guest(1, host);
    const b = guest(2, host);
    a.w32(a.buf, DOMID_SELF | (2 << 16)); // alloc_unbound {dom SELF, remote 2}
    expect(a.call(32, 6, a.buf)).toBe(0);
    const pa = a.r32(a.buf + 4);
    b.w32(b.buf, 1); // bind_interdomain {remote_dom 1, remote_port pa}
    b.w32(b.buf + 4, pa + 1);
    expect(b.call(32, 0, b.buf)).toBe(-E.EINVAL); // not offered
    b.w32(b.buf + 4, pa);
    expect(b.call(32, 0, b.buf)).toBe(0);
    const pb = b.r32(b.buf + 8);
    expect(b.call(32, 0, b.buf)).toBe(-E.EINVAL); // already bound
    a.d.sharedInfo.setU32(SI.EVTCHN_PENDING + (pa >> 5) * 4, 0);
    b.w32(b.buf, pb);
    expect(b.call(32, 4, b.buf)).toBe(0);
    expect(a.d.evtchn.isPending(pa)).toBe(true);
    expect(a.d.sharedInfo.u8At(SI.VCPU_INFO)).toBe(1); // upcall_pending
    a.w32(a.buf, DOMID_SELF);
    a.w32(a.buf + 4, pa);
    expect(a.call(32, 5, a.buf)).toBe(0);
    expect([a.r32(a.buf + 8), a.r32(a.buf + 16) & 0xffff, a.r32(a.buf + 20)]).toEqual([2, 2, pb]);
  });

  it('a masked port stays pending without an upcall until unmasked', () => {
    const g = guest();
    g.w32(g.buf, 0); // bind_ipi vCPU 0
    expect(g.call(32, 7, g.buf)).toBe(0);
    const p = g.r32(g.buf + 4);
    g.d.sharedInfo.setU32(SI.EVTCHN_MASK + (p >> 5) * 4, 1 << (p & 31));
    g.w32(g.buf, p);
    expect(g.call(32, 4, g.buf)).toBe(0);
    expect(g.d.evtchn.isPending(p)).toBe(true);
    expect(g.d.sharedInfo.u8At(SI.VCPU_INFO)).toBe(0);
    expect(g.call(32, 9, g.buf)).toBe(0); // unmask delivers it
    expect(g.d.sharedInfo.u8At(SI.VCPU_INFO)).toBe(1);
  });
});

describe('xen_version, console_io, vm_assist', () => {
  it('answers as Xen does to a domU', () => {
    const g = guest();
    expect(g.call(17, 0, 0)).toBe((4 << 16) | 19);
    expect(g.call(17, 7, 0)).toBe(4096);
    g.w32(g.buf, 1);
    expect(g.call(17, 6, g.buf)).toBe(-E.EINVAL); // get_features with submap_idx 1
    g.w32(g.buf, 0);
    expect(g.call(17, 6, g.buf)).toBe(0);
    expect(g.r32(g.buf + 4) & (1 << 4)).not.toBe(0); // pae_pgdir_above_4gb
    expect(g.call(17, 5, g.buf)).toBe(0);
    expect(g.r32(g.buf)).toBe(0xf5800000); // platform_parameters.virt_start
    expect(g.call(17, 9, g.buf)).toBe(-E.EPERM); // commandline
    expect(g.call(17, 99, g.buf)).toBe(-E.EPERM);
    expect(g.call(18, 0, 0, 0)).toBe(0); // console_io write of 0 bytes
    expect(g.call(18, 5, 1, g.buf)).toBe(-E.EINVAL);
    expect(g.call(21, 0, 2)).toBe(0); // vm_assist enable writable_pagetables
    expect(g.d.vmAssist & 4).toBe(4);
    expect(g.call(21, 0, 9)).toBe(-E.EINVAL);
    expect(g.call(21, 7, 2)).toBe(-E.EINVAL);
  });
});

describe('vcpu_op and set_timer_op', () => {
  it('refuses bad vCPUs, short periods and bringing up an uninitialised vCPU', () => {
    const g = guest();
    expect(g.call(24, 3, 9, 0)).toBe(-E.ENOENT); // is_up on vCPU 9
    expect(g.call(24, 3, 0, 0)).toBe(1);
    expect(g.call(24, 3, 1, 0)).toBe(0);
    expect(g.call(24, 1, 1, 0)).toBe(-E.EINVAL); // up without initialise
    g.w32(g.buf, 999_999); // period < 1 ms
    g.w32(g.buf + 4, 0);
    expect(g.call(24, 6, 0, g.buf)).toBe(-E.EINVAL);
    g.w32(g.buf, 20_000_000);
    expect(g.call(24, 6, 0, g.buf)).toBe(0);
    expect(g.v.periodNs).toBe(20_000_000);
    expect(g.call(24, 7, 0, 0)).toBe(0);
    expect(g.v.periodNs).toBe(0);
    expect(g.call(24, 42, 0, 0)).toBe(-E.ENOSYS);
    expect(g.call(15, 0, 0)).toBe(0); // set_timer_op(0) cancels
    expect(g.v.singleshot).toBe(0);
  });
});

describe('multicall', () => {
  it('runs each entry and writes its result; a nested multicall entry is refused', () => {
    const g = guest();
    const e = g.buf;
    g.w32(e, 17); // xen_version(0)
    g.w32(e + 8, 0);
    g.w32(e + 32, 13); // nested multicall
    g.w32(e + 64, 99); // unknown
    expect(g.call(13, e, 3)).toBe(0);
    expect(g.r32(e + 4)).toBe((4 << 16) | 19);
    expect(g.r32(e + 36) | 0).toBe(-E.EINVAL);
    expect(g.r32(e + 68) | 0).toBe(-E.ENOSYS);
  });
});
