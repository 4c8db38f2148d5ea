// blkback driven by a TypeScript blkfront acting for a real domain of a real Host: the xenbus
// handshake, the ring and its hostile variants, grant copies, and durability.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BLKIF_OP_DISCARD, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_INDIRECT, BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY,
} from './blkif.ts';
import { blockDevicesOf } from './index.ts';
import { createGuest, fillPage, newHost, TestFrontend } from './test-frontend.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'xenoform-blk-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A host, one domain with a 1 MiB disk as xvda, and its frontend connected. */
function connected(mode: 'rw' | 'ro' = 'rw', opts: { startIndex?: number } = {}) {
  const dir = tmp();
  const image = path.join(dir, 'disk.img');
  if (mode === 'ro') fs.writeFileSync(image, Buffer.alloc(1 << 20, 0x5a));
  const host = newHost();
  const d = createGuest(host, 'guest', [{ source: image, target: 'xvda', mode, sizeMiB: 1 }]);
  const fe = new TestFrontend(host, d, 51712, opts);
  fe.connect();
  const backend = blockDevicesOf(host).backend(d.id, 'xvda')!;
  return { host, d, fe, image, backend, dir };
}

describe('xenbus handshake', () => {
  it('writes the toolstack nodes with their permissions, offers features at InitWait, connects on Initialised', () => {
    const dir = tmp();
    const image = path.join(dir, 'disk.img');
    const host = newHost();
    const d = createGuest(host, 'guest', [{ source: image, target: 'xvda', mode: 'rw', sizeMiB: 2 }]);
    const fe = new TestFrontend(host, d);
    const xs = host.xenstored;
    const fePath = `/local/domain/${d.id}/device/vbd/51712`;
    const bePath = `/local/domain/0/backend/vbd/${d.id}/51712`;
    expect(xs.getPerms(fePath)).toEqual([`n${d.id}`, 'r0']);
    expect(xs.getPerms(bePath)).toEqual(['n0', `r${d.id}`]);
    const keys = (p: string, names: string[]) => Object.fromEntries(names.map((k) => [k, xs.readString(`${p}/${k}`)]));
    expect(keys(fePath, ['backend', 'backend-id', 'state', 'virtual-device', 'device-type'])).toEqual({
      backend: bePath, 'backend-id': '0', state: '1', 'virtual-device': '51712', 'device-type': 'disk',
    });
    expect(keys(bePath, ['frontend', 'frontend-id', 'params', 'mode', 'type', 'dev', 'state', 'feature-flush-cache', 'feature-barrier', 'sectors', 'sector-size', 'info'])).toEqual({
      frontend: fePath, 'frontend-id': String(d.id), params: fs.realpathSync(image), mode: 'w', type: 'file', dev: 'xvda', state: '2',
      'feature-flush-cache': '1', 'feature-barrier': '1', sectors: '4096', 'sector-size': '512', info: '0',
    });
    // Features the backend does not serve are not offered.
    for (const k of ['feature-max-indirect-segments', 'multi-queue-max-queues', 'max-ring-page-order', 'feature-discard', 'feature-persistent']) {
      expect(xs.readString(`${bePath}/${k}`)).toBeUndefined();
    }
    // The guest reads its backend's nodes but cannot write them.
    expect(fe.read(`${bePath}/sectors`)).toBe('4096');
    expect(fe.write(`${bePath}/sectors`, '99999999')).toBe('ERROR:EACCES|');
    fe.connect();
    expect(xs.readString(`${bePath}/state`)).toBe('4');
    expect(blockDevicesOf(host).list(d.id)[0]).toMatchObject({ target: 'xvda', devid: 51712, state: 4, sectors: 4096 });
  });

  it('refuses a protocol other than x86_32-abi and bogus transport parameters (xenbus_dev_fatal)', () => {
    for (const [write, why] of [
      [(fe: TestFrontend) => fe.connect('x86_64-abi'), /unknown fe protocol x86_64-abi/],
      [(fe: TestFrontend) => (fe.write(`${fe.fe}/ring-page-order`, '2'), fe.connect()), /ring page order/],
      [(fe: TestFrontend) => (fe.write(`${fe.fe}/event-channel`, 'x'), fe.setState(3)), /event-channel/],
      [(fe: TestFrontend) => (fe.write(`${fe.fe}/ring-ref`, '7'), fe.write(`${fe.fe}/event-channel`, String(fe.port)), fe.setState(3)), /mapping ring-ref 7/],
    ] as const) {
      const host = newHost();
      const d = createGuest(host, 'g', [{ source: path.join(tmp(), 'd.img'), target: 'xvda', mode: 'rw', sizeMiB: 1 }]);
      const fe = new TestFrontend(host, d);
      write(fe);
      expect(host.xenstored.readString(`${fe.be}/state`)).toBe('5');
      expect(host.xenstored.readString(`/local/domain/0/error/backend/vbd/${d.id}/51712/error`)).toMatch(why);
    }
  });

  it('defaults to x86_32-abi when the frontend names no protocol; InitWait at the frontend is fatal', () => {
    const host = newHost();
    const d = createGuest(host, 'g', [{ source: path.join(tmp(), 'd.img'), target: 'xvdb', mode: 'rw', sizeMiB: 1 }]);
    const fe = new TestFrontend(host, d, 51728);
    fe.connect(undefined);
    expect(host.xenstored.readString(`${fe.be}/state`)).toBe('4');
    const h2 = newHost();
    const d2 = createGuest(h2, 'g', [{ source: path.join(tmp(), 'd.img'), target: 'xvda', mode: 'rw', sizeMiB: 1 }]);
    const fe2 = new TestFrontend(h2, d2);
    fe2.setState(2);
    expect(h2.xenstored.readString(`${fe2.be}/state`)).toBe('5');
  });

  it('closes with the frontend, releases the image at Closed, and reconnects from Initialising', () => {
    const { host, d, fe, image } = connected();
    const blk = blockDevicesOf(host);
    const real = fs.realpathSync(image);
    fe.setState(5);
    expect(host.xenstored.readString(`${fe.be}/state`)).toBe('5');
    expect(blk.locks.holders(real)).toHaveLength(1);
    fe.setState(6);
    expect(host.xenstored.readString(`${fe.be}/state`)).toBe('6');
    expect(blk.locks.holders(real)).toHaveLength(0);
    // The event channel went back to unbound, offered to Domain-0 again.
    expect(d.evtchn.channel(fe.port)?.state).toBe(1);
    fe.setState(1);
    expect(host.xenstored.readString(`${fe.be}/state`)).toBe('2');
    expect(blk.locks.holders(real)).toHaveLength(1);
    fe.connect();
    expect(host.xenstored.readString(`${fe.be}/state`)).toBe('4');
    const { ref } = fe.dataPage();
    fe.submit({ op: BLKIF_OP_READ, id: 1n, sector: 0n, segs: [{ gref: ref, first: 0, last: 0 }] });
    expect(fe.responses()).toEqual([{ id: 1n, op: BLKIF_OP_READ, status: BLKIF_RSP_OKAY }]);
  });
});

