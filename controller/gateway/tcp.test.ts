// The gateway's TCP against a TypeScript "guest TCP" (another IpNode) on a simulated segment
// that loses, duplicates and reorders frames, with a tiny-window peer, a peer that pauses for
// several RTOs, resets and timeouts: the byte streams must arrive exact every time.
import { describe, expect, it } from 'vitest';
import { IpNode } from './node.ts';
import { SimClock, collect, pattern, seeded, simWire, type Impairment } from './testing.ts';
import type { TcpConnection, TcpOptions } from './tcp.ts';
import { TCP_ACK, TCP_RST, TCP_SYN, ipNum, parseEth, parseIpv4, parseTcp, tcpPacket, ipv4Packet, ethFrame, macBytes } from './packets.ts';

const GW = { mac: '00:16:3e:00:00:01', ip: '10.0.0.1' };
const GUEST = { mac: '00:16:3e:0a:00:02', ip: '10.10.0.2' };

function pair(imp: Impairment = {}, opts: { gw?: TcpOptions; guest?: TcpOptions; seed?: number } = {}) {
  const clock = new SimClock();
  const rnd = seeded(opts.seed ?? 7);
  const [a, b] = simWire(clock, rnd, imp);
  const iss = seeded((opts.seed ?? 7) + 1);
  const gw = new IpNode({ ...GW, clock, tcp: { delAckMs: 10, ...opts.gw }, iss: () => Math.floor(iss() * 2 ** 32) });
  const guest = new IpNode({ ...GUEST, clock, tcp: { delAckMs: 10, ...opts.guest }, iss: () => Math.floor(iss() * 2 ** 32) });
  gw.attach(a);
  guest.attach(b);
  return { clock, gw, guest, a, b };
}

/** Open gateway → guest:80, with the guest's accepted connection. */
function open(p: ReturnType<typeof pair>) {
  let server: TcpConnection | undefined;
  p.guest.listen(80, (c) => (server = c));
  const client = p.gw.connect(GUEST.ip, 80);
  let connected = false;
  client.ev.onConnect = () => (connected = true);
  expect(p.clock.runUntil(() => connected && server?.state === 'ESTABLISHED', p.clock.now() + 1e6)).toBe(true);
  return { client, server: server! };
}

/** Send `up` gateway→guest and `down` guest→gateway at once, close both ways; check exactness. */
function exchange(p: ReturnType<typeof pair>, up: Uint8Array, down: Uint8Array, limitMs = 600_000) {
  const { client, server } = open(p);
  const atGuest = collect(server);
  const atGw = collect(client);
  let closedC = false, closedS = false;
  client.ev.onClose = (e) => {
    expect(e).toBeUndefined();
    closedC = true;
  };
  server.ev.onClose = (e) => {
    expect(e).toBeUndefined();
    closedS = true;
  };
  const origEnd = server.ev.onEnd!;
  server.ev.onEnd = () => {
    origEnd();
    server.end();
  };
  // Write in chunks, respecting backpressure.
  const feed = (c: TcpConnection, data: Uint8Array) => {
    let at = 0;
    const pump = () => {
      while (at < data.length) {
        const n = Math.min(7000, data.length - at);
        const more = c.write(data.subarray(at, at + n));
        at += n;
        if (!more) return;
      }
      if (c === client) c.end();
    };
    c.ev.onDrain = pump;
    pump();
  };
  feed(client, up);
  feed(server, down);
  const ok = p.clock.runUntil(() => atGuest.ended() && atGw.ended() && closedC && closedS, p.clock.now() + limitMs);
  expect(Buffer.from(atGuest.data()).equals(Buffer.from(up)), 'gateway → guest stream').toBe(true);
  expect(Buffer.from(atGw.data()).equals(Buffer.from(down)), 'guest → gateway stream').toBe(true);
  expect(ok).toBe(true);
  return { client, server };
}

describe('gateway TCP on a clean segment', () => {
  it('handshakes with MSS 1460 and carries 1 MB each way exactly, then closes both ways', () => {
    const p = pair();
    const seen: number[] = [];
    p.b.onFrame((f) => {
      const ip = parseIpv4(parseEth(f)!.payload);
      const seg = ip && parseTcp(ip.payload, ip.src, ip.dst);
      if (seg && seg.flags & TCP_SYN) seen.push(seg.mss ?? -1);
    });
    const { client } = exchange(p, pattern(1 << 20, 1), pattern(1 << 20, 2));
    expect(seen[0]).toBe(1460);
    expect(client.stats.retransmits).toBe(0);
    expect(p.gw.connections + p.guest.connections).toBeLessThanOrEqual(2); // TIME_WAIT at most
    p.clock.advance(120_000);
    expect(p.gw.connections + p.guest.connections).toBe(0);
  });
});

