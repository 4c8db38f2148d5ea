"""pvrun's xenstore: the wire protocol of io/xs_wire.h and docs/misc/xenstore.txt
(read, write, directory, rm, watch/unwatch with an immediate first firing,
transactions whose first commit fails with EAGAIN to exercise retries)."""
import struct

ERROR, WATCH_EVENT = 16, 15


class XenStore:
    def __init__(self, domid, mem_kib):
        self.home = f"/local/domain/{domid}"
        self.tree = {f"{self.home}/memory/target": str(mem_kib), f"{self.home}/name": "guest"}
        self.watches, self.txs, self.next_tx, self.failed_once = [], {}, 1, False
        self.pending, self.buf = b"", b""
        self.hooks = []           # fn(path, value): device back ends react to front-end writes

    def run_hooks(self, path, value):
        for h in list(self.hooks):
            h(path, value)

    def path(self, p):
        return p if p.startswith("/") else f"{self.home}/{p}"

    def fire(self, path):
        for wpath, token in self.watches:
            if path == wpath or path.startswith(wpath + "/"):
                self.event(path, token)

    def event(self, path, token):
        body = path.encode() + b"\0" + token.encode() + b"\0"
        self.pending += struct.pack("<4I", WATCH_EVENT, 0, 0, len(body)) + body

    def write_abs(self, path, value):
        self.tree[path] = value
        self.fire(path)
        self.run_hooks(path, value)
        return True

    def take_output(self):
        out, self.pending = self.pending, b""
        return out

    def feed(self, data):
        """Consumes whole requests from data; returns the bytes used."""
        used = 0
        while len(data) - used >= 16:
            typ, rid, tx, ln = struct.unpack_from("<4I", data, used)
            if len(data) - used < 16 + ln:
                break
            body = data[used + 16:used + 16 + ln]
            used += 16 + ln
            rtype, reply = self.handle(typ, tx, body)
            self.pending += struct.pack("<4I", rtype, rid, tx, len(reply)) + reply
            self.flush_after()
        return used

    def view(self, tx):
        v = dict(self.tree)
        v.update(self.txs.get(tx, {}))
        return {k: x for k, x in v.items() if x is not None}

    def handle(self, typ, tx, body):
        args = body.split(b"\0")
        a0 = args[0].decode()
        err = lambda e: (ERROR, e.encode() + b"\0")
        if tx and tx not in self.txs and typ != 6:
            return err("ENOENT")
        if typ == 2:                                     # READ
            v = self.view(tx).get(self.path(a0))
            if v is None:
                return err("ENOENT")
            return typ, v.encode()
        if typ == 11:                                    # WRITE
            p, value = self.path(a0), body[len(args[0]) + 1:].decode()
            if tx:
                self.txs[tx][p] = value
            else:
                self.write_abs(p, value)
            return typ, b"OK\0"
        if typ == 13:                                    # RM
            p = self.path(a0)
            if tx:
                self.txs[tx][p] = None
            else:
                self.tree.pop(p, None)
                self.fire(p)
            return typ, b"OK\0"
        if typ == 1:                                     # DIRECTORY
            p = self.path(a0).rstrip("/") + "/"
            kids = sorted({k[len(p):].split("/")[0] for k in self.view(tx) if k.startswith(p)})
            return typ, b"".join(k.encode() + b"\0" for k in kids)
        if typ == 4:                                     # WATCH
            self.watches.append((self.path(a0), args[1].decode()))
            self.queue_after = (self.path(a0), args[1].decode())
            return typ, b"OK\0"
        if typ == 5:                                     # UNWATCH
            self.watches.remove((self.path(a0), args[1].decode()))
            return typ, b"OK\0"
        if typ == 6:                                     # TRANSACTION_START
            t = self.next_tx
            self.next_tx += 1
            self.txs[t] = {}
            return typ, str(t).encode() + b"\0"
        if typ == 7:                                     # TRANSACTION_END
            writes = self.txs.pop(tx)
            if a0 == "T":
                if not self.failed_once:
                    self.failed_once = True
                    return err("EAGAIN")
                for p, v in writes.items():
                    if v is None:
                        self.tree.pop(p, None)
                    else:
                        self.tree[p] = v
                    self.fire(p)
                for p, v in writes.items():
                    if v is not None:
                        self.run_hooks(p, v)
            return typ, b"OK\0"
        return err("ENOSYS")

    def flush_after(self):
        if getattr(self, "queue_after", None):
            self.event(*self.queue_after)
            self.queue_after = None