describe('ring: reads, writes, flushes', () => {
  it('writes two segments to the image and reads them back, echoing the 64-bit id', () => {
    const { fe, image, backend, host, d } = connected();
    const a = fe.dataPage();
    const b = fe.dataPage();
    fillPage(a.page, 0x10);
    fillPage(b.page, 0x80);
    const id = 0xfedcba9876543210n;
    fe.takeEvent();
    fe.submit({ op: BLKIF_OP_WRITE, id, sector: 10n, segs: [{ gref: a.ref, first: 2, last: 3 }, { gref: b.ref, first: 0, last: 7 }] });
    expect(fe.responses()).toEqual([{ id, op: BLKIF_OP_WRITE, status: BLKIF_RSP_OKAY }]);
    expect(fe.takeEvent()).toBe(true);
    const file = fs.readFileSync(image);
    expect(file.subarray(10 * 512, 12 * 512)).toEqual(Buffer.from(a.page.bytes.subarray(1024, 2048)));
    expect(file.subarray(12 * 512, 20 * 512)).toEqual(Buffer.from(b.page.bytes));
    expect(file[9 * 512]).toBe(0);
    // Read the ten sectors back into one fresh page (5 sectors) and another (5 sectors).
    const c = fe.dataPage();
    const e = fe.dataPage();
    fe.submit({ op: BLKIF_OP_READ, id: 2n, sector: 10n, segs: [{ gref: c.ref, first: 3, last: 7 }, { gref: e.ref, first: 0, last: 4 }] });
    expect(fe.responses()).toEqual([{ id: 2n, op: BLKIF_OP_READ, status: BLKIF_RSP_OKAY }]);
    expect(Buffer.from(c.page.bytes.subarray(3 * 512))).toEqual(file.subarray(10 * 512, 15 * 512));
    expect(Buffer.from(e.page.bytes.subarray(0, 5 * 512))).toEqual(file.subarray(15 * 512, 20 * 512));
    expect(c.page.bytes[0]).toBe(0); // outside the segment: untouched
    expect(backend.vbd.counters).toMatchObject({ rdReq: 1, wrReq: 1, rdSect: 10, wrSect: 10, errors: 0 });
    expect(blockDevicesOf(host).stats(d.id)).toEqual({ vbds: 1, vbdOo: 0, vbdRd: 1, vbdWr: 1, vbdRsect: 10, vbdWsect: 10 });
    // The grants are no longer in use once each copy is done.
    expect(host.mem.frame(0)).toBeDefined();
  });

  it('answers FLUSH_DISKCACHE only after fsync, and brackets a barrier write with two', () => {
    const { fe, backend, image } = connected();
    const fsync = vi.spyOn(fs, 'fsyncSync');
    fe.submit({ op: BLKIF_OP_FLUSH_DISKCACHE, id: 7n, sector: 0n });
    expect(fsync).toHaveBeenCalledTimes(1);
    expect(fsync).toHaveBeenCalledWith(backend.vbd.image!.fd);
    expect(fe.responses()).toEqual([{ id: 7n, op: BLKIF_OP_FLUSH_DISKCACHE, status: BLKIF_RSP_OKAY }]);
    fsync.mockClear();
    // The response is in the ring only after fsync returned.
    let rspAtSync = -1;
    fsync.mockImplementation(() => {
      rspAtSync = fe.ring.u32(8);
    });
    const p = fe.dataPage();
    fillPage(p.page, 0x33);
    fe.submit({ op: BLKIF_OP_WRITE_BARRIER, id: 8n, sector: 100n, segs: [{ gref: p.ref, first: 0, last: 0 }] });
    expect(fsync).toHaveBeenCalledTimes(2);
    expect(rspAtSync).toBe(1);
    expect(fe.responses()).toEqual([{ id: 8n, op: BLKIF_OP_WRITE_BARRIER, status: BLKIF_RSP_OKAY }]);
    expect(fs.readFileSync(image)[100 * 512]).toBe(0x33);
    expect(backend.vbd.counters).toMatchObject({ fReq: 2, wrSect: 1 });
  });

  it('a failing fsync answers BLKIF_RSP_ERROR and the host carries on', () => {
    const { fe } = connected();
    vi.spyOn(fs, 'fsyncSync').mockImplementation(() => {
      throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    });
    fe.submit({ op: BLKIF_OP_FLUSH_DISKCACHE, id: 1n, sector: 0n });
    expect(fe.responses()).toEqual([{ id: 1n, op: BLKIF_OP_FLUSH_DISKCACHE, status: BLKIF_RSP_ERROR }]);
  });

  it('read-only disks serve reads and refuse writes and barriers', () => {
    const { fe, image, host, d } = connected('ro');
    expect(host.xenstored.readString(`${fe.be}/info`)).toBe('4');
    expect(host.xenstored.readString(`${fe.be}/mode`)).toBe('r');
    const p = fe.dataPage();
    fe.submit(
      { op: BLKIF_OP_READ, id: 1n, sector: 0n, segs: [{ gref: p.ref, first: 0, last: 7 }] },
      { op: BLKIF_OP_WRITE, id: 2n, sector: 0n, segs: [{ gref: p.ref, first: 0, last: 7 }] },
      { op: BLKIF_OP_WRITE_BARRIER, id: 3n, sector: 0n },
      { op: BLKIF_OP_FLUSH_DISKCACHE, id: 4n, sector: 0n, segs: [{ gref: p.ref, first: 0, last: 0 }] },
      { op: BLKIF_OP_FLUSH_DISKCACHE, id: 5n, sector: 0n },
    );
    expect(fe.responses().map((r) => r.status)).toEqual([BLKIF_RSP_OKAY, BLKIF_RSP_ERROR, BLKIF_RSP_ERROR, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY]);
    expect(p.page.bytes[0]).toBe(0x5a);
    expect(fs.readFileSync(image).every((b) => b === 0x5a)).toBe(true);
    expect(blockDevicesOf(host).list(d.id)[0]).toMatchObject({ mode: 'ro', errors: 3 });
  });

  it('answers EOPNOTSUPP for DISCARD, INDIRECT and unknown operations', () => {
    const { fe } = connected();
    fe.submit({ op: BLKIF_OP_DISCARD, id: 1n, sector: 0n }, { op: BLKIF_OP_INDIRECT, id: 2n, sector: 0n }, { op: 4, id: 3n, sector: 0n }, { op: 200, id: 4n, sector: 0n });
    expect(fe.responses()).toEqual([1, 2, 3, 4].map((i) => ({ id: BigInt(i), op: [5, 6, 4, 200][i - 1], status: BLKIF_RSP_EOPNOTSUPP })));
  });
});

