// The gateway as a node on the segment: ARP (answers for its IP, learns from every ARP it
// sees, follows a guest that moves), ICMP echo both ways, and refusal of what is not its own.
import { describe, expect, it } from 'vitest';
import { IpNode } from './node.ts';
import { SimClock, seeded, simWire } from './testing.ts';
import {
  ARP_REPLY, ARP_REQUEST, BROADCAST_MAC, ETHERTYPE_ARP, ETHERTYPE_IPV4, ICMP_ECHO_REQUEST, IPPROTO_ICMP, arpPacket, ethFrame,
  icmpEcho, ipNum, ipv4Packet, macBytes, parseArp, parseEth, parseIcmpEcho, parseIpv4,
} from './packets.ts';

const GW = { mac: '00:16:3e:00:00:01', ip: '10.0.0.1' };
const GUEST = { mac: '00:16:3e:0a:00:02', ip: '10.10.0.2' };

function rig() {
  const clock = new SimClock();
  const [a, b] = simWire(clock, seeded(3));
  const gw = new IpNode({ ...GW, clock });
  const wire: Uint8Array[] = [];
  b.onFrame((f) => wire.push(f));
  gw.attach(a);
  return { clock, gw, a, b, wire };
}

describe('gateway node: ARP', () => {
  it('announces itself, answers who-has 10.0.0.1, and learns the asker', () => {
    const { clock, b, wire, gw } = rig();
    clock.advance(5);
    const announce = parseArp(parseEth(wire.shift()!)!.payload)!;
    expect(announce).toMatchObject({ op: ARP_REQUEST, spa: ipNum(GW.ip), tpa: ipNum(GW.ip) });
    b.send(ethFrame(BROADCAST_MAC, macBytes(GUEST.mac), ETHERTYPE_ARP, arpPacket({ op: ARP_REQUEST, sha: macBytes(GUEST.mac), spa: ipNum(GUEST.ip), tha: new Uint8Array(6), tpa: ipNum(GW.ip) })));
    clock.advance(5);
    const eth = parseEth(wire.shift()!)!;
    expect([...eth.dst]).toEqual([...macBytes(GUEST.mac)]);
    expect(parseArp(eth.payload)).toMatchObject({ op: ARP_REPLY, spa: ipNum(GW.ip), tpa: ipNum(GUEST.ip) });
    expect(gw.neighbours()).toEqual([{ ip: GUEST.ip, mac: GUEST.mac }]);
  });

  it('learns from a gratuitous ARP and follows a guest whose MAC changes', () => {
    const { clock, b, gw } = rig();
    const garp = (mac: string) => b.send(ethFrame(BROADCAST_MAC, macBytes(mac), ETHERTYPE_ARP, arpPacket({ op: ARP_REQUEST, sha: macBytes(mac), spa: ipNum(GUEST.ip), tha: new Uint8Array(6), tpa: ipNum(GUEST.ip) })));
    garp(GUEST.mac);
    clock.advance(5);
    expect(gw.neighbours()).toEqual([{ ip: GUEST.ip, mac: GUEST.mac }]);
    garp('00:16:3e:0a:00:99');
    clock.advance(5);
    expect(gw.neighbours()).toEqual([{ ip: GUEST.ip, mac: '00:16:3e:0a:00:99' }]);
    // Nothing learned from off-segment senders, from claims on its own IP, or from group MACs.
    b.send(ethFrame(BROADCAST_MAC, macBytes(GUEST.mac), ETHERTYPE_ARP, arpPacket({ op: ARP_REQUEST, sha: macBytes(GUEST.mac), spa: ipNum('192.168.1.5'), tha: new Uint8Array(6), tpa: ipNum(GW.ip) })));
    b.send(ethFrame(BROADCAST_MAC, macBytes(GUEST.mac), ETHERTYPE_ARP, arpPacket({ op: ARP_REPLY, sha: macBytes(GUEST.mac), spa: ipNum(GW.ip), tha: new Uint8Array(6), tpa: ipNum(GW.ip) })));
    clock.advance(5);
    expect(gw.neighbours()).toHaveLength(1);
  });

  it('resolves a guest before sending to it, retries, and gives up quietly', () => {
    const { clock, gw, wire } = rig();
    clock.advance(5);
    wire.length = 0;
    gw.connect(GUEST.ip, 80); // the SYN waits for ARP
    clock.advance(3500);
    const asks = wire.map((f) => parseEth(f)!).filter((e) => e.type === ETHERTYPE_ARP).map((e) => parseArp(e.payload)!);
    expect(asks.length).toBeGreaterThanOrEqual(3);
    expect(asks[0]).toMatchObject({ op: ARP_REQUEST, tpa: ipNum(GUEST.ip) });
    expect(wire.every((f) => parseEth(f)!.type === ETHERTYPE_ARP)).toBe(true);
  });
});

