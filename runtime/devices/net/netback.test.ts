import { describe, expect, it } from 'vitest';
import { ethFrame, netHost, TestNetfront } from './testing.ts';
import {
  NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_RSP_OKAY, NETTXF_csum_blank, NETTXF_extra_info, NETTXF_more_data, RING, XenbusState,
  XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_MCAST_ADD,
} from './netif.ts';
import { onesSum } from './checksum.ts';
import type { FrameLink } from './uplink.ts';

const A = '00:16:3e:00:00:0a';
const B = '00:16:3e:00:00:0b';
const GW = '00:16:3e:00:00:01';
const BCAST = 'ff:ff:ff:ff:ff:ff';

function setup(opts: { rings?: number } = {}) {
  const env = netHost();
  const da = env.domain('a', [{ mac: A }]);
  const db = env.domain('b', [{ mac: B }]);
  const fa = new TestNetfront(env.host, da.id);
  const fb = new TestNetfront(env.host, db.id);
  if (opts.rings !== undefined) {
    // Rings whose indices start just below 2^32, as after a long-lived connection.
    for (const f of [fa]) {
      f.txProd = f.txRspCons = f.rxProd = f.rxRspCons = opts.rings;
    }
  }
  fa.connect();
  fb.connect();
  if (opts.rings !== undefined) {
    // The frontend's SHARED_RING state at those indices, re-attached by the backend.
    fa.setState(XenbusState.Closing);
    fa.setState(XenbusState.Closed);
    fa.setState(XenbusState.Initialising);
    for (const p of [fa.txPage, fa.rxPage]) for (const off of [RING.REQ_PROD, RING.RSP_PROD]) p.setU32(off, opts.rings);
    fa.setState(XenbusState.Connected);
  }
  // The world beyond the vifs: a plain switch port, which sees frames synchronously (an uplink
  // would hand them on in a microtask).
  const seen: Uint8Array[] = [];
  const port = env.net.switch.addPort('gw', (f) => seen.push(f));
  const up = { send: (f: Uint8Array) => port.send(f) };
  return { ...env, da, db, fa, fb, up, seen };
}

const eq = (a: Uint8Array | number | undefined, b: Uint8Array) => expect(a instanceof Uint8Array ? Buffer.from(a).equals(Buffer.from(b)) : a).toBe(true);

