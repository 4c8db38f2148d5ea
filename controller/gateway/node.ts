/**
 * A host on the emulated segment: one MAC and one IPv4 address, ARP (RFC 826) with a cache
 * learned from every ARP packet seen (requests, replies, gratuitous announcements — so a
 * guest that moves and announces itself is found at once), ICMP echo (it answers pings and can
 * send them), and TCP demultiplexed to TcpConnection objects (listen and connect). The gateway
 * is one of these; tests use another as a guest. Frames come and go through a FrameLink, which
 * can be swapped (the host agent restarted) without losing connections: TCP retransmits.
 */
import type { FrameLink } from '../../runtime/api.ts';
import {
  ARP_REPLY, ARP_REQUEST, BROADCAST_MAC, ETHERTYPE_ARP, ETHERTYPE_IPV4, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, IPPROTO_ICMP,
  IPPROTO_TCP, TCP_ACK, TCP_RST, TCP_SYN, arpPacket, ethFrame, icmpEcho, ipNum, ipText, ipv4Packet, macBytes, macText,
  parseArp, parseEth, parseIcmpEcho, parseIpv4, parseTcp, tcpPacket, type TcpSegment,
} from './packets.ts';
import { TcpConnection, realClock, type TcpClock, type TcpEvents, type TcpOptions } from './tcp.ts';

export interface NodeOptions {
  mac: string;
  ip: string;
  /** prefix length of the segment (default 8: 10.0.0.0/8) */
  prefix?: number;
  clock?: TcpClock;
  tcp?: TcpOptions;
  /** initial sequence numbers (default random) */
  iss?: () => number;
  /** packets held per address while ARP resolves it */
  arpQueue?: number;
  arpRetryMs?: number;
}

export interface NodeStats {
  framesIn: number;
  framesOut: number;
  /** frames refused: not for us, malformed, bad checksum */
  dropped: number;
  arpRequests: number;
  rstsSent: number;
  pingsAnswered: number;
}

interface Pending {
  packets: Uint8Array[];
  tries: number;
  cancel: () => void;
}

const ARP_MAX = 4096;

export class IpNode {
  readonly mac: Uint8Array;
  readonly ip: number;
  private readonly mask: number;
  private link: FrameLink | undefined;
  private readonly clock: TcpClock;
  private readonly arp = new Map<number, { mac: Uint8Array; at: number }>();
  private readonly pending = new Map<number, Pending>();
  private readonly conns = new Map<string, TcpConnection>();
  private readonly listeners = new Map<number, (c: TcpConnection, remote: { ip: string; port: number }) => void>();
  private readonly pings = new Map<number, (rttMs: number) => void>();
  private nextEphemeral = 49152;
  private ipId = 1;
  private pingSeq = 1;
  readonly stats: NodeStats = { framesIn: 0, framesOut: 0, dropped: 0, arpRequests: 0, rstsSent: 0, pingsAnswered: 0 };

  constructor(private readonly o: NodeOptions) {
    this.mac = macBytes(o.mac);
    this.ip = ipNum(o.ip);
    const prefix = o.prefix ?? 8;
    this.mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    this.clock = o.clock ?? realClock;
  }

  /** Join the segment through `link` (replacing any previous one) and announce ourselves. */
  attach(link: FrameLink): void {
    this.link = link;
    link.onFrame((f) => {
      if (this.link === link) this.input(f);
    });
    link.onClose(() => {
      if (this.link === link) this.link = undefined;
    });
    this.announce();
  }

  get attached(): boolean {
    return this.link !== undefined && !this.link.closed;
  }

  /** A gratuitous ARP: who-has our IP, from our IP (RFC 5227 announcement). */
  announce(): void {
    this.sendFrame(BROADCAST_MAC, ETHERTYPE_ARP, arpPacket({ op: ARP_REQUEST, sha: this.mac, spa: this.ip, tha: new Uint8Array(6), tpa: this.ip }));
  }

  /** Accept TCP connections on `port`. Returns a function that stops listening. */
  listen(port: number, onConnection: (c: TcpConnection, remote: { ip: string; port: number }) => void): () => void {
    this.listeners.set(port, onConnection);
    return () => this.listeners.delete(port);
  }

