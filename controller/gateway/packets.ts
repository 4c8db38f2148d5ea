/**
 * Wire formats the gateway speaks on the segment: Ethernet II, ARP (RFC 826), IPv4 (RFC 791),
 * ICMP echo (RFC 792) and TCP headers (RFC 9293 §3.1), with the Internet checksum (RFC 1071).
 * Parsers validate everything they read (a guest is hostile) and return undefined for what
 * they refuse; encoders produce complete frames.
 */

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const BROADCAST_MAC = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

// ---- addresses -------------------------------------------------------------------------------

export function macBytes(mac: string): Uint8Array {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`bad MAC ${mac}`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function macText(b: Uint8Array, at = 0): string {
  return Array.from(b.subarray(at, at + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Dotted quad → u32. */
export function ipNum(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`bad IPv4 address ${ip}`);
  return parts.reduce((a, p) => a * 256 + Number(p), 0);
}

export function ipText(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
const put16 = (b: Uint8Array, at: number, v: number): void => {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
};
const put32 = (b: Uint8Array, at: number, v: number): void => {
  put16(b, at, v >>> 16);
  put16(b, at + 2, v & 0xffff);
};

// ---- checksum --------------------------------------------------------------------------------

/** One's-complement sum of b[off, off+len), folded, added to `sum` (RFC 1071). */
export function onesSum(b: Uint8Array, off: number, len: number, sum = 0): number {
  let s = sum;
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < end) s += b[i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The pseudo-header sum of RFC 9293 §3.1 (source, destination, protocol, length). */
function pseudoSum(src: number, dst: number, proto: number, len: number): number {
  let s = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

// ---- Ethernet --------------------------------------------------------------------------------

export interface EthFrame {
  dst: Uint8Array;
  src: Uint8Array;
  type: number;
  payload: Uint8Array;
}

export function parseEth(f: Uint8Array): EthFrame | undefined {
  if (f.length < 14) return undefined;
  return { dst: f.subarray(0, 6), src: f.subarray(6, 12), type: u16(f, 12), payload: f.subarray(14) };
}

export function ethFrame(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  put16(f, 12, type);
  f.set(payload, 14);
  return f;
}

// ---- ARP (RFC 826, Ethernet/IPv4) -------------------------------------------------------------

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

export interface Arp {
  op: number;
  sha: Uint8Array;
  spa: number;
  tha: Uint8Array;
  tpa: number;
}

export function parseArp(p: Uint8Array): Arp | undefined {
  if (p.length < 28 || u16(p, 0) !== 1 || u16(p, 2) !== ETHERTYPE_IPV4 || p[4] !== 6 || p[5] !== 4) return undefined;
  const op = u16(p, 6);
  if (op !== ARP_REQUEST && op !== ARP_REPLY) return undefined;
  return { op, sha: p.slice(8, 14), spa: u32(p, 14), tha: p.slice(18, 24), tpa: u32(p, 24) };
}

export function arpPacket(a: Arp): Uint8Array {
  const p = new Uint8Array(28);
  put16(p, 0, 1);
  put16(p, 2, ETHERTYPE_IPV4);
  p[4] = 6;
  p[5] = 4;
  put16(p, 6, a.op);
  p.set(a.sha, 8);
  put32(p, 14, a.spa);
  p.set(a.tha, 18);
  put32(p, 24, a.tpa);
  return p;
}

// ---- IPv4 (RFC 791) --------------------------------------------------------------------------

export interface Ipv4 {
  src: number;
  dst: number;
  proto: number;
  ttl: number;
  id: number;
  payload: Uint8Array;
}

/** A whole, unfragmented IPv4 packet with a valid header checksum, or undefined. */
export function parseIpv4(p: Uint8Array): Ipv4 | undefined {
  if (p.length < 20 || p[0]! >> 4 !== 4) return undefined;
  const ihl = (p[0]! & 0x0f) * 4;
  const total = u16(p, 2);
  if (ihl < 20 || total < ihl || total > p.length) return undefined;
  if (onesSum(p, 0, ihl) !== 0xffff) return undefined;
  if (u16(p, 6) & 0x3fff) return undefined; // MF or a fragment offset: no reassembly here
  return { src: u32(p, 12), dst: u32(p, 16), proto: p[9]!, ttl: p[8]!, id: u16(p, 4), payload: p.subarray(ihl, total) };
}

export function ipv4Packet(src: number, dst: number, proto: number, id: number, payload: Uint8Array, ttl = 64): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  p[0] = 0x45;
  put16(p, 2, p.length);
  put16(p, 4, id & 0xffff);
  put16(p, 6, 0x4000); // DF: the segment's MTU is known, nothing fragments
  p[8] = ttl;
  p[9] = proto;
  put32(p, 12, src);
  put32(p, 16, dst);
  put16(p, 10, ~onesSum(p, 0, 20) & 0xffff);
  p.set(payload, 20);
  return p;
}

// ---- ICMP echo (RFC 792) ---------------------------------------------------------------------

export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;

export interface IcmpEcho {
  type: number;
  id: number;
  seq: number;
  data: Uint8Array;
}

export function parseIcmpEcho(p: Uint8Array): IcmpEcho | undefined {
  if (p.length < 8 || onesSum(p, 0, p.length) !== 0xffff) return undefined;
  if (p[0] !== ICMP_ECHO_REQUEST && p[0] !== ICMP_ECHO_REPLY) return undefined;
  if (p[1] !== 0) return undefined;
  return { type: p[0]!, id: u16(p, 4), seq: u16(p, 6), data: p.subarray(8) };
}

export function icmpEcho(e: IcmpEcho): Uint8Array {
  const p = new Uint8Array(8 + e.data.length);
  p[0] = e.type;
  put16(p, 4, e.id);
  put16(p, 6, e.seq);
  p.set(e.data, 8);
  put16(p, 2, ~onesSum(p, 0, p.length) & 0xffff);
  return p;
}

// ---- TCP (RFC 9293 §3.1) ---------------------------------------------------------------------

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** the MSS option (kind 2), on a SYN */
  mss?: number;
  payload: Uint8Array;
}

/** A TCP segment whose checksum verifies against the pseudo-header, or undefined. */
export function parseTcp(p: Uint8Array, src: number, dst: number): TcpSegment | undefined {
  if (p.length < 20) return undefined;
  const off = (p[12]! >> 4) * 4;
  if (off < 20 || off > p.length) return undefined;
  if (onesSum(p, 0, p.length, pseudoSum(src, dst, IPPROTO_TCP, p.length)) !== 0xffff) return undefined;
  const seg: TcpSegment = { srcPort: u16(p, 0), dstPort: u16(p, 2), seq: u32(p, 4), ack: u32(p, 8), flags: p[13]! & 0x3f, window: u16(p, 14), payload: p.subarray(off) };
  // Options: only MSS matters here (no window scaling or SACK is offered, so none is used).
  for (let i = 20; i < off; ) {
    const kind = p[i]!;
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    const len = p[i + 1];
    if (len === undefined || len < 2 || i + len > off) return undefined;
    if (kind === 2 && len === 4) seg.mss = u16(p, i + 2);
    i += len;
  }
  return seg;
}

export function tcpPacket(seg: TcpSegment, src: number, dst: number): Uint8Array {
  const optLen = seg.mss !== undefined ? 4 : 0;
  const hdr = 20 + optLen;
  const p = new Uint8Array(hdr + seg.payload.length);
  put16(p, 0, seg.srcPort);
  put16(p, 2, seg.dstPort);
  put32(p, 4, seg.seq >>> 0);
  put32(p, 8, seg.ack >>> 0);
  p[12] = (hdr / 4) << 4;
  p[13] = seg.flags;
  put16(p, 14, seg.window);
  if (seg.mss !== undefined) {
    p[20] = 2;
    p[21] = 4;
    put16(p, 22, seg.mss);
  }
  p.set(seg.payload, hdr);
  put16(p, 16, ~onesSum(p, 0, p.length, pseudoSum(src, dst, IPPROTO_TCP, p.length)) & 0xffff);
  return p;
}
