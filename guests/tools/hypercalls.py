"""pvrun's hypercall handlers (numbers from xen.h; see pvrun.py)."""
import struct, sys

EINVAL, ENOSYS, EEXIST, EPERM, ENOENT = 22, 38, 17, 1, 2
DOMID_SELF = 0x7FF0


def hc_0(d, table, *_):                                  # set_trap_table
    if table == 0:
        d.traps.clear()
        return 0
    for i in range(256):
        vec, flags, cs, addr = struct.unpack("<BBHI", d.rd(table + 8 * i, 8))
        if addr == 0:
            break
        if cs == 0:
            return -EINVAL
        d.traps[vec] = (flags, addr)
    return 0


def hc_4(d, ev_cs, ev_eip, fs_cs, fs_eip, *_):           # set_callbacks
    if ev_cs == 0 or fs_cs == 0:
        return -EINVAL
    d.callback = ev_eip
    return 0


def hc_12(d, cmd, arg, *_):                              # memory_op
    if cmd in (3, 4):
        if struct.unpack("<H", d.rd(arg, 2))[0] != DOMID_SELF:
            return -EPERM
        return len(d.owned) if cmd == 3 else d.nr_pages
    if cmd not in (0, 1, 6):
        return -ENOSYS
    start, n, order, _, dom = struct.unpack("<4IH", d.rd(arg, 18))
    if order != 0 or dom != DOMID_SELF:
        return -EINVAL
    done = 0
    for i in range(n):
        slot = start + 4 * i
        if cmd == 1:
            mfn = d.u32(slot)
            mapped = [va for va, m in d.va.items() if m == mfn]
            if mfn not in d.owned or mapped:
                print(f"pvrun: decrease_reservation refused mfn {mfn:#x}"
                      + (f" (still mapped at {mapped[0]:#x})" if mapped else ""), file=sys.stderr)
                break
            d.owned.discard(mfn)
        else:
            d.w32(slot, d.alloc())
        done += 1
    return done


def hc_14(d, va, lo, hi, flags, *_):                     # update_va_mapping
    va &= ~0xFFF
    if d.l1_slot(va) is None:
        return -EINVAL
    pte = (hi << 32) | lo
    if pte & 1:
        mfn = (pte >> 12) & 0xFFFFFFFFFF
        if mfn != 0x10 and mfn not in d.owned and mfn not in d.xen_frames:
            return -EINVAL
        if mfn in d.pt_frames and pte & 2:
            return -EINVAL                               # page tables stay read-only
        d.map(va, mfn, bool(pte & 2))
    else:
        d.map(va, None)
    d.write_pte(va, pte)
    return 0


def hc_15(d, lo, hi, *_):                                # set_timer_op
    d.timer = (hi << 32) | lo
    return 0


def hc_17(d, cmd, *_):                                   # xen_version
    return 0x40013 if cmd == 0 else -EPERM


def hc_18(d, cmd, count, buf, *_):                       # console_io
    if cmd != 0:
        return -ENOSYS
    d.out.write(d.rd(buf, count).decode("latin-1"))
    return 0


def hc_24(d, cmd, vcpu, *_):                             # vcpu_op
    return 0 if cmd == 7 and vcpu == 0 else -ENOSYS


def hc_29(d, cmd, arg, edx, *_):                         # sched_op
    if cmd == 0:
        return 0
    if cmd == 1:                                         # block: enables events
        d.sh()[1] = 0
        if getattr(d, "realtime", False):
            while not d.sh()[0]:
                d.advance(0)
                nxt = [t for t in (d.timer, d.script[0][0] if d.script else 0) if t]
                wait = (min(nxt) - d.now) / 1e9 if nxt else 0.5
                if wait > 0:
                    d.poll_devices(min(wait, 0.5))
                d.advance(0)
            return 0
        while not d.sh()[0]:
            nxt = [t for t in (d.timer, d.script[0][0] if d.script else 0) if t]
            if not nxt:
                print("pvrun: vCPU blocked with nothing left to wake it", file=sys.stderr)
                d.stop(None)
            d.advance(max(min(nxt) - d.now, 0))
        return 0
    if cmd == 2:
        reason = d.u32(arg)
        if reason == 2:                                  # suspend: check, then cancel or resume
            store = d.u32(d.si + 44)
            ok = store < d.nr_pages and d.p2m[store] == d.store_mfn
            mapped = [va for va, m in d.va.items() if m in d.xen_frames or m == 0x10]
            if getattr(d, "resume_new", False):
                print(f"pvrun: suspend (start_info mfn {edx:#x}); store frame canonicalised: {ok}; "
                      f"Xen frames still mapped: {len(mapped)}; resuming in a new domain",
                      file=sys.stderr)
                d.new_domain()
                return 0
            print(f"pvrun: suspend (start_info mfn {edx:#x}); store frame canonicalised: {ok}; "
                  f"cancelling", file=sys.stderr)
            return 1
        d.stop(reason)
    return -ENOSYS


def hc_32(d, cmd, arg, *_):                              # event_channel_op
    if cmd == 1:                                         # bind_virq
        virq, vcpu = struct.unpack("<II", d.rd(arg, 8))
        if virq in d.virqs:
            return -EEXIST
        port = max(d.ports) + 1
        d.ports[port], d.virqs[virq] = f"virq{virq}", port
        d.w32(arg + 8, port)
        return 0
    if cmd == 4:                                         # send
        port = d.u32(arg)
        if port in d.dev_ports:
            d.dev_ports[port]()
        elif port == 1:
            d.console_flush()
        elif port == 2:
            d.store_flush()
        return 0 if port in d.ports else -EINVAL
    if cmd == 9:                                         # unmask
        port = d.u32(arg)
        sh = d.sh()
        w = 2176 + 4 * (port // 32)
        struct.pack_into("<I", sh, w, struct.unpack_from("<I", sh, w)[0] & ~(1 << port % 32))
        return 0
    from pvdev import evtchn_extra
    rc = evtchn_extra(d, cmd, arg)
    return -ENOSYS if rc is None else rc


def install(cls):
    for name, fn in list(globals().items()):
        if name.startswith("hc_"):
            setattr(cls, name, fn)