describe('gateway TCP on a hostile segment', () => {
  for (const [name, imp, seed] of [
    ['10% loss', { loss: 0.1 }, 11],
    ['5% duplicates and 20% reordering with jitter', { dup: 0.05, reorder: 0.2, delayMs: 2, jitterMs: 3 }, 12],
    ['everything at once', { loss: 0.08, dup: 0.05, reorder: 0.15, delayMs: 1, jitterMs: 4 }, 13],
  ] as [string, Impairment, number][]) {
    it(`delivers exact byte streams with ${name}`, () => {
      const p = pair(imp, { seed });
      const { client, server } = exchange(p, pattern(300_000, seed), pattern(200_000, seed + 100));
      if (imp.loss) expect(client.stats.retransmits + server.stats.retransmits).toBeGreaterThan(0);
    });
  }

  it('recovers from a lost SYN and a lost SYN-ACK', () => {
    let n = 0;
    const p = pair({ down: () => n++ < 2 });
    exchange(p, pattern(5000), pattern(5000, 3));
  });

  it('waits out a guest that stops answering for several RTOs (a pause or a move) and loses nothing', () => {
    let down = false;
    const p = pair({ down: () => down });
    const { client, server } = open(p);
    const atGuest = collect(server);
    const data = pattern(200_000, 5);
    client.write(data.subarray(0, 50_000));
    p.clock.advance(50);
    down = true;
    client.write(data.subarray(50_000));
    const rto0 = client.rtoMs;
    p.clock.advance(5_000); // many RTOs: the timer backs off
    expect(client.rtoMs).toBeGreaterThan(rto0 * 4);
    expect(client.state).toBe('ESTABLISHED');
    down = false;
    expect(p.clock.runUntil(() => atGuest.data().length === data.length, p.clock.now() + 30_000)).toBe(true);
    expect(Buffer.from(atGuest.data()).equals(Buffer.from(data))).toBe(true);
  });

  it('gives up with ETIMEDOUT when the guest never comes back', () => {
    let down = false;
    const p = pair({ down: () => down }, { gw: { userTimeoutMs: 20_000 } });
    const { client } = open(p);
    let err: Error | undefined;
    client.ev.onClose = (e) => (err = e);
    down = true;
    client.write(pattern(1000));
    expect(p.clock.runUntil(() => err !== undefined, p.clock.now() + 120_000)).toBe(true);
    expect(err).toMatchObject({ code: 'ETIMEDOUT' });
  });
});

describe('gateway TCP flow control', () => {
  it('sends no more than a tiny window allows, and still delivers everything', () => {
    const p = pair({ loss: 0.02 }, { guest: { rcvBuf: 300 } });
    const seen: number[] = [];
    p.a.onFrame(() => undefined);
    const origSend = p.a.send.bind(p.a);
    p.a.send = (f: Uint8Array) => {
      const ip = parseIpv4(parseEth(f)!.payload);
      const seg = ip && parseTcp(ip.payload, ip.src, ip.dst);
      if (seg) seen.push(seg.payload.length);
      return origSend(f);
    };
    exchange(p, pattern(60_000, 8), pattern(1000, 9));
    expect(Math.max(...seen)).toBeLessThanOrEqual(300);
  });

  it('a reader that stops reading closes the window; probes keep the sender alive until it reads again', () => {
    const p = pair({}, { guest: { rcvBuf: 4000 }, gw: { userTimeoutMs: 10_000 } });
    const { client, server } = open(p);
    const got: Uint8Array[] = [];
    server.ev.onData = (d) => got.push(Uint8Array.from(d));
    server.pauseReading();
    const data = pattern(50_000, 10);
    client.write(data);
    p.clock.advance(30_000); // three times the user timeout: the window probes are answered
    expect(client.state).toBe('ESTABLISHED');
    expect(got.length).toBe(0);
    expect(client.buffered).toBeGreaterThan(40_000); // nothing beyond the 4000-byte window went
    server.resumeReading();
    expect(p.clock.runUntil(() => Buffer.concat(got).length === data.length, p.clock.now() + 60_000)).toBe(true);
    expect(Buffer.concat(got).equals(Buffer.from(data))).toBe(true);
  });

  it('keeps a half-closed connection open in the other direction', () => {
    const p = pair();
    const { client, server } = open(p);
    const atGw = collect(client);
    const atGuest = collect(server);
    client.write(Buffer.from('request'));
    client.end();
    expect(p.clock.runUntil(() => atGuest.ended())).toBe(true);
    expect(server.state).toBe('CLOSE_WAIT');
    server.write(pattern(100_000, 4));
    server.end();
    expect(p.clock.runUntil(() => atGw.ended())).toBe(true);
    expect(atGuest.data().toString()).toBe('request');
    expect(Buffer.from(atGw.data()).equals(Buffer.from(pattern(100_000, 4)))).toBe(true);
  });
});

