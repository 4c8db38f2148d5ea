import { describe, expect, it } from 'vitest';
import { VirtualSwitch } from './switch.ts';
import { FrameDecoder, encodeFrame } from './uplink.ts';
import { ethFrame } from './testing.ts';

const M = (n: number) => `00:16:3e:00:00:${n.toString(16).padStart(2, '0')}`;
const BCAST = 'ff:ff:ff:ff:ff:ff';

function rig() {
  let now = 0;
  const sw = new VirtualSwitch({ now: () => now, agingNs: 300e9, maxEntries: 8 });
  const got: Record<string, Uint8Array[]> = { p1: [], p2: [], p3: [] };
  const ports = Object.fromEntries(['p1', 'p2', 'p3'].map((n) => [n, sw.addPort(n, (f) => got[n]!.push(f))]));
  return { sw, got, ports, tick: (ns: number) => (now += ns) };
}

const count = (got: Record<string, Uint8Array[]>) => Object.fromEntries(Object.entries(got).map(([k, v]) => [k, v.length]));

describe('virtual switch', () => {
  it('floods unknown unicast and broadcast, learns sources, then forwards to one port', () => {
    const { sw, got, ports } = rig();
    ports.p1!.send(ethFrame(M(2), M(1), 0x0800, 50)); // M2 unknown: flood
    expect(count(got)).toEqual({ p1: 0, p2: 1, p3: 1 });
    ports.p2!.send(ethFrame(M(1), M(2), 0x0800, 50)); // M1 learned on p1
    expect(count(got)).toEqual({ p1: 1, p2: 1, p3: 1 });
    ports.p1!.send(ethFrame(M(2), M(1), 0x0800, 50)); // now known
    expect(count(got)).toEqual({ p1: 1, p2: 2, p3: 1 });
    ports.p3!.send(ethFrame(BCAST, M(3), 0x0806, 28));
    expect(count(got)).toEqual({ p1: 2, p2: 3, p3: 1 });
    expect(sw.table().map((e) => `${e.mac}@${e.port}`).sort()).toEqual([`${M(1)}@p1`, `${M(2)}@p2`, `${M(3)}@p3`]);
    expect(ports.p1!.counters).toMatchObject({ inFrames: 2, outFrames: 2 });
  });

  it('ages entries out after 300 s and follows a station that moves', () => {
    const { got, ports, tick } = rig();
    ports.p2!.send(ethFrame(M(1), M(2), 0x0800, 50));
    tick(299e9);
    ports.p1!.send(ethFrame(M(2), M(1), 0x0800, 50));
    expect(count(got)).toEqual({ p1: 1, p2: 1, p3: 1 }); // first was a flood; M2 still known
    tick(2e9);
    ports.p1!.send(ethFrame(M(2), M(1), 0x0800, 50)); // M2 aged out: flood again
    expect(count(got)).toEqual({ p1: 1, p2: 2, p3: 2 });
    ports.p3!.send(ethFrame(M(1), M(2), 0x0800, 50)); // M2 moves to p3 (a migrated guest's gratuitous ARP)
    ports.p1!.send(ethFrame(M(2), M(1), 0x0800, 50));
    expect(count(got)).toEqual({ p1: 2, p2: 2, p3: 3 });
  });

  it('drops malformed frames, filters frames for the ingress port, and bounds the table', () => {
    const { sw, got, ports } = rig();
    ports.p1!.send(new Uint8Array(13));
    ports.p1!.send(new Uint8Array(1515));
    ports.p1!.send(ethFrame(M(2), BCAST, 0x0800, 50)); // a group source address
    expect(ports.p1!.counters.inDropped).toBe(3);
    ports.p1!.send(ethFrame(M(9), M(1), 0x0800, 50));
    ports.p1!.send(ethFrame(M(1), M(9), 0x0800, 50)); // both on p1: filtered
    expect(count(got)).toEqual({ p1: 0, p2: 1, p3: 1 });
    for (let k = 10; k < 40; k++) ports.p2!.send(ethFrame(BCAST, M(k), 0x0806, 28));
    expect(sw.table().length).toBe(8);
  });

  it('locks a vif port to its MAC and pins it; closing a port forgets its entries', () => {
    const { sw, got, ports } = rig();
    const vgot: Uint8Array[] = [];
    const vif = sw.addPort('vif1.0', (f) => vgot.push(f), { mac: M(0x50) });
    vif.send(ethFrame(M(1), M(0x51), 0x0800, 50)); // spoofed source
    expect(vif.counters.inDropped).toBe(1);
    ports.p1!.send(ethFrame(M(0x50), M(1), 0x0800, 50)); // pinned: no flood
    expect(vgot).toHaveLength(1);
    expect(count(got)).toEqual({ p1: 0, p2: 0, p3: 0 });
    ports.p2!.send(ethFrame(M(1), M(0x50), 0x0800, 50)); // someone else claiming it does not move it
    ports.p1!.send(ethFrame(M(0x50), M(1), 0x0800, 50));
    expect(vgot).toHaveLength(2);
    vif.close();
    expect(sw.table().some((e) => e.port === 'vif1.0')).toBe(false);
    vif.send(ethFrame(M(1), M(0x50), 0x0800, 50));
    expect(vif.counters.inFrames).toBe(0);
  });

  it('forwards iteratively when a port answers synchronously', () => {
    const sw = new VirtualSwitch({ now: () => 0 });
    let depth = 0, maxDepth = 0, n = 0;
    const a = sw.addPort('a', () => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      if (n++ < 1000) a.send(ethFrame(M(2), M(1), 0x0800, 50));
      depth--;
    });
    const b = sw.addPort('b', () => {
      if (n++ < 1000) b.send(ethFrame(M(1), M(2), 0x0800, 50));
    });
    a.send(ethFrame(M(2), M(1), 0x0800, 50));
    expect(n).toBeGreaterThan(1000);
    expect(maxDepth).toBe(1);
  });
});

describe('uplink framing', () => {
  it('splits a byte stream into frames at any chunking, and refuses impossible lengths', () => {
    const frames = [ethFrame(M(1), M(2), 0x0800, 0), ethFrame(M(1), M(2), 0x0800, 1500), ethFrame(M(1), M(2), 0x0806, 28)];
    const bytes = Buffer.concat(frames.map(encodeFrame));
    for (const step of [1, 3, 7, 100, bytes.length]) {
      const dec = new FrameDecoder();
      const out: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += step) out.push(...dec.push(bytes.subarray(i, i + step)));
      expect(out.map((f) => Buffer.from(f).toString('hex'))).toEqual(frames.map((f) => Buffer.from(f).toString('hex')));
    }
    expect(() => new FrameDecoder().push(Uint8Array.of(0x05, 0xeb))).toThrow(/outside/);
    expect(() => new FrameDecoder().push(Uint8Array.of(0, 13))).toThrow(/outside/);
  });
});
