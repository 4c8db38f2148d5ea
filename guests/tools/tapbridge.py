#!/usr/bin/env python3
"""tapbridge: joins a Linux TAP device to a byte stream of frames on
stdin/stdout, each a 2-byte big-endian length then the Ethernet frame
(the framing of runtime/devices/net/uplink.ts). Used by nethost.ts to put
the Linux host on the emulated segment as the gateway (10.0.0.1), so real
clients (curl, Python) reach guests. Needs root (or CAP_NET_ADMIN).

  tapbridge.py NAME [ADDR/PREFIX] [MAC]

creates (if missing) and configures the TAP: address ADDR/PREFIX (default
10.0.0.1/8), MAC (default 00:16:3e:00:00:01, the segment's gateway MAC),
link up. Exits when stdin closes.
"""
import fcntl, os, select, struct, subprocess, sys

TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000


def open_tap(name, addr="10.0.0.1/8", mac="00:16:3e:00:00:01"):
    """Creates (or attaches to) TAP `name`, gives it addr and mac, brings it
    up; returns its fd. The device goes away when the fd is closed."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    subprocess.run(["ip", "link", "set", name, "address", mac], check=False)
    subprocess.run(["ip", "addr", "flush", "dev", name], check=False)
    subprocess.run(["ip", "addr", "add", addr, "dev", name], check=True)
    subprocess.run(["ip", "link", "set", name, "up"], check=True)
    sys.stderr.write(f"tapbridge: {name} {addr} {mac} up\n")
    sys.stderr.flush()
    return fd


def main():
    name = sys.argv[1]
    addr = sys.argv[2] if len(sys.argv) > 2 else "10.0.0.1/8"
    mac = sys.argv[3] if len(sys.argv) > 3 else "00:16:3e:00:00:01"
    fd = open_tap(name, addr, mac)
    buf = b""
    while True:
        r, _, _ = select.select([fd, 0], [], [])
        if fd in r:
            frame = os.read(fd, 65536)
            if 14 <= len(frame) <= 1514:
                data = struct.pack(">H", len(frame)) + frame
                while data:
                    data = data[os.write(1, data):]
        if 0 in r:
            chunk = os.read(0, 65536)
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 2:
                n = struct.unpack(">H", buf[:2])[0]
                if len(buf) < 2 + n:
                    break
                os.write(fd, buf[2:2 + n])
                buf = buf[2 + n:]


if __name__ == "__main__":
    main()
