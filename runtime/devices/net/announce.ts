/**
 * The gratuitous ARP a domain's interface sends after it moves, so that every switch on the
 * segment (this host's, the gateway's bridge, other hosts') relearns which port its MAC is
 * behind, and every ARP cache refreshes its IP → MAC entry. This is what QEMU's announce_self
 * (migration/savevm.c, qemu_announce_self: an ARP request from the NIC's MAC) and Linux
 * netfront's netif_notify_peers after xennet_resume do; the form is RFC 5227 §2.3's
 * announcement: an ARP request (RFC 826) whose sender and target protocol address are both the
 * interface's IP, target hardware address zero, broadcast to ff:ff:ff:ff:ff:ff.
 */
import { ipForMac, parseMac } from './addressing.ts';

const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV4 = 0x0800;
const ARP_REQUEST = 1;
/** Ethernet header 14 + ARP for IPv4 over Ethernet 28. */
export const GARP_FRAME_LEN = 42;

/** The announcement frame for a guest interface (a Xen MAC whose IP follows addressing.ts). */
export function gratuitousArp(mac: string): Uint8Array {
  const m = parseMac(mac);
  const ip = ipForMac(mac);
  if (!m || !ip) throw new Error(`no segment address for MAC ${mac}`);
  const a = Uint8Array.from(ip.split('.').map(Number));
  const f = new Uint8Array(GARP_FRAME_LEN);
  const dv = new DataView(f.buffer);
  f.fill(0xff, 0, 6); // destination: broadcast
  f.set(m, 6); // source: the guest's MAC
  dv.setUint16(12, ETHERTYPE_ARP);
  dv.setUint16(14, 1); // htype Ethernet
  dv.setUint16(16, ETHERTYPE_IPV4); // ptype
  f[18] = 6; // hlen
  f[19] = 4; // plen
  dv.setUint16(20, ARP_REQUEST);
  f.set(m, 22); // sha
  f.set(a, 28); // spa
  // tha (32..37) stays zero
  f.set(a, 38); // tpa = spa
  return f;
}
