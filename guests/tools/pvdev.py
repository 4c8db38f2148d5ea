"""pvrun's split-driver back ends: grant tables, unbound event channels for
front ends, a blkback over a disk image file and a netback (see pvrun.py).

Like pvrun itself this is a development aid for the guest kit, written from
xen-abi.md §6-8 (io/blkif.h, io/netif.h, io/ring.h, grant_table.h); it is
not Xenoform's Domain-0. What it checks on the way: grant entries must be
GTF_permit_access for domain 0, read-only grants are never written,
requests are parsed with the i386 layouts, and the XenbusState handshake
runs in the order Linux back ends expect (back end in InitWait first;
front end publishes its keys and Initialised in one transaction; back end
Connected; front end Connected).

Disk images may be opened with a write cache (`cache`): writes then stay in
memory until the guest flushes, and whatever was not flushed when the run
ends is lost, as in a power cut (`torn` additionally applies a random
subset of the unflushed sector writes, like a drive that wrote some of its
cache before the power went).
"""
import os, random, struct, sys

EINVAL, ENOSYS = 22, 38
DOM0 = 0
GTF_permit_access, GTF_readonly = 1, 1 << 2


class BadGrant(Exception):
    pass


# ---- grant table and event channels (installed on pvrun's Domain) ----

def grant_frame(d, ref, write):
    """The MFN behind a grant reference of the guest, checked as Xen does."""
    per = 512
    if ref // per >= len(d.gnt_frames):
        raise BadGrant(f"ref {ref} beyond the table")
    flags, domid, frame = struct.unpack("<HHI", d.mget(d.gnt_frames[ref // per], (ref % per) * 8, 8))
    if flags & 3 != GTF_permit_access or domid != DOM0:
        raise BadGrant(f"ref {ref}: flags {flags:#x} domid {domid}")
    if write and flags & GTF_readonly:
        raise BadGrant(f"ref {ref} is read-only")
    if frame not in d.owned:
        raise BadGrant(f"ref {ref}: frame {frame:#x} not the guest's")
    return frame


def hc_20(d, cmd, uop, count, *_):                       # grant_table_op
    if cmd == 2:                                          # setup_table
        if count != 1:
            return -EINVAL
        dom, nr, _, lst = struct.unpack("<HxxIhxxI", d.rd(uop, 16))
        if nr > 32:
            d.uc.mem_write(uop + 8, struct.pack("<h", -1))
            return 0
        while len(d.gnt_frames) < max(nr, 1):
            d.next_mfn += 1
            d.xen_frames.add(d.next_mfn)
            d.gnt_frames.append(d.next_mfn)
        for i in range(nr):
            d.w32(lst + 4 * i, d.gnt_frames[i])
        d.uc.mem_write(uop + 8, struct.pack("<h", 0))
        return 0
    return -ENOSYS


def evtchn_extra(d, cmd, arg):
    """EVTCHNOP alloc_unbound (6) and close (3); None if not handled here."""
    if cmd == 6:
        dom, remote = struct.unpack("<HH", d.rd(arg, 4))
        port = max(d.ports) + 1
        d.ports[port] = f"unbound-for-{remote}"
        d.w32(arg + 4, port)
        return 0
    if cmd == 3:
        port = d.u32(arg)
        if port not in d.ports:
            return -EINVAL
        d.ports.pop(port, None)
        d.dev_ports.pop(port, None)
        return 0
    return None


def install(cls):
    cls.grant_frame = grant_frame
    cls.hc_20 = hc_20


# ---- xenbus plumbing shared by the back ends ----

class Backend:
    kind = "?"

    def __init__(self, d, devid, extra_front=(), extra_back=()):
        self.d, self.devid = d, devid
        self.front = f"/local/domain/{d.domid}/device/{self.kind}/{devid}"
        self.back = f"/local/domain/0/backend/{self.kind}/{d.domid}/{devid}"
        st = d.store
        for k, v in [("backend", self.back), ("backend-id", "0"), ("state", "1"), *extra_front]:
            st.tree[f"{self.front}/{k}"] = v
        for k, v in [("frontend", self.front), ("frontend-id", str(d.domid)), ("online", "1"),
                     ("state", "2"), *extra_back]:
            st.tree[f"{self.back}/{k}"] = v
        self.connected, self.port = False, None
        self.front_nodes, self.back_nodes = [("backend", self.back), ("backend-id", "0"), ("state", "1"),
                                             *extra_front], [("state", "2")]
        st.hooks.append(self.on_write)

    def recreate(self):
        """A new domain after a restore: the old connection is gone; the
        toolstack writes the front end's nodes again and the back end
        waits in InitWait."""
        self.connected, self.port = False, None
        for k in list(self.d.store.tree):
            if k.startswith(self.front + "/"):
                del self.d.store.tree[k]
        for k, v in self.front_nodes:
            self.d.store.tree[f"{self.front}/{k}"] = v
        self.d.store.tree[f"{self.back}/state"] = "2"

    def rd(self, key):
        return self.d.store.tree.get(f"{self.front}/{key}")

    def set_state(self, s):
        self.d.store.write_abs(f"{self.back}/state", str(s))

    def log(self, msg):
        if self.d.trace:
            print(f"pvrun: {self.kind} {self.devid}: {msg}", file=sys.stderr)

    def on_write(self, path, value):
        if path != f"{self.front}/state":
            return
        s = int(value or 0)
        self.log(f"front-end state {s}")
        if s == 3 and not self.connected:
            try:
                self.connect()
            except (BadGrant, ValueError, TypeError) as e:
                print(f"pvrun: {self.kind} {self.devid}: cannot connect: {e}", file=sys.stderr)
                self.set_state(6)
                return
            self.connected = True
            self.d.dev_ports[self.port] = self.kick
            self.set_state(4)
        elif s in (5, 6):
            if self.connected:
                self.d.dev_ports.pop(self.port, None)
                self.connected = False
            self.set_state(6 if s == 6 else 5)

    def notify(self):
        self.d.raise_port(self.port)


def ring_ptrs(d, mfn):
    return struct.unpack("<4I", d.mget(mfn, 0, 16))


# ---- blkback ----

class BlkBack(Backend):
    kind = "vbd"
    SLOT = 108

    def __init__(self, d, spec, devid=51712):
        parts = spec.split(",")
        self.path, opts = parts[0], set(parts[1:])
        self.ro = "ro" in opts
        self.cache = "cache" in opts or "torn" in opts
        self.torn = "torn" in opts
        size = next((int(o[5:]) for o in opts if o.startswith("size=")), 16)
        self.flush = next((o[6:] for o in opts if o.startswith("flush=")), "flush-cache")
        self.ssize = next((int(o[12:]) for o in opts if o.startswith("sector-size=")), 512)
        if not os.path.exists(self.path):
            with open(self.path, "wb") as f:
                f.truncate(size << 20)
        self.f = open(self.path, "rb" if self.ro else "r+b")
        self.sectors = os.path.getsize(self.path) // 512
        self.dirty = {}                                   # sector -> bytes (write cache)
        back = [("sectors", str(self.sectors)), ("info", "4" if self.ro else "0"),
                ("sector-size", str(self.ssize)), ("mode", "r" if self.ro else "w"),
                ("params", self.path), ("type", "file"), ("dev", "xvda")]
        if self.flush == "flush-cache":
            back.append(("feature-flush-cache", "1"))
        elif self.flush == "barrier":
            back.append(("feature-barrier", "1"))
        super().__init__(d, devid, [("virtual-device", str(devid)), ("device-type", "disk")], back)
        self.reads = self.writes = self.flushes = 0

    def connect(self):
        proto = self.rd("protocol")
        if proto != "x86_32-abi":
            raise ValueError(f"protocol {proto!r}")
        self.ring = self.d.grant_frame(int(self.rd("ring-ref")), True)
        self.port = int(self.rd("event-channel"))
        if self.port not in self.d.ports:
            raise ValueError(f"event channel {self.port} not allocated")
        self.req_cons = self.rsp_prod = 0

    def sector_read(self, s):
        if s in self.dirty:
            return self.dirty[s]
        self.f.seek(s * 512)
        return self.f.read(512).ljust(512, b"\0")

    def sector_write(self, s, data):
        if self.cache:
            self.dirty[s] = data
        else:
            self.f.seek(s * 512)
            self.f.write(data)

    def do_flush(self):
        for s in sorted(self.dirty):
            self.f.seek(s * 512)
            self.f.write(self.dirty[s])
        self.dirty.clear()
        if not self.ro:
            self.f.flush()
            os.fsync(self.f.fileno())
        self.flushes += 1

    def power_cut(self):
        if self.torn and self.dirty:
            rng = random.Random(len(self.dirty))
            for s in sorted(self.dirty):
                if rng.random() < 0.5:
                    self.f.seek(s * 512)
                    self.f.write(self.dirty[s])
            self.f.flush()
        self.dirty.clear()

    def handle(self, op, nseg, sector, segs):
        if op in (2, 3):                                  # barrier / flush
            if (op == 3 and self.flush != "flush-cache") or (op == 2 and self.flush != "barrier"):
                return -2
            self.do_flush()
            return 0
        if op not in (0, 1) or not 1 <= nseg <= 11:
            return -1
        if op == 1 and self.ro:
            return -1
        unit = self.ssize // 512
        pos = sector
        plan = []
        for gref, first, last in segs[:nseg]:
            if last < first or last > 7 or first % unit or (last + 1) % unit:
                return -1
            plan.append((self.d.grant_frame(gref, op == 0), first, last, pos))
            pos += last - first + 1
        if sector % unit or pos > self.sectors:
            return -1
        for mfn, first, last, at in plan:
            for k in range(last - first + 1):
                if op == 0:
                    self.d.mput(mfn, (first + k) * 512, self.sector_read(at + k))
                else:
                    self.sector_write(at + k, bytes(self.d.mget(mfn, (first + k) * 512, 512)))
        if op == 0:
            self.reads += 1
        else:
            self.writes += 1
        return 0

    def kick(self):
        if not self.connected:
            return
        d, m = self.d, self.ring
        while True:
            req_prod = ring_ptrs(d, m)[0]
            while self.req_cons != req_prod:
                off = 64 + (self.req_cons % 32) * self.SLOT
                raw = d.mget(m, off, self.SLOT)
                op, nseg, handle, rid, sector = struct.unpack_from("<BBHQQ", raw, 0)
                segs = [struct.unpack_from("<IBB", raw, 20 + 8 * i) for i in range(11)]
                self.req_cons += 1
                try:
                    status = self.handle(op, nseg, sector, segs)
                except BadGrant as e:
                    print(f"pvrun: vbd: bad grant: {e}", file=sys.stderr)
                    status = -1
                if status != 0:
                    self.log(f"request op {op} sector {sector} nseg {nseg} -> {status}")
                roff = 64 + (self.rsp_prod % 32) * self.SLOT
                d.mput(m, roff, struct.pack("<QBxh", rid, op, status))
                self.rsp_prod += 1
            d.mput(m, 8, struct.pack("<I", self.rsp_prod & 0xFFFFFFFF))
            d.mput(m, 4, struct.pack("<I", (self.req_cons + 1) & 0xFFFFFFFF))  # req_event
            if ring_ptrs(d, m)[0] == self.req_cons:
                break
        self.notify()


# ---- netback ----

class NetBack(Backend):
    """A vif whose other end is a Linux TAP device (real TCP/IP peers such
    as curl on the host) or, without one, a list that tests can read."""
    kind = "vif"
    TX_SLOT, RX_SLOT = 12, 8

    def __init__(self, d, spec, devid=0):
        opts = dict(kv.split("=", 1) for kv in spec.split(",") if "=" in kv)
        self.mac = opts.get("mac", "00:16:3e:00:00:05")
        front = [("mac", self.mac), ("handle", str(devid))]
        for key in ("ip", "netmask", "gateway"):
            if key in opts:
                front.append((key, opts[key]))
        super().__init__(d, devid, front, [("mac", self.mac), ("handle", str(devid)),
                                           ("feature-rx-copy", "1"), ("feature-rx-flip", "0")])
        self.tap = None
        if "tap" in opts:
            self.tap = open_tap(opts["tap"])
        self.outbox = []                          # frames the guest sent (no tap)
        self.inbox = []                           # frames waiting for rx buffers
        self.tx_frames = self.rx_frames = 0

    def connect(self):
        if self.rd("request-rx-copy") != "1":
            raise ValueError("front end did not ask for rx copy")
        self.txr = self.d.grant_frame(int(self.rd("tx-ring-ref")), True)
        self.rxr = self.d.grant_frame(int(self.rd("rx-ring-ref")), True)
        self.port = int(self.rd("event-channel"))
        if self.port not in self.d.ports:
            raise ValueError(f"event channel {self.port} not allocated")
        self.tx_cons = self.tx_rsp = self.rx_cons = self.rx_rsp = 0

    def kick(self):
        if not self.connected:
            return
        d, m = self.d, self.txr
        notify = False
        while True:
            prod = ring_ptrs(d, m)[0]
            while self.tx_cons != prod:
                raw = d.mget(m, 64 + (self.tx_cons % 256) * self.TX_SLOT, self.TX_SLOT)
                gref, off, flags, rid, size = struct.unpack("<IHHHH", raw)
                self.tx_cons += 1
                status = 0
                try:
                    if flags & ~0x3 or off + size > 4096 or size < 14:
                        status = -1                   # no sg / extras offered
                    else:
                        frame = bytes(d.mget(d.grant_frame(gref, False), off, size))
                        self.tx_frames += 1
                        if self.tap is not None:
                            os.write(self.tap, frame)
                        else:
                            self.outbox.append(frame)
                except BadGrant as e:
                    print(f"pvrun: vif: bad tx grant: {e}", file=sys.stderr)
                    status = -1
                d.mput(m, 64 + (self.tx_rsp % 256) * self.TX_SLOT, struct.pack("<Hh", rid, status))
                self.tx_rsp += 1
                notify = True
            d.mput(m, 8, struct.pack("<I", self.tx_rsp & 0xFFFFFFFF))
            d.mput(m, 4, struct.pack("<I", (self.tx_cons + 1) & 0xFFFFFFFF))
            if ring_ptrs(d, m)[0] == self.tx_cons:
                break
        if self.deliver() or notify:
            self.notify()

    def receive(self, frame):
        self.inbox.append(frame)
        if self.connected and self.deliver():
            self.notify()

    def deliver(self):
        """Copies waiting frames into posted rx buffers; True if any."""
        if not self.connected:
            return False
        d, m = self.d, self.rxr
        done = False
        while self.inbox:
            prod = ring_ptrs(d, m)[0]
            if self.rx_cons == prod:
                break                                # no buffers: frames wait
            raw = d.mget(m, 64 + (self.rx_cons % 256) * self.RX_SLOT, self.RX_SLOT)
            rid, _, gref = struct.unpack("<HHI", raw)
            self.rx_cons += 1
            frame = self.inbox.pop(0)[:4096]
            try:
                d.mput(d.grant_frame(gref, True), 0, frame)
                status = len(frame)
            except BadGrant as e:
                print(f"pvrun: vif: bad rx grant: {e}", file=sys.stderr)
                status = -1
            d.mput(m, 64 + (self.rx_rsp % 256) * self.RX_SLOT, struct.pack("<HHHh", rid, 0, 0, status))
            self.rx_rsp += 1
            self.rx_frames += 1
            done = True
        if done:
            d.mput(m, 8, struct.pack("<I", self.rx_rsp & 0xFFFFFFFF))
        return done

    def poll_tap(self, timeout):
        """Reads frames from the tap, waiting up to timeout seconds."""
        import select
        if self.tap is None:
            return False
        got = False
        r, _, _ = select.select([self.tap], [], [], max(timeout, 0))
        while r:
            self.receive(os.read(self.tap, 65536))
            got = True
            r, _, _ = select.select([self.tap], [], [], 0)
        return got


def open_tap(name):
    from tapbridge import open_tap as open_configured
    return open_configured(name)