describe('netback: guest transmit', () => {
  it('copies a frame out of the granted page, answers OKAY and kicks the frontend', () => {
    const { fa, seen, net, da } = setup();
    const frame = ethFrame(GW, A, 0x0800, 200);
    fa.send(frame, { id: 7 });
    expect(fa.txResponses()).toEqual([[7, NETIF_RSP_OKAY]]);
    expect(fa.kicked()).toBe(true);
    expect(seen).toHaveLength(1);
    eq(seen[0], frame);
    expect(net.interfaces(da.id)[0]!.counters).toMatchObject({ txFrames: 1, txBytes: 214 });
    // The backend asked to hear of the next request (FINAL_CHECK: req_event = req_cons + 1).
    expect(fa.txPage.u32(RING.REQ_EVENT)).toBe(2);
  });

  it('reassembles a multi-slot frame (first size = the whole frame) and answers every slot', () => {
    const { fa, seen } = setup();
    const frame = ethFrame(GW, A, 0x0800, 1500); // 1514 bytes
    fa.send(frame, { slots: [100, 1000, 414], id: 20 });
    expect(fa.txResponses()).toEqual([[20, 0], [21, 0], [22, 0]]);
    expect(seen).toHaveLength(1);
    eq(seen[0], frame);
  });

  it('answers extra-info slots with NULL; multicast control is acknowledged, GSO refused', () => {
    const { fa, seen } = setup();
    const [ref, page] = fa.grantPage(true);
    const frame = ethFrame(GW, A, 0x0800, 60);
    page.setBytes(0, frame);
    fa.pushTx([{ gref: ref, offset: 0, flags: NETTXF_extra_info, id: 1, size: 0 }], { notify: false });
    fa.pushExtra(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0);
    fa.pushTx([], {});
    expect(fa.txResponses()).toEqual([[1, NETIF_RSP_OKAY], [0, NETIF_RSP_NULL]]);
    fa.pushTx([{ gref: ref, offset: 0, flags: NETTXF_extra_info, id: 2, size: frame.length }], { notify: false });
    fa.pushExtra(XEN_NETIF_EXTRA_TYPE_GSO, 0);
    fa.pushTx([], {});
    expect(fa.txResponses()).toEqual([[2, NETIF_RSP_ERROR], [0, NETIF_RSP_NULL]]);
    // Chained extras (XEN_NETIF_EXTRA_FLAG_MORE) each take a slot.
    fa.pushTx([{ gref: ref, offset: 0, flags: NETTXF_extra_info, id: 3, size: 0 }], { notify: false });
    fa.pushExtra(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_FLAG_MORE);
    fa.pushExtra(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0);
    fa.pushTx([], {});
    expect(fa.txResponses()).toEqual([[3, NETIF_RSP_OKAY], [0, NETIF_RSP_NULL], [0, NETIF_RSP_NULL]]);
    expect(seen).toHaveLength(0);
  });

  it('completes the checksum of a csum_blank TCP frame', () => {
    const { fa, seen } = setup();
    const ip = new Uint8Array(20 + 20 + 5);
    ip.set([0x45, 0, 0, ip.length, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 10, 10, 0, 0, 1]);
    ip.set([0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0], 20);
    ip.set([104, 101, 108, 108, 111], 40);
    fa.send(ethFrame(GW, A, 0x0800, ip), { flags: NETTXF_csum_blank });
    const got = seen[0]!;
    const l4 = got.subarray(34);
    const pseudo = onesSum(Uint8Array.of(10, 0, 0, 10, 10, 0, 0, 1, 0, 6, 0, 25), 0, 12);
    expect(onesSum(l4, 0, l4.length, pseudo)).toBe(0xffff); // verifies
  });

  it('answers errors for a bad grant, a runt, an oversize frame and a slot larger than the rest; the vif goes on', () => {
    const { fa, seen, net, da } = setup();
    fa.pushTx([{ gref: 999, offset: 0, flags: 0, id: 1, size: 60 }]);
    const [ref, page] = fa.grantPage(true);
    page.setBytes(0, ethFrame(GW, A, 0x0800, 100));
    fa.pushTx([{ gref: ref, offset: 0, flags: 0, id: 2, size: 10 }]);
    fa.pushTx([{ gref: ref, offset: 0, flags: 0, id: 3, size: 1515 }]);
    fa.pushTx([{ gref: ref, offset: 0, flags: NETTXF_more_data, id: 4, size: 100 }, { gref: ref, offset: 0, flags: 0, id: 5, size: 200 }]);
    // A multi-slot frame where one fragment's grant is bad: that slot errs, the frame is dropped.
    fa.pushTx([{ gref: ref, offset: 0, flags: NETTXF_more_data, id: 6, size: 114 }, { gref: 998, offset: 0, flags: 0, id: 7, size: 14 }]);
    expect(fa.txResponses()).toEqual([[1, -1], [2, -1], [3, -1], [4, -1], [5, -1], [6, 0], [7, -1]]);
    expect(seen).toHaveLength(0);
    expect(net.interfaces(da.id)[0]!.counters.txErrors).toBe(5);
    const frame = ethFrame(GW, A, 0x0800, 46);
    fa.send(frame, { id: 8 });
    expect(fa.txResponses()).toEqual([[8, 0]]);
    eq(seen[0], frame);
  });

  it('drops a frame of 20 or 21 slots; 22 slots, a slot crossing its page, missing slots or a bad extra disable the vif', () => {
    const hostile: [string, (f: TestNetfront, ref: number) => void, RegExp][] = [
      ['22 slots', (f, ref) => f.pushTx(Array.from({ length: 22 }, (_, k) => ({ gref: ref, offset: 0, flags: k < 21 ? NETTXF_more_data : 0, id: k, size: k === 0 ? 22 * 60 : 60 }))), /more than 21 slots/],
      ['crossing', (f, ref) => f.pushTx([{ gref: ref, offset: 4000, flags: 0, id: 1, size: 200 }]), /crosses its page/],
      ['huge', (f, ref) => f.pushTx([{ gref: ref, offset: 0, flags: NETTXF_more_data, id: 1, size: 65535 }, { gref: ref, offset: 0, flags: 0, id: 2, size: 60 }]), /crosses its page/],
      ['more_data at the end', (f, ref) => f.pushTx([{ gref: ref, offset: 0, flags: NETTXF_more_data, id: 1, size: 60 }]), /more than the 1 slots/],
      ['extra at the end', (f, ref) => f.pushTx([{ gref: ref, offset: 0, flags: NETTXF_extra_info, id: 1, size: 60 }]), /missing extra/],
      ['bad extra', (f, ref) => {
        f.pushTx([{ gref: ref, offset: 0, flags: NETTXF_extra_info, id: 1, size: 60 }], { notify: false });
        f.pushExtra(9, 0);
        f.pushTx([]);
      }, /invalid extra type 9/],
      ['producer beyond the ring', (f, ref) => f.pushTx([{ gref: ref, offset: 0, flags: 0, id: 1, size: 60 }], { prod: 300 }), /impossible tx producer/],
    ];
    for (const [name, act, why] of hostile) {
      const { fa, fb, seen, net, da, db, up, logs } = setup();
      const [ref, page] = fa.grantPage(true);
      page.setBytes(0, ethFrame(GW, A, 0x0800, 100));
      expect(() => act(fa, ref), name).not.toThrow();
      const info = net.interfaces(da.id)[0]!;
      expect(info.connected, name).toBe(false);
      expect(info.error, name).toMatch(why);
      expect(logs.join('\n'), name).toMatch(/fatal error, vif disabled/);
      // Disabled: no more frames in or out; the other domain keeps working.
      fa.send(ethFrame(GW, A, 0x0800, 50));
      expect(seen, name).toHaveLength(0);
      fb.postRx(1);
      up.send(ethFrame(B, GW, 0x0800, 50));
      expect(fb.received(), name).toHaveLength(1);
      expect(net.interfaces(db.id)[0]!.connected).toBe(true);
    }
    // 20 slots: dropped with errors, not fatal; 19 slots (1 + 18 fragments) carry a frame.
    const { fa, net, da, seen } = setup();
    const [ref, page] = fa.grantPage(true);
    page.setBytes(0, ethFrame(GW, A, 0x0800, 100));
    const slots = (n: number) => Array.from({ length: n }, (_, k) => ({ gref: ref, offset: 0, flags: k < n - 1 ? NETTXF_more_data : 0, id: k, size: k === 0 ? n * 14 : 14 }));
    fa.pushTx(slots(20));
    expect(fa.txResponses().map(([, s]) => s)).toEqual(new Array(20).fill(-1));
    expect(net.interfaces(da.id)[0]!.connected).toBe(true);
    expect(seen).toHaveLength(0);
    fa.pushTx(slots(19));
    expect(fa.txResponses().map(([, s]) => s)).toEqual(new Array(19).fill(0));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.length).toBe(19 * 14);
  });

  it('survives random garbage on both rings without throwing into the host', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 30; round++) {
      const { fa, fb, up, net, db } = setup();
      const [ref, page] = fa.grantPage(true);
      page.setBytes(0, ethFrame(GW, A, 0x0800, 1000));
      for (let k = 0; k < 40; k++) {
        const n = 1 + Math.floor(rnd() * 6);
        const reqs = Array.from({ length: n }, () => ({
          gref: rnd() < 0.7 ? ref : Math.floor(rnd() * 2 ** 32), offset: Math.floor(rnd() * 4200) & 0xffff,
          flags: Math.floor(rnd() * 16), id: Math.floor(rnd() * 65536), size: rnd() < 0.5 ? Math.floor(rnd() * 1600) : Math.floor(rnd() * 65536),
        }));
        expect(() => fa.pushTx(reqs, { prod: rnd() < 0.05 ? Math.floor(rnd() * 2 ** 32) : undefined })).not.toThrow();
        if (rnd() < 0.3) expect(() => fa.postRx(1 + Math.floor(rnd() * 3), { gref: rnd() < 0.5 ? Math.floor(rnd() * 100) : undefined })).not.toThrow();
        expect(() => up.send(ethFrame(A, GW, 0x0800, 60))).not.toThrow();
      }
      fb.postRx(1);
      up.send(ethFrame(B, GW, 0x0800, 50));
      expect(fb.received()).toHaveLength(1);
      expect(net.interfaces(db.id)[0]!.connected).toBe(true);
    }
  });

  it('carries frames across the u32 wrap of the ring indices', () => {
    const start = 0xffffffff - 300;
    const { fa, seen, up } = setup({ rings: start });
    const txBuf = fa.grantPage(true);
    const rxBuf = fa.grantPage();
    for (let k = 0; k < 600; k++) {
      const frame = ethFrame(GW, A, 0x0800, 46 + (k % 50));
      fa.send(frame, { id: k & 0xffff, buf: txBuf });
      expect(fa.txResponses()).toEqual([[k & 0xffff, 0]]);
      eq(seen[k], frame);
      fa.postRx(1, { buf: rxBuf });
      const back = ethFrame(A, GW, 0x0800, 46 + (k % 30));
      up.send(back);
      const got = fa.received();
      expect(got).toHaveLength(1);
      eq(got[0], back);
    }
    expect(fa.txRspCons).toBe((start + 600) >>> 0);
  });
});

