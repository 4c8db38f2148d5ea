#!/usr/bin/env python3
"""nettest: end-to-end tests of httpd and kvstore with real clients.

The guest runs under tools/pvrun.py (default) or, with --runtime, on a real
Xenoform Host (tools/nethost.ts, Node + tsx); either way its vif is joined
to a Linux TAP that carries the segment's gateway address 10.0.0.1/8, and
Python's http.client (a real Linux TCP stack) talks to the guest. Needs
root and /dev/net/tun; prints "skipped" and exits 0 without them.

Checks: GET / JSON fields, 404, 405, HEAD, keep-alive reuse, pipelining,
Connection: close, 16 concurrent keep-alive clients, chunked and
100-continue uploads; kvstore PUT/GET/DELETE/list, a 200 KiB value, and a
power cut (the domain destroyed / pvrun killed with unflushed writes lost,
or torn) after which every acknowledged key is still there.
Prints "N passed, N failed".
"""
import argparse, http.client, json, os, random, socket, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


class Guest:
    def __init__(self, image, mac, runtime, disk=None, tap="xftest0", seconds=60):
        self.ip = "10.%d.%d.%d" % tuple(int(x, 16) for x in mac.split(":")[3:])
        if runtime:
            cmd = ["node", "--import", "tsx", os.path.join(HERE, "nethost.ts"), image, "--mac", mac,
                   "--tap", tap, "--seconds", str(seconds)]
            if disk:
                cmd += ["--disk", disk + ":16"]
            cwd = os.path.dirname(ROOT)
        else:
            cmd = [sys.executable, os.path.join(HERE, "pvrun.py"), image, "--realtime", "--timeout",
                   str(seconds), "--vif", f"mac={mac},tap={tap}"]
            if disk:
                cmd += ["--disk", disk + ",size=16,torn"]
            cwd = ROOT
        self.p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines = []
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            if "listening on :80" in line:
                return
        raise RuntimeError("guest did not start: " + " | ".join(self.lines))

    def conn(self):
        return http.client.HTTPConnection(self.ip, 80, timeout=10)

    def stop(self):
        """Ends the guest at once: for a disk, a power cut. pvrun gets SIGINT
        so that its write cache is dropped or torn (`torn`) as it exits."""
        if self.p.poll() is None:
            self.p.send_signal(2)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def ping(ip):
    """One ICMP echo over a raw socket; True if the matching reply came."""
    import struct
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(5)
    data = b"xenoform-ping-" + os.urandom(8)
    hdr = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1)
    csum = 0
    pkt = hdr + data
    for i in range(0, len(pkt), 2):
        csum += (pkt[i] << 8) + (pkt[i + 1] if i + 1 < len(pkt) else 0)
    while csum >> 16:
        csum = (csum & 0xFFFF) + (csum >> 16)
    pkt = struct.pack("!BBHHH", 8, 0, ~csum & 0xFFFF, 0x4242, 1) + data
    s.sendto(pkt, (ip, 0))
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            r, addr = s.recvfrom(2048)
        except socket.timeout:
            return False
        icmp = r[(r[0] & 15) * 4:]
        if addr[0] == ip and icmp[0] == 0 and icmp[4:6] == b"\x42\x42" and icmp[8:] == data:
            return True
    return False


def req(c, method, path, body=None, headers=None, chunked=False):
    c.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
    r = c.getresponse()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()


