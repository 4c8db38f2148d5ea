import { describe, expect, it } from 'vitest';
import {
  OFF_CONNECTION, OFF_ERROR, OFF_REQ_CONS, OFF_REQ_PROD, OFF_RSP_CONS, OFF_RSP_PROD, OFF_SERVER_FEATURES,
  XENSTORE_ERROR_PROTO, XENSTORE_ERROR_RINGIDX, XenstoreRing,
} from './ring.ts';
import { call, GuestRing, text } from './test-helpers.ts';
import { encodeMessage, latin1ToBytes, XsParser, XsType } from './wire.ts';
import { Xenstored } from './xenstored.ts';

const T = XsType;

function setup() {
  const xs = new Xenstored();
  const g = new GuestRing(xs, 1);
  xs.introduceDomain(1, g.page, () => g.notifications++, { layout: { name: 'g1', memoryKiB: 1024 } });
  return { xs, g };
}

/** A tiny deterministic PRNG for the fuzz cases (xorshift32). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

describe('xenstore wire codec', () => {
  it('parses messages split at every possible point', () => {
    const a = encodeMessage({ type: T.WRITE, reqId: 7, txId: 3, payload: latin1ToBytes('a/b\0value') });
    const b = encodeMessage({ type: T.READ, reqId: 8, txId: 0, payload: latin1ToBytes('a/b\0') });
    const stream = new Uint8Array([...a, ...b]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const p = new XsParser();
      p.push(stream.subarray(0, cut));
      p.push(stream.subarray(cut));
      const m1 = p.take()!;
      const m2 = p.take()!;
      expect([m1.type, m1.reqId, m1.txId, text(m1)]).toEqual([T.WRITE, 7, 3, 'a/b|value']);
      expect([m2.type, m2.reqId, text(m2)]).toEqual([T.READ, 8, 'a/b|']);
      expect(p.take()).toBeUndefined();
    }
  });

  it('byte at a time, including an empty payload', () => {
    const p = new XsParser();
    const m = encodeMessage({ type: T.TRANSACTION_START, reqId: 1, txId: 0, payload: new Uint8Array(0) });
    for (const byte of m) p.push(new Uint8Array([byte]));
    expect(p.take()?.payload.length).toBe(0);
  });

  it('refuses a payload longer than 4096 without throwing', () => {
    const p = new XsParser();
    const hdr = new Uint8Array(16);
    new DataView(hdr.buffer).setUint32(12, 4097, true);
    p.push(hdr);
    expect(p.error).toBe('payload-too-long');
    expect(p.wanted()).toBe(0);
    expect(p.push(new Uint8Array(10))).toBe(0);
  });
});

describe('xenstore ring', () => {
  it('round-trips a request and reply through a ring page with wrapping indices', () => {
    const { g } = setup();
    const page = g.page;
    expect(new DataView(page.buffer).getUint32(OFF_SERVER_FEATURES, true)).toBe(3);
    // Start near the u32 wrap point, as the ring protocol allows.
    for (const off of [OFF_REQ_CONS, OFF_REQ_PROD, OFF_RSP_CONS, OFF_RSP_PROD]) g.set(off, 0xfffffff0);
    expect(call(g, T.WRITE, 'data/k\0' + 'v'.repeat(1500))).toBe('OK|'); // longer than the ring
    expect(call(g, T.READ, 'data/k\0')).toBe('v'.repeat(1500));
    expect(g.get(OFF_REQ_CONS)).toBe(g.get(OFF_REQ_PROD));
    expect(g.get(OFF_RSP_PROD)).toBeLessThan(0xfffffff0); // wrapped
  });

  it('answers several requests sent in one go, in order, and notifies', () => {
    const { g } = setup();
    const bytes = [1, 2, 3].map((i) =>
      encodeMessage({ type: T.WRITE, reqId: i, txId: 0, payload: latin1ToBytes(`data/k${i}\0${i}`) }),
    );
    for (const b of bytes) g.sendRaw(b);
    const n = g.notifications;
    g.kick();
    expect(g.notifications).toBe(n + 1);
    expect(g.receive().map((m) => m.reqId)).toEqual([1, 2, 3]);
  });

  it('stops reading when 20 replies wait and resumes when the guest drains', () => {
    const { xs, g } = setup();
    xs.write('/local/domain/1/data/k', 'v'.repeat(200)); // each reply: 216 bytes, 4 fill the ring
    const one = encodeMessage({ type: T.READ, reqId: 9, txId: 0, payload: latin1ToBytes('data/k\0') });
    for (let i = 0; i < 30; i++) expect(g.sendRaw(one)).toBe(one.length);
    g.kick();
    // 20 replies outstanding (4 in the ring, the rest queued): the remaining requests stay unread.
    const unread = (g.get(OFF_REQ_PROD) - g.get(OFF_REQ_CONS)) / one.length;
    expect(unread).toBeGreaterThan(0);
    expect(unread).toBeLessThan(10);
    let got = 0;
    for (let round = 0; round < 20 && got < 30; round++) {
      got += g.receive().length;
      g.kick();
    }
    expect(got).toBe(30);
    expect(g.get(OFF_REQ_PROD)).toBe(g.get(OFF_REQ_CONS));
  });

  it('marks a ring with bad request indices and stops talking', () => {
    const { xs, g } = setup();
    g.set(OFF_REQ_PROD, g.get(OFF_REQ_CONS) + 5000);
    g.kick();
    expect(g.get(OFF_ERROR)).toBe(XENSTORE_ERROR_RINGIDX);
    expect(xs.connectionError(1)).toBe(XENSTORE_ERROR_RINGIDX);
    g.set(OFF_REQ_PROD, g.get(OFF_REQ_CONS));
    g.kick();
    expect(g.receive()).toEqual([]);
  });

  it('marks bad response indices too', () => {
    const { xs, g } = setup();
    g.set(OFF_RSP_CONS, g.get(OFF_RSP_PROD) - 2000);
    g.sendRaw(encodeMessage({ type: T.READ, reqId: 1, txId: 0, payload: latin1ToBytes('name\0') }));
    g.kick();
    expect(xs.connectionError(1)).toBe(XENSTORE_ERROR_RINGIDX);
  });

  it('cuts off a client announcing len > 4096, and reconnects on request', () => {
    const { xs, g } = setup();
    call(g, T.WATCH, 'data\0w\0');
    const hdr = new Uint8Array(16);
    new DataView(hdr.buffer).setUint32(12, 100000, true);
    g.sendRaw(hdr);
    g.kick();
    expect(g.get(OFF_ERROR)).toBe(XENSTORE_ERROR_PROTO);
    // Ring reconnection (docs/misc/xenstore-ring.txt).
    g.set(OFF_CONNECTION, 1);
    g.kick();
    expect(g.get(OFF_CONNECTION)).toBe(0);
    expect(g.get(OFF_ERROR)).toBe(0);
    expect(xs.connectionError(1)).toBeUndefined();
    expect(call(g, T.READ, 'name\0')).toBe('g1');
    g.drainEvents();
    xs.write('/local/domain/1/data/x', '1');
    expect(g.drainEvents()).toEqual([]); // watches were dropped by the reconnect
  });

  it('answers unknown and reply-only types with ENOSYS and privileged ones with EACCES', () => {
    const { g } = setup();
    for (const t of [15, 16, 20, 23, 26, 99, 0xffff, 0xffffffff]) expect(call(g, t, 'x\0'), `type ${t}`).toBe('ERROR:ENOSYS|');
    for (const t of [T.CONTROL, T.INTRODUCE, T.RELEASE, T.RESUME, T.SET_TARGET, T.IS_DOMAIN_INTRODUCED]) {
      expect(call(g, t, '1\0')).toBe('ERROR:EACCES|');
    }
  });

  it('survives random garbage in the ring and in well-framed payloads', () => {
    const r = rng(12345);
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
    for (let round = 0; round < 300; round++) {
      const { xs, g } = setup();
      if (round % 3 === 0) {
        g.sendRaw(bytes(Math.floor(r() * 1024)));
      } else {
        const type = Math.floor(r() * 28);
        const payload = round % 3 === 1 ? bytes(Math.floor(r() * 64)) : latin1ToBytes(['data', 'x\0', 'data/a\0b', '\0\0', '@releaseDomain\0t\0'][round % 5]);
        g.sendRaw(encodeMessage({ type, reqId: round, txId: Math.floor(r() * 3), payload }));
      }
      if (round % 7 === 0) g.set([OFF_REQ_CONS, OFF_RSP_CONS, OFF_RSP_PROD][round % 3], Math.floor(r() * 2 ** 32));
      expect(() => {
        g.kick();
        g.receive();
        g.kick();
      }).not.toThrow();
      expect(xs.readString('/local/domain/1/name')).toBe('g1');
    }
  });

  it('accepts a page accessor at an offset and reports writes to it', () => {
    const mem = new Uint8Array(3 * 4096);
    let dirty = 0;
    const ring = new XenstoreRing({ u8: mem, dv: new DataView(mem.buffer), base: 4096, markDirty: () => dirty++ });
    ring.serverFeatures = 3;
    expect(new DataView(mem.buffer).getUint32(4096 + OFF_SERVER_FEATURES, true)).toBe(3);
    expect(ring.write(new Uint8Array([1, 2, 3]))).toBe(3);
    expect(mem[4096 + 1024]).toBe(1);
    expect(dirty).toBeGreaterThan(0);
    expect(() => new XenstoreRing({ u8: mem, dv: new DataView(mem.buffer), base: 9000 })).toThrow(RangeError);
  });
});
