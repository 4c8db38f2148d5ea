// A vbd's backend state as a versioned record: save, JSON, restore, and the ring carries on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BLKIF_OP_READ, BLKIF_OP_WRITE } from './blkif.ts';
import { blockDevicesOf } from './index.ts';
import { checkVbdRecord, VBD_RECORD_VERSION } from './persist.ts';
import { createGuest, fillPage, newHost, TestFrontend } from './test-frontend.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenoform-persist-'));
  dirs.push(dir);
  const image = path.join(dir, 'disk.img');
  const host = newHost();
  const d = createGuest(host, 'db', [{ source: image, target: 'xvda', mode: 'rw', sizeMiB: 1 }, { source: path.join(dir, 'ro.img'), target: 'xvdb', mode: 'ro', sizeMiB: 1 }]);
  const fe = new TestFrontend(host, d);
  fe.connect();
  return { host, d, fe, image };
}

describe('vbd persist', () => {
  it('round-trips a connected backend: ring position, state and counters carry on', () => {
    const { host, d, fe, image } = setup();
    const blk = blockDevicesOf(host);
    const p = fe.dataPage();
    fillPage(p.page, 0x61);
    for (let i = 0; i < 3; i++) fe.submit({ op: BLKIF_OP_WRITE, id: BigInt(i), sector: BigInt(i * 8), segs: [{ gref: p.ref, first: 0, last: 7 }] });
    expect(fe.responses()).toHaveLength(3);

    const saved = JSON.parse(JSON.stringify(blk.save(d.id))) as unknown[];
    expect(saved).toEqual([
      {
        version: VBD_RECORD_VERSION, source: image, target: 'xvda', mode: 'rw', devid: 51712, state: 4,
        ring: { ringRef: fe.ringRef, remotePort: fe.port, reqCons: 3, rspProdPvt: 3 }, failed: null,
        counters: { rdReq: 0, wrReq: 3, fReq: 0, ooReq: 0, rdSect: 0, wrSect: 24, errors: 0, unsupported: 0 },
      },
      expect.objectContaining({ target: 'xvdb', mode: 'ro', devid: 51728, state: 2, ring: null }),
    ]);
    expect(saved.map(checkVbdRecord)).toEqual(saved);

    // The domain is saved: its backends go, the store stays with it.
    blk.detach(d.id, { keepStore: true });
    expect(blk.locks.holders(fs.realpathSync(image))).toEqual([]);
    expect(d.evtchn.channel(fe.port)?.state).toBe(1); // unbound again, offered to Domain-0
    expect(host.xenstored.readString(`${fe.be}/state`)).toBe('4');

    blk.restore(d, 'db', saved);
    expect(blk.locks.holders(fs.realpathSync(image))).toHaveLength(1);
    expect(d.evtchn.channel(fe.port)?.state).toBe(2);
    const q = fe.dataPage();
    fe.submit({ op: BLKIF_OP_READ, id: 99n, sector: 16n, segs: [{ gref: q.ref, first: 0, last: 7 }] });
    expect(fe.responses()).toEqual([{ id: 99n, op: BLKIF_OP_READ, status: 0 }]);
    expect(Buffer.from(q.page.bytes)).toEqual(Buffer.from(p.page.bytes));
    expect(blk.save(d.id)[0]).toMatchObject({ ring: { reqCons: 4, rspProdPvt: 4 }, counters: { wrReq: 3, rdReq: 1 } });
  });

  it('rewrites a missing backend directory at the saved state, and keeps a halted ring halted', () => {
    const { host, d, fe } = setup();
    const blk = blockDevicesOf(host);
    fe.ring.setU32(0, 1000);
    fe.d.evtchn.send(fe.port);
    const saved = blk.save(d.id);
    expect(saved[0]!.failed).toMatch(/bogus/);
    blk.detach(d.id, { keepStore: true });
    host.xenstored.rm(`/local/domain/0/backend/vbd/${d.id}`);
    blk.restore(d, 'db', saved);
    expect(host.xenstored.readString(`${fe.be}/state`)).toBe('4');
    expect(host.xenstored.readString(`${fe.be}/sectors`)).toBe('2048');
    expect(host.xenstored.getPerms(fe.be)).toEqual(['n0', `r${d.id}`]);
    expect(blk.backend(d.id, 'xvda')!.vbd.failed).toMatch(/bogus/);
  });

  it('refuses records it does not understand', () => {
    const good = {
      version: 1, source: '/x', target: 'xvda', mode: 'rw', devid: 51712, state: 4, ring: null, failed: null,
      counters: { rdReq: 0, wrReq: 0, fReq: 0, ooReq: 0, rdSect: 0, wrSect: 0, errors: 0, unsupported: 0 },
    };
    expect(checkVbdRecord(good)).toEqual(good);
    for (const [patch, why] of [
      [{ version: 2 }, /version 2/],
      [{ mode: 'w' }, /mode/],
      [{ ring: { ringRef: 1, remotePort: 2, reqCons: -1, rspProdPvt: 0 } }, /ring.reqCons/],
      [{ counters: { ...good.counters, rdReq: 1.5 } }, /counters.rdReq/],
      [{ devid: 'xvda' }, /devid/],
    ] as const) {
      expect(() => checkVbdRecord({ ...good, ...patch })).toThrow(why);
    }
    expect(() => checkVbdRecord(null)).toThrow(/not an object/);
  });
});