  /** Open a TCP connection to ip:port; `ev` is in place before the SYN leaves. */
  connect(ip: string, port: number, ev: TcpEvents = {}, opts: TcpOptions = {}): TcpConnection {
    const dst = ipNum(ip);
    let local = 0;
    for (let tries = 0; tries < 16384; tries++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p >= 65535 ? 49152 : p + 1;
      if (!this.conns.has(key(dst, port, p))) {
        local = p;
        break;
      }
    }
    if (!local) throw new Error('no free local port');
    const c = this.makeConn(dst, port, local, opts);
    c.ev = ev;
    c.connect();
    return c;
  }

  /** ICMP echo to `ip`; resolves with the round trip in ms, or rejects after `timeoutMs`. */
  ping(ip: string, timeoutMs = 1000, data: Uint8Array = new Uint8Array(32)): Promise<number> {
    const seq = this.pingSeq++ & 0xffff;
    const start = this.clock.now();
    return new Promise((resolve, reject) => {
      let cancel = () => undefined as void;
      this.pings.set(seq, () => {
        this.pings.delete(seq);
        cancel();
        resolve(this.clock.now() - start);
      });
      cancel = this.clock.setTimer(timeoutMs, () => {
        this.pings.delete(seq);
        reject(new Error(`no echo reply from ${ip}`));
      });
      this.sendIp(ipNum(ip), IPPROTO_ICMP, icmpEcho({ type: ICMP_ECHO_REQUEST, id: 0x5846, seq, data }));
    });
  }

  /** The ARP cache, for status and tests. */
  neighbours(): { ip: string; mac: string }[] {
    return [...this.arp].map(([ip, e]) => ({ ip: ipText(ip), mac: macText(e.mac) }));
  }

  get connections(): number {
    return this.conns.size;
  }

  /** Reset every connection and detach. */
  close(): void {
    for (const c of [...this.conns.values()]) c.abort();
    for (const p of this.pending.values()) p.cancel();
    this.pending.clear();
    this.link = undefined;
  }

  // ---- input ---------------------------------------------------------------------------------

  input(frame: Uint8Array): void {
    this.stats.framesIn++;
    const eth = parseEth(frame);
    if (!eth) return void this.stats.dropped++;
    const forUs = eth.dst.every((b, i) => b === this.mac[i]) || eth.dst.every((b) => b === 0xff);
    if (!forUs) return void this.stats.dropped++;
    if (eth.type === ETHERTYPE_ARP) return this.inputArp(eth.payload);
    if (eth.type !== ETHERTYPE_IPV4) return void this.stats.dropped++;
    const ip = parseIpv4(eth.payload);
    if (!ip || ip.dst !== this.ip) return void this.stats.dropped++;
    if (ip.proto === IPPROTO_ICMP) return this.inputIcmp(ip.src, ip.payload);
    if (ip.proto === IPPROTO_TCP) {
      const seg = parseTcp(ip.payload, ip.src, ip.dst);
      if (!seg) return void this.stats.dropped++;
      return this.inputTcp(ip.src, seg);
    }
    this.stats.dropped++;
  }

  private inputArp(p: Uint8Array): void {
    const a = parseArp(p);
    if (!a || a.spa === 0 || !this.onSegment(a.spa) || a.spa === this.ip || a.sha[0]! & 1) return void this.stats.dropped++;
    // RFC 826 "merge": update a known sender; add it when the packet is for us. Gratuitous
    // announcements (target = sender) are added too: that is how a moved guest is found.
    if (this.arp.has(a.spa) || a.tpa === this.ip || a.tpa === a.spa) this.learn(a.spa, a.sha);
    if (a.op === ARP_REQUEST && a.tpa === this.ip) {
      this.sendFrame(a.sha, ETHERTYPE_ARP, arpPacket({ op: ARP_REPLY, sha: this.mac, spa: this.ip, tha: a.sha, tpa: a.spa }));
    }
  }

  private learn(ip: number, mac: Uint8Array): void {
    this.arp.delete(ip);
    if (this.arp.size >= ARP_MAX) this.arp.delete(this.arp.keys().next().value!);
    this.arp.set(ip, { mac: Uint8Array.from(mac), at: this.clock.now() });
    const waiting = this.pending.get(ip);
    if (waiting) {
      this.pending.delete(ip);
      waiting.cancel();
      for (const pkt of waiting.packets) this.sendFrame(mac, ETHERTYPE_IPV4, pkt);
    }
  }

