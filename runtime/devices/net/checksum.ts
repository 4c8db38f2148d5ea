/**
 * Checksum completion for frames a frontend sends with NETTXF_csum_blank (checksum offload:
 * the TCP/UDP checksum field holds only the pseudo-header sum). Linux netback marks such an
 * skb CHECKSUM_PARTIAL and skb_checksum_setup() finds the field; here the backend finishes the
 * checksum at once, so the switch carries only complete frames. RFC 1071 (the Internet
 * checksum), RFC 793 and RFC 768 (the pseudo-header).
 */

/** One's-complement sum of `len` bytes at `off`, folded to 16 bits, added to `sum`. */
export function onesSum(b: Uint8Array, off: number, len: number, sum = 0): number {
  let s = sum;
  let i = off;
  const end = off + len;
  for (; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < end) s += b[i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/**
 * Fill in the TCP or UDP checksum of an IPv4 frame in place. Returns false if the frame is
 * not an IPv4 TCP/UDP packet whose headers are intact (such a frame cannot be completed).
 */
export function completeChecksum(frame: Uint8Array): boolean {
  if (frame.length < 14 + 20 || frame[12] !== 0x08 || frame[13] !== 0x00) return false;
  const ip = 14;
  const ihl = (frame[ip]! & 0x0f) * 4;
  if (frame[ip]! >> 4 !== 4 || ihl < 20) return false;
  const total = (frame[ip + 2]! << 8) | frame[ip + 3]!;
  if (total < ihl || ip + total > frame.length) return false;
  if (((frame[ip + 6]! << 8) | frame[ip + 7]!) & 0x3fff) return false; // a fragment carries no whole L4 header
  const proto = frame[ip + 9]!;
  const l4 = ip + ihl;
  const len = total - ihl;
  const field = proto === 6 ? 16 : proto === 17 ? 6 : -1;
  if (field < 0 || len < field + 2 || (proto === 6 && len < 20) || (proto === 17 && len < 8)) return false;
  frame[l4 + field] = 0;
  frame[l4 + field + 1] = 0;
  let s = onesSum(frame, ip + 12, 8); // source and destination addresses
  s = onesSum(Uint8Array.of(0, proto, len >> 8, len & 0xff), 0, 4, s);
  s = onesSum(frame, l4, len, s);
  let c = ~s & 0xffff;
  if (proto === 17 && c === 0) c = 0xffff; // RFC 768: a computed zero is sent as all ones
  frame[l4 + field] = c >> 8;
  frame[l4 + field + 1] = c & 0xff;
  return true;
}
