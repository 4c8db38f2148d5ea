// A guest saved in the middle of disk I/O (blktest after its first line) and restored on the
// same host finishes its runs with PASS: blkback re-attaches to the ring at its saved position.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Host } from '../host.ts';
import { saveDomain } from './save.ts';
import { restoreDomain } from './restore.ts';

const BLKTEST = readFileSync(new URL('../../guests/build/blktest.elf', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'xf-blksr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('block devices across save and restore', () => {
  it('blktest saved after its first line passes after restore', () => {
    const host = new Host({ clock: 'virtual', memoryBytes: 256 * 2 ** 20 });
    const d = host.createDomain({
      name: 'blk', kernel: BLKTEST, memoryMiB: 16, cmdline: 'seed=7',
      disks: [{ source: join(dir, 'disk.img'), target: 'xvda', mode: 'rw', sizeMiB: 4 }],
    });
    let out = '';
    const off = host.console(d.id)!.subscribe((b) => (out += Buffer.from(b).toString('latin1')));
    host.runFor(60e9, () => out.includes('\n'));
    off();
    expect(out).toMatch(/^blktest: vbd \d+ \d+ sectors/);
    const r = restoreDomain(host, saveDomain(host, d.id));
    let rest = '';
    host.console(r.id)!.subscribe((b) => (rest += Buffer.from(b).toString('latin1')));
    host.runFor(60e9, () => r.isShutdown);
    expect(rest).toMatch(/^blktest: PASS wrote \d+ sectors in \d+ runs, flushed, read back, verified\n$/);
  });
});