  private inputIcmp(src: number, p: Uint8Array): void {
    const e = parseIcmpEcho(p);
    if (!e) return void this.stats.dropped++;
    if (e.type === ICMP_ECHO_REQUEST) {
      this.stats.pingsAnswered++;
      this.sendIp(src, IPPROTO_ICMP, icmpEcho({ type: ICMP_ECHO_REPLY, id: e.id, seq: e.seq, data: e.data }));
    } else this.pings.get(e.seq)?.(0);
  }

  private inputTcp(src: number, seg: TcpSegment): void {
    const c = this.conns.get(key(src, seg.srcPort, seg.dstPort));
    if (c) return c.input(seg);
    const onConn = this.listeners.get(seg.dstPort);
    if (onConn && seg.flags & TCP_SYN && !(seg.flags & (TCP_ACK | TCP_RST))) {
      const nc = this.makeConn(src, seg.srcPort, seg.dstPort, {});
      onConn(nc, { ip: ipText(src), port: seg.srcPort });
      nc.accept(seg);
      return;
    }
    // No such connection: reset (RFC 9293 §3.10.7.1), never in answer to a reset.
    if (seg.flags & TCP_RST) return;
    this.stats.rstsSent++;
    const len = seg.payload.length + (seg.flags & TCP_SYN ? 1 : 0) + (seg.flags & 0x01 ? 1 : 0);
    const rst: TcpSegment = seg.flags & TCP_ACK
      ? { srcPort: seg.dstPort, dstPort: seg.srcPort, seq: seg.ack, ack: 0, flags: TCP_RST, window: 0, payload: new Uint8Array(0) }
      : { srcPort: seg.dstPort, dstPort: seg.srcPort, seq: 0, ack: (seg.seq + len) >>> 0, flags: TCP_RST | TCP_ACK, window: 0, payload: new Uint8Array(0) };
    this.sendIp(src, IPPROTO_TCP, tcpPacket(rst, this.ip, src));
  }

  private makeConn(remote: number, remotePort: number, localPort: number, opts: TcpOptions): TcpConnection {
    const k = key(remote, remotePort, localPort);
    const c: TcpConnection = new TcpConnection(
      (seg) => this.sendIp(remote, IPPROTO_TCP, tcpPacket({ ...seg, srcPort: localPort, dstPort: remotePort }, this.ip, remote)),
      this.clock,
      { ...this.o.tcp, ...opts },
      this.o.iss?.() ?? Math.floor(Math.random() * 2 ** 32),
      () => {
        if (this.conns.get(k) === c) this.conns.delete(k);
      },
    );
    this.conns.set(k, c);
    return c;
  }

  // ---- output --------------------------------------------------------------------------------

  private onSegment(ip: number): boolean {
    return ((ip ^ this.ip) & this.mask) === 0;
  }

  private sendFrame(dst: Uint8Array, type: number, payload: Uint8Array): void {
    if (!this.link || this.link.closed) return;
    this.stats.framesOut++;
    this.link.send(ethFrame(dst, this.mac, type, payload));
  }

  /** Send an IP packet to a host on the segment, resolving its MAC first if need be. */
  sendIp(dst: number, proto: number, payload: Uint8Array): void {
    if (!this.onSegment(dst)) return void this.stats.dropped++; // nothing is routed off the segment
    const pkt = ipv4Packet(this.ip, dst, proto, this.ipId++, payload);
    const known = this.arp.get(dst);
    if (known) return this.sendFrame(known.mac, ETHERTYPE_IPV4, pkt);
    let p = this.pending.get(dst);
    if (!p) {
      p = { packets: [], tries: 0, cancel: () => undefined };
      this.pending.set(dst, p);
      this.arpRequest(dst, p);
    }
    if (p.packets.length < (this.o.arpQueue ?? 16)) p.packets.push(pkt); // beyond that, TCP resends
  }

  private arpRequest(dst: number, p: Pending): void {
    if (this.pending.get(dst) !== p) return;
    if (p.tries++ >= 3) {
      this.pending.delete(dst); // unresolved: the packets go; retransmissions will ask again
      return;
    }
    this.stats.arpRequests++;
    this.sendFrame(BROADCAST_MAC, ETHERTYPE_ARP, arpPacket({ op: ARP_REQUEST, sha: this.mac, spa: this.ip, tha: new Uint8Array(6), tpa: dst }));
    p.cancel = this.clock.setTimer(this.o.arpRetryMs ?? 1000, () => this.arpRequest(dst, p));
  }
}

const key = (ip: number, port: number, local: number): string => `${ip}:${port}:${local}`;
