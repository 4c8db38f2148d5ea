// Disk images and their owners: creation at sizeMiB, refusals, the exclusive-writer registry
// across domains, release on destroy and on a failed create, vdev numbers, and the API.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageRefusedError, InvalidArgumentError, LocalHypervisor } from '../../api.ts';
import { HostError } from '../../host.ts';
import { BLKIF_OP_READ, BLKIF_OP_WRITE } from './blkif.ts';
import { blockDevicesOf, DiskRefusedError } from './index.ts';
import { createGuest, fillPage, newHost, TestFrontend, TICKER } from './test-frontend.ts';
import { parseVdev } from './vdev.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'xenoform-img-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** The refusal `fn` throws, as [code, message]. */
function refusal(fn: () => unknown): [string, string] {
  try {
    fn();
  } catch (e) {
    if (e instanceof DiskRefusedError) return [e.code, e.message];
    throw e;
  }
  throw new Error('not refused');
}

describe('vdev names', () => {
  it('numbers xvd disks as 202<<8 | disk<<4 | part, and the extended form beyond', () => {
    expect(parseVdev('xvda').number).toBe(51712);
    expect(parseVdev('xvdb').number).toBe(51728);
    expect(parseVdev('xvda1').number).toBe(51713);
    expect(parseVdev('xvdp15').number).toBe((202 << 8) | (15 << 4) | 15);
    expect(parseVdev('xvdq')).toMatchObject({ disk: 16, number: (1 << 28) | (16 << 8) });
    expect(parseVdev('xvdaa')).toMatchObject({ disk: 26, number: (1 << 28) | (26 << 8) });
    expect(parseVdev('xvda16').number).toBe((1 << 28) | 16);
    for (const bad of ['sda', 'xvd', 'xvdA', 'xvda0', 'xvda256', 'hda', 'xvda/1', '']) {
      expect(() => parseVdev(bad), bad).toThrow(DiskRefusedError);
    }
  });
});