describe('gateway node: ICMP and IP', () => {
  it('answers a ping from a guest, and pings a guest', async () => {
    const clock = new SimClock();
    const [a, b] = simWire(clock, seeded(4), { delayMs: 2 });
    const gw = new IpNode({ ...GW, clock });
    const guest = new IpNode({ ...GUEST, clock });
    gw.attach(a);
    guest.attach(b);
    const rtts: number[] = [];
    void guest.ping(GW.ip).then((r) => rtts.push(r));
    clock.advance(50);
    await Promise.resolve();
    expect(rtts).toHaveLength(1);
    expect(gw.stats.pingsAnswered).toBe(1);
    void gw.ping(GUEST.ip).then((r) => rtts.push(r));
    clock.advance(50);
    await Promise.resolve();
    expect(rtts[0]).toBeGreaterThanOrEqual(4); // the first one waited for ARP
    expect(rtts[1]).toBe(4);
    const lost = guest.ping('10.10.0.99', 500).catch((e: Error) => e.message);
    clock.advance(600);
    expect(await lost).toMatch(/no echo reply/);
  });

  it('echoes the request exactly and drops bad checksums, fragments and packets for others', () => {
    const { clock, b, wire, gw } = rig();
    clock.advance(5);
    wire.length = 0;
    const guestMac = macBytes(GUEST.mac);
    b.send(ethFrame(BROADCAST_MAC, guestMac, ETHERTYPE_ARP, arpPacket({ op: ARP_REPLY, sha: guestMac, spa: ipNum(GUEST.ip), tha: macBytes(GW.mac), tpa: ipNum(GW.ip) })));
    const ping = icmpEcho({ type: ICMP_ECHO_REQUEST, id: 77, seq: 5, data: Uint8Array.from({ length: 56 }, (_, i) => i) });
    const ip = ipv4Packet(ipNum(GUEST.ip), ipNum(GW.ip), IPPROTO_ICMP, 9, ping);
    b.send(ethFrame(macBytes(GW.mac), guestMac, ETHERTYPE_IPV4, ip));
    clock.advance(5);
    const reply = parseIpv4(parseEth(wire.pop()!)!.payload)!;
    expect(parseIcmpEcho(reply.payload)).toMatchObject({ type: 0, id: 77, seq: 5 });
    expect([...parseIcmpEcho(reply.payload)!.data]).toEqual([...Array(56).keys()]);
    const bad = Uint8Array.from(ip);
    bad[30] ^= 1; // corrupts the ICMP checksum
    const frag = Uint8Array.from(ip);
    frag[6] = 0x20; // MF set (the header checksum now fails too)
    const other = ipv4Packet(ipNum(GUEST.ip), ipNum('10.0.0.2'), IPPROTO_ICMP, 9, ping);
    const before = gw.stats.dropped;
    for (const p of [bad, frag, other]) b.send(ethFrame(macBytes(GW.mac), guestMac, ETHERTYPE_IPV4, p));
    b.send(ethFrame(macBytes('00:16:3e:00:00:77'), guestMac, ETHERTYPE_IPV4, ip)); // another station's frame
    b.send(ethFrame(macBytes(GW.mac), guestMac, ETHERTYPE_IPV4, ip.subarray(0, 10)));
    clock.advance(5);
    expect(gw.stats.dropped - before).toBe(5);
    expect(gw.stats.pingsAnswered).toBe(1);
  });
});
