// The guest kit's blkfront (guests/src/blktest.c, written separately against the same public
// ABI) against this blkback, in a real domain on a real host: writes, flushes, read-back,
// read-only refusal, and data that survives a destroy (a power cut) after the flush.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Host } from '../../host.ts';
import type { DiskSpec } from './image.ts';
import { blockDevicesOf } from './index.ts';

const BLKTEST = fs.readFileSync(new URL('../../../guests/build/blktest.elf', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function run(host: Host, name: string, cmdline: string, disks: DiskSpec[]): { text: string; domid: number } {
  const d = host.createDomain({ name, kernel: BLKTEST, memoryMiB: 16, cmdline, disks });
  host.runFor(60e9, () => d.isShutdown);
  expect(d.isShutdown).toBe(true);
  return { text: host.console(d.id)!.text(), domid: d.id };
}

describe('blkfront (guest kit) ↔ blkback', () => {
  it('writes, flushes, reads back and verifies; a read-only disk refuses writes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenoform-blkfront-'));
    dirs.push(dir);
    const host = new Host({ clock: 'virtual', memoryBytes: 256 * 2 ** 20 });
    const rw = run(host, 'rw', 'seed=7', [{ source: path.join(dir, 'rw.img'), target: 'xvda', mode: 'rw', sizeMiB: 4 }]);
    expect(rw.text).toContain('blktest: vbd 51712 8192 sectors, sector-size 512, rw, flush flush-cache');
    expect(rw.text).toMatch(/blktest: PASS wrote \d+ sectors in 4 runs, flushed, read back, verified/);
    expect(blockDevicesOf(host).list(rw.domid)[0]).toMatchObject({ state: 4, errors: 0, fReq: 1 });
    const ro = path.join(dir, 'ro.img');
    fs.writeFileSync(ro, Buffer.alloc(1 << 20));
    const r = run(host, 'ro', 'seed=7', [{ source: ro, target: 'xvda', mode: 'ro' }]);
    expect(r.text).toContain('blktest: vbd 51712 2048 sectors, sector-size 512, ro,');
    expect(r.text).toMatch(/blktest: PASS read-only: read \d+ sectors, write refused/);
  });

  it('flushed writes survive a destroy (power cut) and verify in the next domain on the same disk', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenoform-blkfront-'));
    dirs.push(dir);
    const disk: DiskSpec = { source: path.join(dir, 'data.img'), target: 'xvda', mode: 'rw', sizeMiB: 8 };
    const host = new Host({ clock: 'virtual', memoryBytes: 256 * 2 ** 20 });
    const w = run(host, 'writer', 'seed=42 mode=write', [disk]);
    expect(w.text).toMatch(/blktest: PASS wrote \d+ sectors in 4 runs, flushed/);
    host.destroy(w.domid);
    const v = run(host, 'verifier', 'seed=42 mode=verify', [disk]);
    expect(v.text).toMatch(/blktest: PASS verified \d+ sectors in 4 runs/);
  });
});