def test_httpd(runtime):
    g = Guest(os.path.join(ROOT, "build/httpd.elf"), "00:16:3e:00:00:05", runtime)
    try:
        check("httpd console", g.lines[-2].startswith("httpd: address 10.0.0.5/8 gateway 10.0.0.1"), g.lines)
        c = g.conn()
        st, h, b = req(c, "GET", "/")
        j = json.loads(b)
        check("httpd GET / 200 json", st == 200 and h.get("content-type") == "application/json" and
              j["kernel"] == "httpd" and isinstance(j["uptimeMs"], int) and j["requests"] >= 1, (st, h, b))
        check("httpd Content-Length", int(h["content-length"]) == len(b))
        check("httpd Date header", h.get("date", "").endswith(" GMT") and len(h["date"]) == 29, h.get("date"))
        check("ICMP echo reply", ping(g.ip))
        st2, _, b2 = req(c, "GET", "/")
        check("httpd keep-alive: requests counts", st2 == 200 and json.loads(b2)["requests"] == j["requests"] + 1)
        st, _, _ = req(c, "GET", "/missing")
        check("httpd 404", st == 404)
        st, h, _ = req(c, "POST", "/", body=b"x")
        check("httpd 405 with Allow", st == 405 and "GET" in h.get("allow", ""))
        st, h, b = req(c, "HEAD", "/")
        check("httpd HEAD", st == 200 and b == b"" and int(h["content-length"]) > 0)
        st, h, _ = req(c, "GET", "/", headers={"Connection": "close"})
        check("httpd Connection: close", st == 200 and h.get("connection") == "close")
        s = socket.create_connection((g.ip, 80), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 5 + b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        check("httpd pipelining (6 in one write)", data.count(b"HTTP/1.1 200") == 5 and data.count(b"HTTP/1.1 404") == 1)
        errs = []

        def worker():
            try:
                cc = g.conn()
                for _ in range(25):
                    s_, _, b_ = req(cc, "GET", "/")
                    assert s_ == 200 and b_.startswith(b'{"kernel":"httpd"')
            except Exception as e:
                errs.append(repr(e))
        t0 = time.time()
        ts = [threading.Thread(target=worker) for _ in range(16)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        dt = time.time() - t0
        check(f"httpd 16 concurrent keep-alive clients x 25 ({400 / dt:.0f} req/s)", not errs, errs[:3])
    finally:
        g.stop()


def test_kvstore(runtime):
    tmp = tempfile.mkdtemp()
    disk = os.path.join(tmp, "kv.img")
    g = Guest(os.path.join(ROOT, "build/kvstore.elf"), "00:16:3e:00:00:06", runtime, disk)
    acked = {}
    try:
        check("kvstore console", any(l.startswith("kvstore: new store") for l in g.lines), g.lines)
        c = g.conn()
        st, _, _ = req(c, "PUT", "/kv/alpha", body=b"one")
        check("kvstore PUT 204", st == 204)
        st, h, b = req(c, "GET", "/kv/alpha")
        check("kvstore GET 200", st == 200 and b == b"one" and h.get("content-type") == "application/octet-stream")
        st, _, _ = req(c, "GET", "/kv/none")
        check("kvstore GET missing 404", st == 404)
        st, _, _ = req(c, "DELETE", "/kv/none")
        check("kvstore DELETE missing 404", st == 404)
        req(c, "PUT", "/kv/beta", body=b"two")
        st, _, _ = req(c, "DELETE", "/kv/beta")
        check("kvstore DELETE 204", st == 204)
        st, _, _ = req(c, "GET", "/kv/beta")
        check("kvstore deleted key 404", st == 404)
        big = os.urandom(200 * 1024)
        st, _, _ = req(c, "PUT", "/kv/big", body=big)
        st2, _, b = req(c, "GET", "/kv/big")
        check("kvstore 200 KiB value", st == 204 and st2 == 200 and b == big)
        st, _, _ = req(c, "PUT", "/kv/chunked", body=iter([b"ab", b"cd", b"ef"]),
                       headers={"Transfer-Encoding": "chunked"}, chunked=True)
        st2, _, b = req(c, "GET", "/kv/chunked")
        check("kvstore chunked PUT", st == 204 and b == b"abcdef")
        st, _, _ = req(c, "PUT", "/kv/cont", body=b"xyz", headers={"Expect": "100-continue"})
        check("kvstore Expect: 100-continue", st == 204)
        st, _, b = req(c, "GET", "/kv/")
        check("kvstore list", st == 200 and b == b"alpha\nbig\nchunked\ncont\n", b)
        st, _, b = req(c, "GET", "/")
        check("kvstore status json", st == 200 and json.loads(b)["keys"] == 4)
        acked.update({"alpha": b"one", "big": big, "chunked": b"abcdef", "cont": b"xyz"})
        # writers until the power goes
        stop_at = time.time() + 4
        lock = threading.Lock()

        def writer(w):
            cc = g.conn()
            i = 0
            while True:
                k = f"w{w}-{i}"
                v = os.urandom(random.randint(0, 3000))
                try:
                    s_, _, _ = req(cc, "PUT", "/kv/" + k, body=v)
                except Exception:
                    return
                if s_ == 204:
                    with lock:
                        acked[k] = v
                i += 1
                if time.time() > stop_at + 30:
                    return
        ts = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
        [t.start() for t in ts]
        time.sleep(4)
        g.stop()                                   # power cut mid-write
        [t.join() for t in ts]
    finally:
        g.stop()
    g = Guest(os.path.join(ROOT, "build/kvstore.elf"), "00:16:3e:00:00:06", runtime, disk)
    try:
        rec = [l for l in g.lines if "recovered" in l]
        check("kvstore recovered after the power cut", bool(rec), g.lines)
        c = g.conn()
        bad = [k for k, v in acked.items() if req(c, "GET", "/kv/" + k)[2] != v]
        check(f"kvstore every acknowledged write survives ({len(acked)} keys)", not bad, bad[:5])
    finally:
        g.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", action="store_true", help="run on the real Xenoform Host (nethost.ts)")
    a = ap.parse_args()
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        print("nettest: needs root and /dev/net/tun; skipped")
        return 0
    if not a.runtime:
        try:
            import unicorn  # noqa: F401
        except ImportError:
            print("nettest: python3 unicorn not installed; skipped")
            return 0
    for t in (test_httpd, test_kvstore):
        try:
            t(a.runtime)
        except Exception as e:
            check(t.__name__, False, repr(e))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