describe('images', () => {
  it('creates a missing image, sparse, at sizeMiB, and parent directories with it', () => {
    const image = path.join(tmp(), 'state', 'kv.img');
    const host = newHost();
    const d = createGuest(host, 'kv', [{ source: image, target: 'xvda', mode: 'rw', sizeMiB: 64 }]);
    const st = fs.statSync(image);
    expect(st.size).toBe(64 * 2 ** 20);
    expect(st.blocks * 512).toBeLessThan(1 << 20); // sparse
    expect(host.xenstored.readString(`/local/domain/0/backend/vbd/${d.id}/51712/sectors`)).toBe(String(64 * 2048));
    // An existing image keeps its size whatever sizeMiB says.
    host.destroy(d.id);
    const d2 = createGuest(host, 'kv', [{ source: image, target: 'xvda', mode: 'rw', sizeMiB: 1 }]);
    expect(blockDevicesOf(host).list(d2.id)[0]!.sectors).toBe(64 * 2048);
  });

  it('refuses a missing image without sizeMiB, a directory, a device, and malformed entries, with stable codes', () => {
    const dir = tmp();
    const host = newHost();
    const create = (disks: unknown) => () => createGuest(host, 'g', disks as never);
    expect(refusal(create([{ source: path.join(dir, 'nope.img'), target: 'xvda', mode: 'rw' }]))).toEqual([
      'DISK_MISSING', `disk xvda: image ${path.join(dir, 'nope.img')} does not exist; give sizeMiB to create it`,
    ]);
    expect(refusal(create([{ source: dir, target: 'xvda', mode: 'ro' }]))).toEqual(['DISK_NOT_FILE', `disk xvda: image ${dir} is not a regular file`]);
    expect(refusal(create([{ source: '/dev/null', target: 'xvda', mode: 'rw' }]))[0]).toBe('DISK_NOT_FILE');
    const img = path.join(dir, 'a.img');
    fs.writeFileSync(img, Buffer.alloc(4096));
    for (const [disks, msg] of [
      [[{ source: img, target: 'sda', mode: 'rw' }], /not a Xen virtual disk name/],
      [[{ source: img, target: 'xvda', mode: 'w' }], /mode must be rw or ro/],
      [[{ source: img, target: 'xvda', mode: 'rw', sizeMiB: 0 }], /sizeMiB must be an integer/],
      [[{ source: img, target: 'xvda', mode: 'rw', size: 3 }], /unknown field "size"/],
      [[{ source: img, target: 'xvda', mode: 'ro' }, { source: img, target: 'xvda', mode: 'ro' }], /target xvda is already used by disks\[0\]/],
      [[null], /a disk must be an object/],
    ] as const) {
      const [code, message] = refusal(create(disks));
      expect(code).toBe('DISK_SPEC');
      expect(message).toMatch(msg);
    }
    expect(host.list()).toHaveLength(0);
    // Nothing stayed locked by the refused creates.
    createGuest(host, 'g', [{ source: img, target: 'xvda', mode: 'rw' }]);
  });

  it('no two running domains open the same writable image; read-only opens share', () => {
    const dir = tmp();
    const img = path.join(dir, 'shared.img');
    const host = newHost();
    const a = createGuest(host, 'a', [{ source: img, target: 'xvda', mode: 'rw', sizeMiB: 1 }]);
    // Another name for the same file is the same image.
    fs.symlinkSync(img, path.join(dir, 'alias.img'));
    const [code, message] = refusal(() => createGuest(host, 'b', [{ source: path.join(dir, 'alias.img'), target: 'xvdb', mode: 'rw' }]));
    expect(code).toBe('DISK_IN_USE');
    expect(message).toBe(`disk xvdb: image ${path.join(dir, 'alias.img')} is already open writable by domain ${a.id} (a, xvda); a writable image belongs to one domain at a time`);
    expect(refusal(() => createGuest(host, 'b', [{ source: img, target: 'xvda', mode: 'ro' }]))[0]).toBe('DISK_IN_USE');
    // The same domain cannot take it twice either.
    expect(refusal(() => createGuest(host, 'c', [{ source: path.join(dir, 'c.img'), target: 'xvda', mode: 'rw', sizeMiB: 1 }, { source: path.join(dir, 'c.img'), target: 'xvdb', mode: 'rw' }]))[0]).toBe('DISK_IN_USE');
    expect(host.list().map((d) => d.name)).toEqual(['a']);
    // Destroying the writer releases it; then readers share, and a writer is refused.
    host.destroy(a.id);
    const r1 = createGuest(host, 'r1', [{ source: img, target: 'xvda', mode: 'ro' }]);
    const r2 = createGuest(host, 'r2', [{ source: img, target: 'xvda', mode: 'ro' }]);
    expect(refusal(() => createGuest(host, 'w', [{ source: img, target: 'xvda', mode: 'rw' }]))[1]).toMatch(/already open read-only by domain \d+ \(r1, xvda\); an image cannot be shared while a domain writes it/);
    host.destroy(r1.id);
    host.destroy(r2.id);
    createGuest(host, 'w', [{ source: img, target: 'xvda', mode: 'rw' }]);
  });

  it('a create that fails after the images were opened releases them', () => {
    const img = path.join(tmp(), 'x.img');
    const host = newHost();
    // The domain builder refuses 2 MiB (the kernel needs 4 MiB of bootstrap mappings) after prepare.
    expect(() => host.createDomain({ name: 'tiny', kernel: readFileSync(TICKER), memoryMiB: 2, paused: true, disks: [{ source: img, target: 'xvda', mode: 'rw', sizeMiB: 1 }] })).toThrow(/bootstrap/);
    expect(fs.existsSync(img)).toBe(true);
    expect(blockDevicesOf(host).locks.holders(fs.realpathSync(img))).toEqual([]);
    // Refused before anything is opened (no memory): the image is not even created.
    const img2 = path.join(tmp(), 'y.img');
    expect(() => host.createDomain({ name: 'big', kernel: readFileSync(TICKER), memoryMiB: 1024, paused: true, disks: [{ source: img2, target: 'xvda', mode: 'rw', sizeMiB: 1 }] })).toThrow(HostError);
    expect(fs.existsSync(img2)).toBe(false);
    createGuest(host, 'small', [{ source: img, target: 'xvda', mode: 'rw' }]);
  });

  it('destroy detaches: ring unmapped, event channel closed, nodes gone, lock released, data durable in the file', () => {
    const img = path.join(tmp(), 'd.img');
    const host = newHost();
    const d = createGuest(host, 'g', [{ source: img, target: 'xvda', mode: 'rw', sizeMiB: 1 }]);
    const fe = new TestFrontend(host, d);
    fe.connect();
    const p = fe.dataPage();
    fillPage(p.page, 0x42);
    fe.submit({ op: BLKIF_OP_WRITE, id: 1n, sector: 8n, segs: [{ gref: p.ref, first: 0, last: 7 }] });
    expect(fe.responses()[0]!.status).toBe(0);
    const dom0Port = d.evtchn.channel(fe.port)!.remotePort;
    expect(host.dom0Evtchn.channel(dom0Port)?.state).toBe(2);
    host.destroy(d.id);
    expect(host.dom0Evtchn.channel(dom0Port)).toBeUndefined();
    expect(host.xenstored.readString(`/local/domain/0/backend/vbd/${d.id}/51712/state`)).toBeUndefined();
    expect(blockDevicesOf(host).list(d.id)).toEqual([]);
    expect(blockDevicesOf(host).locks.holders(fs.realpathSync(img))).toEqual([]);
    expect(fs.readFileSync(img)[8 * 512]).toBe(0x42);
    // A new domain gets the image and reads what the old one wrote.
    const d2 = createGuest(host, 'g2', [{ source: img, target: 'xvda', mode: 'rw' }]);
    const fe2 = new TestFrontend(host, d2);
    fe2.connect();
    const q = fe2.dataPage();
    fe2.submit({ op: BLKIF_OP_READ, id: 2n, sector: 8n, segs: [{ gref: q.ref, first: 0, last: 0 }] });
    expect(fe2.responses()[0]!.status).toBe(0);
    expect(q.page.bytes[511]).toBe(0x42);
  });
});

