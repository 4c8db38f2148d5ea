#!/usr/bin/env python3
"""pvrun: a tiny reference "Xen" for the guest kit, on the Unicorn CPU emulator.

Not part of Xenoform: a development aid to run guests/build/*.elf before (and
beside) the real emulated hypervisor. It follows shared/xen-abi.md: Xen ELF
notes, the bootstrap layout (kernel, P2M, start_info, xenstore, console, PAE
page tables, boot stack, 512 KiB padding up to 4 MiB), the hypercall page,
bounce frames, the iret hypercall, event channels, a xenstore with watches
and transactions (the first commit fails with EAGAIN, to exercise retries),
the console ring, and memory_op. Time is virtual: the TSC runs at 4 ticks per
ns (tsc_shift = -1, mul = 2^31, exercising the negative shift), each
hypercall costs 1 us, and SCHEDOP_block jumps to the next timer or scripted
toolstack action. Guest memory is mapped page by page, so VA aliases
(shared_info, console and store pages) behave as on Xen; ring-1 protection
and segmentation are not modelled.

  pip install unicorn   # 2.x
  guests/tools/pvrun.py guests/build/ticker.elf --at 3.5:control/shutdown=poweroff

Exit status as `xenoform boot`: 0 poweroff, 1 crash, 3 reboot, 124 timeout.
"""
import argparse, ctypes, struct, sys
from unicorn import Uc, UcError, UC_ARCH_X86, UC_MODE_32, UC_HOOK_INTR, UC_HOOK_INSN, \
    UC_HOOK_MEM_INVALID, UC_PROT_ALL, UC_PROT_READ, UC_PROT_EXEC
from unicorn import unicorn_const as K
from unicorn.x86_const import *
from xs import XenStore

PAGE, DOMID, SHINFO_MFN, CONS_PORT, STORE_PORT = 4096, 1, 0x10, 1, 2
EINVAL, ENOSYS, EEXIST, EPERM = 22, 38, 17, 1
REGS = [UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_ESI, UC_X86_REG_EDI]
REASONS = {0: "poweroff", 1: "reboot", 2: "suspend", 3: "crash", 4: "watchdog"}
EXIT = {0: 0, 1: 3, 3: 1, 4: 1}


class Stop(Exception):
    pass


def parse_elf(data):
    if data[:4] != b"\x7fELF" or data[4] != 1:
        raise SystemExit("not an ELF32 image")
    phoff, = struct.unpack_from("<I", data, 28)
    phnum, = struct.unpack_from("<H", data, 44)
    loads, notes = [], {}
    for i in range(phnum):
        t, off, va, pa, fsz, msz = struct.unpack_from("<6I", data, phoff + 32 * i)
        if t == 1:
            loads.append((off, pa, fsz, msz))
        elif t == 4:
            p = off
            while p < off + fsz:
                nsz, dsz, typ = struct.unpack_from("<3I", data, p)
                name = data[p + 12:p + 12 + nsz].rstrip(b"\0")
                d = p + 12 + ((nsz + 3) & ~3)
                desc = data[d:d + dsz]
                if name == b"Xen":
                    numeric = typ in (1, 2, 3, 4, 12, 14)       # elfnote.h: numeric note types
                    notes[typ] = int.from_bytes(desc, "little") if numeric else desc.rstrip(b"\0").decode()
                p = d + ((dsz + 3) & ~3)
    return loads, notes