describe('ring: malformed requests fail alone', () => {
  it('out-of-range sectors, bad segment counts and ranges, bad grants: ERROR for each, OKAY around them', () => {
    const { fe, d, backend, image } = connected();
    const p = fe.dataPage();
    const ro = fe.dataPage(true);
    const other = fe.grant(d.p2m[fe.allocPage()]!, false, 5); // granted to domain 5, not us
    const seg = (gref = p.ref, first = 0, last = 0) => ({ gref, first, last });
    const twelve = Array.from({ length: 12 }, () => seg());
    const cases: [string, Parameters<TestFrontend['queue']>[0]][] = [
      ['last sector of the disk', { op: BLKIF_OP_READ, id: 0n, sector: 2047n, segs: [seg()] }],
      ['one past the end', { op: BLKIF_OP_READ, id: 0n, sector: 2047n, segs: [seg(p.ref, 0, 1)] }],
      ['far past the end', { op: BLKIF_OP_WRITE, id: 0n, sector: 1n << 40n, segs: [seg()] }],
      ['sector wrapping 2^64', { op: BLKIF_OP_READ, id: 0n, sector: 0xffffffffffffffffn, segs: [seg()] }],
      ['12 segments', { op: BLKIF_OP_READ, id: 0n, sector: 0n, nr: 12, segs: twelve }],
      ['255 segments', { op: BLKIF_OP_WRITE, id: 0n, sector: 0n, nr: 255, segs: twelve }],
      ['no segments', { op: BLKIF_OP_READ, id: 0n, sector: 0n, segs: [] }],
      ['first > last', { op: BLKIF_OP_READ, id: 0n, sector: 0n, segs: [seg(p.ref, 3, 2)] }],
      ['last_sect 8', { op: BLKIF_OP_READ, id: 0n, sector: 0n, segs: [seg(p.ref, 0, 8)] }],
      ['an ungranted ref', { op: BLKIF_OP_READ, id: 0n, sector: 0n, segs: [seg(300)] }],
      ['a ref beyond the table', { op: BLKIF_OP_WRITE, id: 0n, sector: 0n, segs: [seg(0xffffffff)] }],
      ['a ref granted to another domain', { op: BLKIF_OP_WRITE, id: 0n, sector: 0n, segs: [seg(other)] }],
      ['a read into a read-only grant', { op: BLKIF_OP_READ, id: 0n, sector: 0n, segs: [seg(ro.ref)] }],
      ['a write from a read-only grant', { op: BLKIF_OP_WRITE, id: 0n, sector: 3n, segs: [seg(ro.ref)] }],
      ['11 segments', { op: BLKIF_OP_READ, id: 0n, sector: 0n, segs: twelve.slice(0, 11) }],
      ['a bad second segment: nothing written', { op: BLKIF_OP_WRITE, id: 0n, sector: 50n, segs: [seg(), seg(301)] }],
    ];
    const want = [0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1];
    cases.forEach(([, r], i) => fe.queue({ ...r, id: BigInt(i) }));
    fe.push();
    const got = fe.responses();
    expect(got.map((r) => r.id)).toEqual(cases.map((_, i) => BigInt(i)));
    expect(Object.fromEntries(got.map((r, i) => [cases[i]![0], r.status]))).toEqual(Object.fromEntries(cases.map(([n], i) => [n, want[i]])));
    expect(backend.vbd.counters.errors).toBe(13);
    expect(backend.vbd.failed).toBeUndefined();
    expect(fs.readFileSync(image).subarray(50 * 512, 51 * 512).every((b) => b === 0)).toBe(true);
  });
});