describe('Hypervisor API', () => {
  it('creates domains with disks, refuses with API error classes, and reports xentop VBD columns', async () => {
    const dir = tmp();
    const hv = LocalHypervisor.create({ clock: 'virtual', memoryBytes: 128 * 2 ** 20 });
    const img = path.join(dir, 'api.img');
    const a = await hv.create({ name: 'a', kernel: TICKER.pathname, memoryMiB: 8, paused: true, disks: [{ source: img, target: 'xvda', mode: 'rw', sizeMiB: 2 }] });
    await expect(hv.create({ name: 'b', kernel: TICKER.pathname, memoryMiB: 8, disks: [{ source: img, target: 'xvda', mode: 'rw' }] })).rejects.toThrow(ImageRefusedError);
    await expect(hv.create({ name: 'b', kernel: TICKER.pathname, memoryMiB: 8, disks: [{ source: img, target: 'hda', mode: 'rw' }] })).rejects.toThrow(InvalidArgumentError);
    await expect(hv.create({ name: 'b', kernel: TICKER.pathname, memoryMiB: 8, disks: 'xvda' as never })).rejects.toThrow(InvalidArgumentError);
    const fe = new TestFrontend(hv.host, hv.host.domain(a.domid)!);
    fe.connect();
    const p = fe.dataPage();
    fe.submit(
      { op: BLKIF_OP_WRITE, id: 1n, sector: 0n, segs: [{ gref: p.ref, first: 0, last: 7 }, { gref: p.ref, first: 0, last: 3 }] },
      { op: BLKIF_OP_READ, id: 2n, sector: 0n, segs: [{ gref: p.ref, first: 0, last: 1 }] },
      { op: BLKIF_OP_READ, id: 3n, sector: 0n, segs: [{ gref: p.ref, first: 0, last: 1 }] },
    );
    const stats = await hv.stats();
    expect(stats.domains.find((s) => s.domid === a.domid)).toMatchObject({ vbds: 1, vbdOo: 0, vbdRd: 2, vbdWr: 1, vbdRsect: 4, vbdWsect: 12 });
    expect(stats.domains[0]).toMatchObject({ domid: 0, vbds: 0 });
    await hv.destroy(a.domid);
    await hv.create({ name: 'b', kernel: TICKER.pathname, memoryMiB: 8, paused: true, disks: [{ source: img, target: 'xvda', mode: 'rw' }] });
    await hv.close();
  });
});