describe('gateway TCP resets', () => {
  it('a SYN to a closed port is refused (RST), and an abort resets the peer', () => {
    const p = pair();
    const c = p.gw.connect(GUEST.ip, 81);
    let err: Error | undefined;
    c.ev.onClose = (e) => (err = e);
    expect(p.clock.runUntil(() => err !== undefined, 10_000)).toBe(true);
    expect(err).toMatchObject({ code: 'ECONNREFUSED' });
    expect(p.guest.stats.rstsSent).toBe(1);
    const { client, server } = open(p);
    let serr: Error | undefined;
    server.ev.onClose = (e) => (serr = e);
    client.abort();
    expect(p.clock.runUntil(() => serr !== undefined, p.clock.now() + 10_000)).toBe(true);
    expect(serr).toMatchObject({ code: 'ECONNRESET' });
  });

  it('answers an in-window RST with the wrong sequence number with a challenge ACK, and keeps going (RFC 5961)', () => {
    const p = pair();
    const { client, server } = open(p);
    const atGuest = collect(server);
    // Forge an RST from the guest's address at rcv.nxt + 100 (in window, not exact).
    const sent: number[] = [];
    p.b.onFrame((f) => {
      const ip = parseIpv4(parseEth(f)!.payload);
      const seg = ip && parseTcp(ip.payload, ip.src, ip.dst);
      if (seg) sent.push(seg.flags);
    });
    client.write(Buffer.from('x'));
    p.clock.advance(100);
    const rcvNxt = (client as unknown as { rcvNxt: number }).rcvNxt;
    const localPort = [...(p.gw as unknown as { conns: Map<string, unknown> }).conns.keys()][0]!.split(':')[2]!;
    const rst = tcpPacket({ srcPort: 80, dstPort: Number(localPort), seq: rcvNxt + 100, ack: 0, flags: TCP_RST, window: 0, payload: new Uint8Array(0) }, ipNum(GUEST.ip), ipNum(GW.ip));
    p.gw.input(ethFrame(macBytes(GW.mac), macBytes(GUEST.mac), 0x0800, ipv4Packet(ipNum(GUEST.ip), ipNum(GW.ip), 6, 1, rst)));
    p.clock.advance(100);
    expect(client.state).toBe('ESTABLISHED');
    expect(sent.some((f) => f === TCP_ACK)).toBe(true);
    client.write(Buffer.from('y'));
    p.clock.advance(100);
    expect(atGuest.data().toString()).toBe('xy');
  });
});

describe('gateway TCP under random impairment', () => {
  it('60 seeded runs (up to 30% loss, duplicates, reordering, small windows) all deliver exact streams', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const imp: Impairment = seed % 3 === 0 ? { loss: 0.15, dup: 0.1, reorder: 0.3, delayMs: 1, jitterMs: 5 } : seed % 3 === 1 ? { loss: 0.3 } : { loss: 0.05, reorder: 0.5, jitterMs: 10, delayMs: 3 };
      const t = { userTimeoutMs: 1e7, connectTimeoutMs: 1e7 }; // at 30% loss both ways, minutes of silence happen
      const p = pair(imp, { seed, guest: { ...t, rcvBuf: seed % 2 ? 65535 : 1000 + seed * 10 }, gw: { ...t, delAckMs: seed % 4 } });
      exchange(p, pattern(20_000 + seed * 97, seed), pattern(10_000 + seed * 31, seed + 1), 1e7);
    }
  });
});