class Domain:
    def __init__(self, image, mem_mib, cmdline, script, max_time, trace):
        self.uc = Uc(UC_ARCH_X86, UC_MODE_32)
        self.frames, self.owned, self.va = {}, set(), {}   # mfn->buf, ours, va->mfn
        self.now, self.timer, self.script, self.max_time = 0, 0, sorted(script), max_time
        self.trace, self.out, self.result = trace, sys.stdout, None
        self.traps, self.callback, self.ports, self.virqs = {}, None, {CONS_PORT: "console", STORE_PORT: "store"}, {}
        self.next_mfn, self.fault_addr = 0x80000, 0
        self.domid, self.xen_frames, self.gnt_frames, self.dev_ports = DOMID, set(), [], {}
        self.devices = []
        self.nr_pages = mem_mib * 256
        self.store = XenStore(DOMID, mem_mib * 1024)
        self.build(image, cmdline)
        self.uc.hook_add(UC_HOOK_INTR, self.on_intr)
        self.uc.hook_add(UC_HOOK_MEM_INVALID, self.on_bad_mem)
        self.hook_rdtsc()

    # ---- memory ----
    def frame(self, mfn):
        if mfn not in self.frames:
            self.frames[mfn] = (ctypes.c_ubyte * PAGE)()
        return self.frames[mfn]

    def alloc(self):
        self.next_mfn += 1
        self.owned.add(self.next_mfn)
        return self.next_mfn

    def map(self, va, mfn, writable=True):
        if va in self.va:
            self.uc.mem_unmap(va, PAGE)
            del self.va[va]
        if mfn is not None:
            perms = UC_PROT_ALL if writable else UC_PROT_READ | UC_PROT_EXEC
            self.uc.mem_map_ptr(va, PAGE, perms, ctypes.addressof(self.frame(mfn)))
            self.va[va] = mfn

    def rd(self, va, n):
        return bytes(self.uc.mem_read(va, n))

    def u32(self, va):
        return struct.unpack("<I", self.rd(va, 4))[0]

    def w32(self, va, v):
        self.uc.mem_write(va, struct.pack("<I", v & 0xFFFFFFFF))

    def mput(self, mfn, off, data):           # write a frame from "Xen"
        ctypes.memmove(ctypes.addressof(self.frame(mfn)) + off, data, len(data))

    def mget(self, mfn, off, n):
        return ctypes.string_at(ctypes.addressof(self.frame(mfn)) + off, n)

    # ---- domain builder (xg_dom_x86.c order) ----
    def build(self, image, cmdline):
        loads, notes = parse_elf(image)
        for need in (1, 2, 3, 4):
            if need not in notes:
                raise SystemExit(f"missing Xen note {need}")
        if notes.get(9) != "yes":
            raise SystemExit("PAE_MODE must be yes")
        base, off = notes[3], notes[3] - notes[4]
        kend = max(pa + off + msz for _, pa, _, msz in loads)
        pfn = (kend - base + PAGE - 1) // PAGE
        self.base = base
        p2m_pfn = pfn; pfn += (self.nr_pages * 4 + PAGE - 1) // PAGE
        si_pfn, store_pfn, cons_pfn = pfn, pfn + 1, pfn + 2; pfn += 3
        pt_pfn, n_l1 = pfn, 1
        while True:                            # tables must cover themselves
            end = pt_pfn + 2 + n_l1 + 1
            region = ((end * PAGE + 512 * 1024 + (4 << 20) - 1) // (4 << 20)) * (4 << 20)
            need = region // (2 << 20)
            if need <= n_l1:
                break
            n_l1 = need
        stack_pfn, npfn = pt_pfn + 2 + n_l1, region // PAGE
        if npfn > self.nr_pages:
            raise SystemExit("not enough memory for the bootstrap region")
        self.p2m = [0x1000 + self.nr_pages - 1 - p for p in range(self.nr_pages)]  # reversed: pfn != mfn
        self.owned.update(self.p2m)
        pt_mfns = set(self.p2m[pt_pfn:stack_pfn])
        self.pt_frames, self.region_end = pt_mfns, base + region
        for p in range(npfn):
            self.map(base + p * PAGE, self.p2m[p], self.p2m[p] not in pt_mfns)
        for o, pa, fsz, msz in loads:
            self.uc.mem_write(pa + off, image[o:o + fsz])
        self.uc.mem_write(base + p2m_pfn * PAGE, struct.pack(f"<{self.nr_pages}I", *self.p2m))
        # PAE tables: L3 at pt_pfn, L2 (slot 3) next, then L1s for the region.
        l3, l2 = self.p2m[pt_pfn], self.p2m[pt_pfn + 1]
        self.l1 = [self.p2m[pt_pfn + 2 + i] for i in range(n_l1)]
        self.mput(l3, 3 * 8, struct.pack("<Q", (l2 << 12) | 1))
        for i, m in enumerate(self.l1):
            self.mput(l2, (((base >> 21) & 511) + i) * 8, struct.pack("<Q", (m << 12) | 7))
        for p in range(npfn):
            m = self.p2m[p]
            self.write_pte(base + p * PAGE, (m << 12) | (5 if m in pt_mfns else 7))
        si = base + si_pfn * PAGE
        self.si, self.store_mfn, self.cons_mfn = si, self.p2m[store_pfn], self.p2m[cons_pfn]
        self.uc.mem_write(si, b"xen-3.0-x86_32p".ljust(32, b"\0"))
        self.uc.mem_write(si + 32, struct.pack("<11I", self.nr_pages, SHINFO_MFN << 12, 0,
                                               self.store_mfn, STORE_PORT, self.cons_mfn, CONS_PORT,
                                               base + pt_pfn * PAGE, 2 + n_l1, base + p2m_pfn * PAGE, 0))
        self.uc.mem_write(si + 76, struct.pack("<I", 0) + cmdline.encode()[:1023] + b"\0")
        sh = self.frame(SHINFO_MFN)
        sh[1] = 1                                                       # upcall mask
        struct.pack_into("<IIQQIb", sh, 32, 2, 0, 0, 0, 0x80000000, -1)  # time record
        struct.pack_into("<III", sh, 2304, 2, 1700000000, 0)            # wallclock
        hp = notes[2]
        page = bytearray(b"\xcc" * PAGE)
        for nr in range(128):
            stub = (b"\x50\xb8" + struct.pack("<I", 23) + b"\xcd\x82") if nr == 23 else \
                   (b"\xb8" + struct.pack("<I", nr) + b"\xcd\x82\xc3")
            page[nr * 32:nr * 32 + len(stub)] = stub
        self.uc.mem_write(hp, bytes(page))
        self.uc.reg_write(UC_X86_REG_ESP, base + (stack_pfn + 1) * PAGE)
        self.uc.reg_write(UC_X86_REG_ESI, si)
        self.uc.reg_write(UC_X86_REG_EFLAGS, 0x202)
        self.entry = notes[1]

    def l1_slot(self, va):
        i = (va - self.base) >> 21
        if not self.base <= va < self.region_end or i >= len(self.l1):
            return None
        return self.l1[i], ((va >> 12) & 511) * 8

    def write_pte(self, va, pte):
        m, o = self.l1_slot(va)
        self.mput(m, o, struct.pack("<Q", pte))

    # ---- events ----
    def sh(self):
        return self.frame(SHINFO_MFN)

    def raise_port(self, port):
        sh = self.sh()
        w, b = port // 32, 1 << (port % 32)
        pend, = struct.unpack_from("<I", sh, 2048 + 4 * w)
        mask, = struct.unpack_from("<I", sh, 2176 + 4 * w)
        struct.pack_into("<I", sh, 2048 + 4 * w, pend | b)
        if not pend & b and not mask & b:
            sel, = struct.unpack_from("<I", sh, 4)
            struct.pack_into("<I", sh, 4, sel | (1 << w))
            sh[0] = 1

    def deliver(self):
        sh = self.sh()
        if sh[0] and not sh[1] and self.callback:
            esp = self.uc.reg_read(UC_X86_REG_ESP) - 12
            eip = self.uc.reg_read(UC_X86_REG_EIP)
            self.uc.mem_write(esp, struct.pack("<III", eip, 0xe019, 0x202))
            sh[1] = 1
            self.uc.reg_write(UC_X86_REG_ESP, esp)
            self.uc.reg_write(UC_X86_REG_EIP, self.callback)

    def new_domain(self):
        """What a restore does, as far as the guest can see: a fresh event
        channel table (console and store ports re-bound), a fresh grant
        table (new frames), xenstore watches gone, the toolstack's device
        nodes written anew with new back ends in InitWait, and start_info's
        store/console frames turned back from PFNs into MFNs."""
        sh = self.sh()
        for i in range(32):
            struct.pack_into("<I", sh, 2048 + 4 * i, 0)
            struct.pack_into("<I", sh, 2176 + 4 * i, 0)
        sh[0], sh[1] = 0, 1
        struct.pack_into("<I", sh, 4, 0)
        self.ports = {CONS_PORT: "console", STORE_PORT: "store"}
        self.virqs, self.dev_ports = {}, {}
        self.xen_frames.difference_update(self.gnt_frames)
        self.gnt_frames = []
        self.store.watches = []
        self.timer = 0
        self.uc.mem_write(self.si + 44, struct.pack("<I", self.store_mfn))
        self.uc.mem_write(self.si + 52, struct.pack("<I", self.cons_mfn))
        for dev in self.devices:
            dev.recreate()
        self.resumes = getattr(self, "resumes", 0) + 1

    def set_realtime(self):
        import time
        self.realtime, self._t0 = True, time.monotonic()

    def wall_ns(self):
        import time
        return int((time.monotonic() - self._t0) * 1e9)

    def poll_devices(self, timeout=0.0):
        got = False
        for dev in self.devices:
            if hasattr(dev, "poll_tap"):
                got |= dev.poll_tap(timeout)
                timeout = 0
        return got

    def advance(self, ns):
        if getattr(self, "realtime", False):
            self.now = max(self.now, self.wall_ns())
            self._polls = getattr(self, "_polls", 0) + 1
            if self._polls % 64 == 0:
                self.poll_devices()
        else:
            self.now += ns
        while self.script and self.script[0][0] <= self.now:
            _, path, value = self.script.pop(0)
            if self.trace:
                print(f"pvrun: t={self.now / 1e9:.3f}s toolstack writes {path}={value}", file=sys.stderr)
            if self.store.write_abs(path, value):
                self.store_flush()
        if self.timer and self.now >= self.timer:
            self.timer = 0
            if 0 in self.virqs:
                self.raise_port(self.virqs[0])
        if self.now > self.max_time:
            self.stop(None)

    def stop(self, reason):
        self.result = reason
        self.uc.emu_stop()
        raise Stop()

    # ---- devices ----
    def console_flush(self):
        cons, prod = struct.unpack("<II", self.mget(self.cons_mfn, 3080, 8))
        data = bytes(self.mget(self.cons_mfn, 1024, 2048))
        while cons != prod:
            self.out.write(chr(data[cons % 2048]))
            cons = (cons + 1) & 0xFFFFFFFF
        self.out.flush()
        self.mput(self.cons_mfn, 3080, struct.pack("<I", cons))
        self.raise_port(CONS_PORT)

    def store_flush(self):
        m = self.store_mfn
        rcons, rprod = struct.unpack("<II", self.mget(m, 2048, 8))
        ring = self.mget(m, 0, 1024)
        data = bytes(ring[(rcons + i) % 1024] for i in range((rprod - rcons) & 0xFFFFFFFF))
        used = self.store.feed(data)
        self.mput(m, 2048, struct.pack("<I", (rcons + used) & 0xFFFFFFFF))
        out = self.store.take_output()
        scons, sprod = struct.unpack("<II", self.mget(m, 2056, 8))
        room = 1024 - ((sprod - scons) & 0xFFFFFFFF)
        chunk, self.store.pending = out[:room], out[room:] + self.store.pending
        for i, c in enumerate(chunk):
            self.mput(m, 1024 + (sprod + i) % 1024, bytes([c]))
        self.mput(m, 2060, struct.pack("<I", (sprod + len(chunk)) & 0xFFFFFFFF))
        self.raise_port(STORE_PORT)

    # ---- hypercalls ----
    def on_intr(self, uc, intno, _):
        try:
            if intno != 0x82:
                return self.exception(intno, None)
            nr = uc.reg_read(UC_X86_REG_EAX)
            a = [uc.reg_read(r) for r in REGS]
            if nr == 23:
                return self.do_iret()
            fn = getattr(self, f"hc_{nr}", None)
            rc = fn(*a) if fn else -ENOSYS
            if self.trace:
                print(f"pvrun: t={self.now}: hypercall {nr}{tuple(hex(x) for x in a[:4])} = {rc}", file=sys.stderr)
            uc.reg_write(UC_X86_REG_EAX, rc & 0xFFFFFFFF)
            if self.store.pending:
                self.store_flush()
            self.advance(1000)
            self.deliver()
        except Stop:
            pass

    def do_iret(self):
        esp = self.uc.reg_read(UC_X86_REG_ESP)
        eax, eip, cs, efl = struct.unpack("<4I", self.rd(esp, 16))
        self.sh()[1] = 0 if efl & 0x200 else 1
        self.uc.reg_write(UC_X86_REG_ESP, esp + 16)
        self.uc.reg_write(UC_X86_REG_EAX, eax)
        self.uc.reg_write(UC_X86_REG_EIP, eip)
        self.deliver()

    def exception(self, vec, err, cr2=None):
        t = self.traps.get(vec)
        eip = self.uc.reg_read(UC_X86_REG_EIP)
        if self.trace or not t:
            print(f"pvrun: exception {vec} at eip {eip:#x}" + (f" cr2 {cr2:#x}" if cr2 is not None else "")
                  + ("" if t else ": no handler, domain crashed"), file=sys.stderr)
        if not t:
            self.stop(3)
        if cr2 is not None:
            struct.pack_into("<I", self.sh(), 8, cr2)
        esp = self.uc.reg_read(UC_X86_REG_ESP)
        frame = ([err] if err is not None else []) + [eip, 0xe019 | (self.sh()[1] << 16), 0x202]
        esp -= 4 * len(frame)
        self.uc.mem_write(esp, struct.pack(f"<{len(frame)}I", *frame))
        if t[0] & 4:
            self.sh()[1] = 1
        self.uc.reg_write(UC_X86_REG_ESP, esp)
        self.uc.reg_write(UC_X86_REG_EIP, t[1])

    def on_bad_mem(self, uc, access, addr, size, value, _):
        self.fault_addr, self.fault_write = addr, access in (K.UC_MEM_WRITE_UNMAPPED, K.UC_MEM_WRITE_PROT)
        return False

    def hook_rdtsc(self):
        import unicorn.unicorn_py3.arch.intel as intel
        from unicorn.unicorn_py3.unicorn import uccallback

        @uccallback(self.uc, intel.HOOK_INSN_CPUID_CFUNC)
        def cb(uc, key):
            self.now = max(self.now + 10, self.wall_ns()) if getattr(self, "realtime", False) else self.now + 10
            tsc = self.now * 4
            uc.reg_write(UC_X86_REG_EAX, tsc & 0xFFFFFFFF)
            uc.reg_write(UC_X86_REG_EDX, tsc >> 32)
            return 1
        self._rdtsc = cb   # keep alive
        self.uc._Uc__do_hook_add(UC_HOOK_INSN, cb, 1, 0, ctypes.c_int(UC_X86_INS_RDTSC))

    def run(self):
        eip = self.entry
        while self.result is None:
            try:
                self.uc.emu_start(eip, 1)
            except UcError as e:
                if self.result is not None:
                    break
                page = e.errno in (K.UC_ERR_READ_UNMAPPED, K.UC_ERR_WRITE_UNMAPPED, K.UC_ERR_FETCH_UNMAPPED,
                                   K.UC_ERR_WRITE_PROT, K.UC_ERR_READ_PROT, K.UC_ERR_FETCH_PROT)
                try:
                    if page:
                        present = e.errno in (K.UC_ERR_WRITE_PROT, K.UC_ERR_READ_PROT, K.UC_ERR_FETCH_PROT)
                        self.exception(14, (2 if self.fault_write else 0) | int(present), self.fault_addr)
                    else:
                        self.exception(6 if e.errno == K.UC_ERR_INSN_INVALID else 13, None if e.errno == K.UC_ERR_INSN_INVALID else 0)
                except Stop:
                    break
            eip = self.uc.reg_read(UC_X86_REG_EIP)
        return self.result


from hypercalls import install
install(Domain)
import pvdev
pvdev.install(Domain)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("image")
    ap.add_argument("--memory", type=int, default=32, help="MiB")
    ap.add_argument("--cmdline", default="")
    ap.add_argument("--at", action="append", default=[], metavar="SECONDS:PATH=VALUE",
                    help="toolstack xenstore write at a virtual time (relative paths under the domain)")
    ap.add_argument("--timeout", type=float, default=30.0, help="virtual seconds")
    ap.add_argument("--disk", action="append", default=[], metavar="FILE[,ro][,cache|torn][,size=MiB]"
                    "[,flush=flush-cache|barrier|none][,sector-size=N]",
                    help="a vbd (xvda, xvdb, ...) over an image file (created at size MiB if missing)")
    ap.add_argument("--vif", action="append", default=[], metavar="mac=M[,ip=A.B.C.D[/N]][,netmask=M][,gateway=G][,tap=NAME]",
                    help="a vif; with tap=NAME its frames go to an existing Linux TAP device")
    ap.add_argument("--realtime", action="store_true",
                    help="system time follows the wall clock (needed to talk to real peers on a tap)")
    ap.add_argument("--resume-new", action="store_true",
                    help="a suspend resumes in a 'new domain' (fresh channels, grants, back ends) "
                         "instead of being cancelled")
    ap.add_argument("--trace", action="store_true")
    args = ap.parse_args()
    script = []
    for s in args.at:
        t, kv = s.split(":", 1)
        k, v = kv.split("=", 1)
        script.append((int(float(t) * 1e9), k if k.startswith("/") else f"/local/domain/{DOMID}/{k}", v))
    d = Domain(open(args.image, "rb").read(), args.memory, args.cmdline, script,
               int(args.timeout * 1e9), args.trace)
    for i, spec in enumerate(args.disk):
        d.devices.append(pvdev.BlkBack(d, spec, 51712 + 16 * i))
    for i, spec in enumerate(args.vif):
        d.devices.append(pvdev.NetBack(d, spec, i))
    if args.realtime:
        d.set_realtime()
    d.resume_new = args.resume_new
    try:
        reason = d.run()
    finally:
        for dev in d.devices:
            if hasattr(dev, "power_cut"):
                dev.power_cut()
    d.console_flush()
    if reason is None:
        print(f"pvrun: timeout at {d.now / 1e9:.3f}s", file=sys.stderr)
        sys.exit(124)
    print(f"pvrun: domain shut down: {REASONS.get(reason, reason)} at {d.now / 1e9:.3f}s "
          f"({len(d.owned)} pages)", file=sys.stderr)
    sys.exit(EXIT.get(reason, 1))


if __name__ == "__main__":
    main()