describe('ring: indices and hostile frontends', () => {
  it('serves across the u32 wrap of free-running indices', () => {
    const { fe, backend } = connected('rw', { startIndex: 0xffffffff - 40 });
    const p = fe.dataPage();
    let id = 0n;
    for (let batch = 0; batch < 5; batch++) {
      const n = [32, 1, 17, 32, 5][batch]!;
      for (let k = 0; k < n; k++) fe.queue({ op: BLKIF_OP_READ, id: id++, sector: BigInt(k), segs: [{ gref: p.ref, first: 0, last: 0 }] });
      fe.push();
      const got = fe.responses();
      expect(got).toHaveLength(n);
      expect(got.every((r) => r.status === BLKIF_RSP_OKAY)).toBe(true);
    }
    expect(fe.rspCons).toBe((0xffffffff - 40 + 87) >>> 0);
    expect(backend.vbd.ringState()).toMatchObject({ reqCons: fe.rspCons, rspProdPvt: fe.rspCons });
  });

  it('honours req_event: a frontend that published without notifying is served at its next notify', () => {
    const { fe } = connected();
    const p = fe.dataPage();
    fe.queue({ op: BLKIF_OP_READ, id: 1n, sector: 0n, segs: [{ gref: p.ref, first: 0, last: 0 }] });
    expect(fe.push()).toBe(true); // req_event = 1 after connect's final check
    expect(fe.responses()).toHaveLength(1);
    // The backend asked for the next one (req_event = req_cons + 1).
    expect(fe.ring.u32(4)).toBe(2);
  });

  it('halts (not throws) on a producer index more than a ring ahead; other domains keep serving', () => {
    const { fe, backend, host } = connected();
    const other = createGuest(host, 'other', [{ source: path.join(tmp(), 'o.img'), target: 'xvda', mode: 'rw', sizeMiB: 1 }]);
    const fe2 = new TestFrontend(host, other);
    fe2.connect();
    fe.ring.setU32(0, 33);
    expect(() => fe.d.evtchn.send(fe.port)).not.toThrow();
    expect(backend.vbd.failed).toMatch(/bogus ring requests/);
    expect(fe.ring.u32(8)).toBe(0); // nothing answered
    expect(host.xenstored.readString(`/local/domain/0/error/backend/vbd/${fe.d.id}/51712/error`)).toMatch(/bogus/);
    // Still halted after further kicks, even with a sane index.
    fe.ring.setU32(0, 1);
    fe.d.evtchn.send(fe.port);
    expect(fe.ring.u32(8)).toBe(0);
    const p = fe2.dataPage();
    fe2.submit({ op: BLKIF_OP_READ, id: 9n, sector: 0n, segs: [{ gref: p.ref, first: 0, last: 0 }] });
    expect(fe2.responses()).toEqual([{ id: 9n, op: 0, status: 0 }]);
  });

  it('a producer index behind the consumer (wrapped backwards) is hostile too', () => {
    const { fe, backend } = connected();
    fe.ring.setU32(0, 0xfffffff0);
    fe.d.evtchn.send(fe.port);
    expect(backend.vbd.failed).toMatch(/bogus/);
  });

  it('a frontend that never consumes responses cannot make the backend hold or queue anything', () => {
    const { fe, backend } = connected();
    const p = fe.dataPage();
    // Ignore RING_FULL: publish ring after ring without reading a single response.
    for (let round = 0; round < 10; round++) {
      for (let k = 0; k < 32; k++) fe.queue({ op: BLKIF_OP_READ, id: BigInt(round * 32 + k), sector: 0n, segs: [{ gref: p.ref, first: 0, last: 0 }] });
      fe.push();
      fe.d.evtchn.send(fe.port);
    }
    expect(fe.ring.u32(8)).toBe(320); // every request answered in place
    expect(backend.vbd.ringState()).toMatchObject({ reqCons: 320, rspProdPvt: 320 });
    expect(backend.vbd.failed).toBeUndefined();
    expect(fe.rspCons).toBe(0);
  });

  it('a ring granted back as a read buffer, rewriting itself request after request, halts the device', () => {
    const { fe, backend, image } = connected();
    // Chunk k of the disk (8 sectors) is a whole ring page: req_prod = k + 1 and every slot a
    // READ of chunk k + 1 into the ring page itself, so each request publishes the next.
    const disk = Buffer.alloc(1 << 20);
    for (let k = 0; k < 256; k++) {
      const page = disk.subarray(k * 4096, (k + 1) * 4096);
      page.writeUInt32LE(k + 1, 0);
      for (let slot = 0; slot < 32; slot++) {
        const at = 64 + slot * 108;
        page[at] = BLKIF_OP_READ;
        page[at + 1] = 1;
        page.writeUInt32LE(k, at + 4);
        page.writeUInt32LE((k + 1) * 8, at + 12);
        page.writeUInt32LE(fe.ringRef, at + 20);
        page[at + 24] = 0;
        page[at + 25] = 7;
      }
    }
    fs.writeFileSync(image, disk);
    expect(() => fe.submit({ op: BLKIF_OP_READ, id: 0n, sector: 8n, segs: [{ gref: fe.ringRef, first: 0, last: 7 }] })).not.toThrow();
    expect(backend.vbd.failed).toMatch(/rewritten/);
    expect(backend.vbd.counters.rdReq).toBeLessThanOrEqual(4 * 32 + 1);
  });

  it('random requests on random rings never throw', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
    const { fe, host } = connected();
    const pages = [fe.dataPage(), fe.dataPage(), fe.dataPage(true)];
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(rnd() * 32);
      for (let k = 0; k < n; k++) {
        const segs = Array.from({ length: Math.floor(rnd() * 12) }, () => ({
          gref: rnd() < 0.8 ? pages[Math.floor(rnd() * 3)]!.ref : Math.floor(rnd() * 2 ** 32),
          first: Math.floor(rnd() * 9),
          last: Math.floor(rnd() * 9),
        }));
        fe.queue({ op: Math.floor(rnd() * 8), id: BigInt(round * 100 + k), sector: BigInt(Math.floor(rnd() * 2100)), segs, nr: rnd() < 0.1 ? Math.floor(rnd() * 256) : undefined });
      }
      if (rnd() < 0.05) fe.ring.setU32(0, Math.floor(rnd() * 2 ** 32));
      else fe.push();
      expect(() => fe.d.evtchn.send(fe.port)).not.toThrow();
      fe.responses();
    }
    expect(host.list()).toHaveLength(1);
  });
});
