import { describe, expect, it } from 'vitest';
import type { FrameLink } from '../../runtime/api.ts';
import { LearningBridge } from './bridge.ts';

const GW = '00:16:3e:00:00:01';
const M = (n: number) => `00:16:3e:00:01:${n.toString(16).padStart(2, '0')}`;
const BCAST = 'ff:ff:ff:ff:ff:ff';

function frame(dst: string, src: string): Uint8Array {
  const f = new Uint8Array(60);
  f.set(dst.split(':').map((h) => parseInt(h, 16)), 0);
  f.set(src.split(':').map((h) => parseInt(h, 16)), 6);
  f[12] = 0x08;
  return f;
}

/** A link whose far end is the test: `sent` is what the bridge put on it, `inject` is a frame from the host. */
function fakeLink(): FrameLink & { sent: Uint8Array[]; inject(f: Uint8Array): void; drop(): void } {
  const frameFns: ((f: Uint8Array) => void)[] = [];
  const closeFns: (() => void)[] = [];
  let closed = false;
  const l = {
    sent: [] as Uint8Array[],
    send: (f: Uint8Array) => (closed ? false : (l.sent.push(f), true)),
    onFrame: (fn: (f: Uint8Array) => void) => void frameFns.push(fn),
    onClose: (fn: () => void) => void closeFns.push(fn),
    close: () => {
      if (closed) return;
      closed = true;
      for (const fn of closeFns) fn();
    },
    get closed() {
      return closed;
    },
    inject: (f: Uint8Array) => frameFns.forEach((fn) => fn(f)),
    drop: () => l.close(),
  };
  return l;
}

function rig() {
  let now = 0;
  const br = new LearningBridge({ mac: GW, now: () => now, agingMs: 300_000, maxEntries: 8 });
  const local: Uint8Array[] = [];
  br.local.onFrame((f) => local.push(f));
  const a = fakeLink(), b = fakeLink(), c = fakeLink();
  br.attach('a', a);
  br.attach('b', b);
  br.attach('c', c);
  const counts = () => ({ local: local.length, a: a.sent.length, b: b.sent.length, c: c.sent.length });
  return { br, local, a, b, c, counts, tick: (ms: number) => (now += ms) };
}

describe('the gateway bridge', () => {
  it('floods unknown and broadcast frames to the node and every other uplink, then learns', () => {
    const { br, a, b, c, counts } = rig();
    a.inject(frame(BCAST, M(1))); // a guest on host a announces itself
    expect(counts()).toEqual({ local: 1, a: 0, b: 1, c: 1 });
    b.inject(frame(M(1), M(2))); // known: to a only
    expect(counts()).toEqual({ local: 1, a: 1, b: 1, c: 1 });
    a.inject(frame(M(3), M(1))); // unknown: node + b + c
    expect(counts()).toEqual({ local: 2, a: 1, b: 2, c: 2 });
    a.inject(frame(GW, M(1))); // for the gateway: the node only
    expect(counts()).toEqual({ local: 3, a: 1, b: 2, c: 2 });
    a.inject(frame(M(1), M(4))); // both behind a: filtered
    expect(counts()).toEqual({ local: 3, a: 1, b: 2, c: 2 });
    expect(br.table().map((e) => `${e.mac}@${e.uplink}`).sort()).toEqual([`${M(1)}@a`, `${M(2)}@b`, `${M(4)}@a`]);
    expect(br.uplinks().map((u) => [u.name, u.counters.inFrames, u.counters.outFrames])).toEqual([['a', 4, 1], ['b', 1, 2], ['c', 0, 2]]);
  });

  it('sends the node\'s frames to the uplink its destination is behind, or to every uplink', () => {
    const { br, a, b, c, counts } = rig();
    expect(br.local.send(frame(BCAST, GW))).toBe(true);
    expect(counts()).toEqual({ local: 0, a: 1, b: 1, c: 1 });
    b.inject(frame(BCAST, M(2)));
    expect(counts()).toEqual({ local: 1, a: 2, b: 1, c: 2 });
    br.local.send(frame(M(2), GW));
    expect(counts()).toEqual({ local: 1, a: 2, b: 2, c: 2 });
    // Nothing learns the gateway's MAC from a host: a frame claiming it does not pull the node's traffic.
    c.inject(frame(BCAST, GW));
    expect(br.table().some((e) => e.mac === GW)).toBe(false);
  });

  it('follows a guest that moves (its gratuitous ARP from the new host), and ages entries out', () => {
    const { a, b, c, counts, br, tick } = rig();
    a.inject(frame(BCAST, M(1)));
    br.local.send(frame(M(1), GW));
    expect(counts()).toEqual({ local: 1, a: 1, b: 1, c: 1 });
    c.inject(frame(BCAST, M(1))); // moved to host c
    br.local.send(frame(M(1), GW));
    expect(counts()).toEqual({ local: 2, a: 2, b: 2, c: 2 });
    tick(300_001);
    br.local.send(frame(M(1), GW)); // aged out: flooded
    expect(counts()).toEqual({ local: 2, a: 3, b: 3, c: 3 });
    for (let k = 10; k < 40; k++) a.inject(frame(BCAST, M(k)));
    expect(br.table().length).toBe(8);
  });

  it('forgets what it learned on an uplink that is detached or closes; replacing an uplink closes the old one', () => {
    const { br, a, b, c, counts } = rig();
    a.inject(frame(BCAST, M(1)));
    b.inject(frame(BCAST, M(2)));
    expect(br.detach('a')).toBe(true);
    expect(a.closed).toBe(true);
    expect(br.detach('a')).toBe(false);
    expect(br.table().map((e) => e.mac)).toEqual([M(2)]);
    expect(counts()).toEqual({ local: 2, a: 1, b: 1, c: 2 });
    br.local.send(frame(M(1), GW)); // unknown now: to b and c
    expect(counts()).toEqual({ local: 2, a: 1, b: 2, c: 3 });
    b.drop(); // host b's agent went away
    expect(br.table()).toEqual([]);
    expect(br.uplinks().map((u) => u.name)).toEqual(['c']);
    const c2 = fakeLink();
    br.attach('c', c2);
    expect(c.closed).toBe(true);
    c.inject(frame(BCAST, M(5))); // the old link's late frames are ignored
    expect(br.table()).toEqual([]);
    br.close();
    expect(c2.closed).toBe(true);
    expect(br.local.closed).toBe(true);
    expect(br.local.send(frame(BCAST, GW))).toBe(false);
  });

  it('drops runts and frames from group source addresses', () => {
    const { br, a, counts } = rig();
    a.inject(new Uint8Array(13));
    a.inject(frame(M(1), BCAST));
    expect(counts()).toEqual({ local: 0, a: 0, b: 0, c: 0 });
    expect(br.dropped).toBe(2);
  });
});