describe('netback: guest receive', () => {
  it('copies frames into posted buffers at offset 0, answering in the request slot, and kicks', () => {
    const { fa, fb, up, net, da } = setup();
    fa.postRx(4);
    fa.kicked();
    const frames = [ethFrame(A, GW, 0x0806, 28), ethFrame(BCAST, GW, 0x0806, 28), ethFrame(A, GW, 0x0800, 1500)];
    for (const f of frames) up.send(f);
    const got = fa.received();
    expect(got).toHaveLength(3);
    frames.forEach((f, k) => eq(got[k], f));
    expect(fa.kicked()).toBe(true);
    expect(fb.received()).toEqual([]); // b posted nothing: the broadcast waits for b
    expect(net.interfaces(da.id)[0]!.counters).toMatchObject({ rxFrames: 3, rxBytes: 28 + 14 + 28 + 14 + 1514 });
  });

  it('a frontend that never posts buffers loses frames (counted), bounded, and gets the queued ones once it posts', () => {
    const { fa, up, net, da, host } = setup();
    for (let k = 0; k < 300; k++) up.send(ethFrame(A, GW, 0x0800, 46));
    const c = net.interfaces(da.id)[0]!.counters;
    expect(c.rxDropped).toBe(300 - 256);
    // It asked to be kicked when a buffer appears (req_event = req_prod + 1).
    expect(fa.rxPage.u32(RING.REQ_EVENT)).toBe(1);
    fa.postRx(10);
    expect(fa.received()).toHaveLength(10);
    // Frames that waited longer than the drain timeout are dropped at the next arrival.
    (host.clock as unknown as { advance(ns: number): void }).advance(11e9);
    up.send(ethFrame(A, GW, 0x0800, 46));
    expect(net.interfaces(da.id)[0]!.counters.rxDropped).toBe(300 - 256 + 246);
    fa.postRx(5);
    expect(fa.received()).toHaveLength(1);
  });

  it('a bad rx grant yields an error status in that slot; no kick when rsp_event is not reached', () => {
    const { fa, up, net, da } = setup();
    fa.postRx(1, { gref: 777 });
    up.send(ethFrame(A, GW, 0x0800, 46));
    const got = fa.received();
    expect(got).toHaveLength(1);
    expect(got[0]).toBeLessThan(0);
    expect(net.interfaces(da.id)[0]!.counters.rxErrors).toBe(1);
    // The frontend asks to be told only after 3 more responses: the first two do not kick.
    fa.rxPage.setU32(RING.RSP_EVENT, fa.rxRspCons + 3);
    fa.postRx(3);
    fa.kicked();
    up.send(ethFrame(A, GW, 0x0800, 46));
    up.send(ethFrame(A, GW, 0x0800, 46));
    expect(fa.kicked()).toBe(false);
    up.send(ethFrame(A, GW, 0x0800, 46));
    expect(fa.kicked()).toBe(true);
  });

  it('switches frames between two guests on the host', () => {
    const { fa, fb, seen } = setup();
    fb.postRx(2);
    const f1 = ethFrame(B, A, 0x0800, 100);
    fa.send(f1);
    eq(fb.received()[0], f1);
    expect(seen).toHaveLength(0); // a's first frame taught nothing about b, but b is pinned: no flood
    fa.postRx(1);
    const f2 = ethFrame(A, B, 0x0800, 64);
    fb.send(f2);
    eq(fa.received()[0], f2);
  });
});

describe('uplink links', () => {
  it('hands frames on after the sender returns, and leaves the switch when closed', async () => {
    const { net, fa } = setup();
    const up = net.uplink();
    const got: Uint8Array[] = [];
    up.onFrame((f) => got.push(f));
    fa.send(ethFrame(BCAST, A, 0x0806, 28));
    expect(got).toHaveLength(0);
    await Promise.resolve();
    expect(got).toHaveLength(1);
    const before = net.switch.ports().length;
    (up as FrameLink).close();
    expect(net.switch.ports().length).toBe(before - 1);
    expect(up.send(ethFrame(A, GW, 0x0800, 46))).toBe(false);
  });
});
