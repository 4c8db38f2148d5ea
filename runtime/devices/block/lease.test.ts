// The writable-image lease between hosts (lease.ts): one holder at a time, stale leases of
// dead processes on this machine taken over, other machines' never guessed at, and the
// migration handoff.
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageLeases, leasePath } from './lease.ts';
import { DiskRefusedError } from './errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'xf-lease-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const image = () => {
  const p = join(dir, `img${n++}.raw`);
  writeFileSync(p, '');
  return p;
};
const refusal = (f: () => void): DiskRefusedError => {
  try {
    f();
  } catch (e) {
    return e as DiskRefusedError;
  }
  throw new Error('not refused');
};

describe('image leases between hosts', () => {
  it('one writable holder at a time; released, the next one takes it', () => {
    const img = image();
    const a = new ImageLeases('host-a');
    const b = new ImageLeases('host-b');
    a.take(img, 'kv', 'disk xvda: image kv.img');
    expect(a.holder(img)).toMatchObject({ hostId: 'host-a', domain: 'kv', pid: process.pid, hostname: hostname() });
    const e = refusal(() => b.take(img, 'other', 'disk xvda: image kv.img'));
    expect(e.code).toBe('DISK_IN_USE');
    expect(e.message).toMatch(/held writable by domain kv on another host .*remove .*xenoform-lease/);
    expect(refusal(() => b.check(img, 'disk xvdb: image kv.img')).message).toMatch(/open writable by domain kv on another host/);
    b.release(img); // not b's: nothing happens
    expect(a.holder(img)?.hostId).toBe('host-a');
    a.release(img);
    expect(existsSync(leasePath(img))).toBe(false);
    b.take(img, 'other', 'x');
    expect(b.holder(img)?.hostId).toBe('host-b');
  });

  it('a lease of a dead process on this machine is stale and taken over; another machine\'s is not', () => {
    const img = image();
    writeFileSync(leasePath(img), JSON.stringify({ hostId: 'gone', hostname: hostname(), pid: 2 ** 22 + 12345, domain: 'kv', since: 'then' }));
    const b = new ImageLeases('host-b');
    b.take(img, 'kv', 'x');
    expect(b.holder(img)?.hostId).toBe('host-b');
    const img2 = image();
    writeFileSync(leasePath(img2), JSON.stringify({ hostId: 'far', hostname: 'another-machine', pid: 1, domain: 'kv', since: 'then' }));
    expect(refusal(() => b.take(img2, 'kv', 'x')).message).toMatch(/pid 1 on another-machine/);
  });

  it('migration: the target opens expecting the lease, the source passes it, the target holds it', () => {
    const img = image();
    const src = new ImageLeases('src');
    const dst = new ImageLeases('dst');
    src.take(img, 'kv', 'x');
    dst.take(img, 'kv', 'x', { handoffFrom: 'src' }); // prepared: the source still holds it
    expect(src.holder(img)?.hostId).toBe('src');
    expect(refusal(() => dst.take(img, 'kv', 'x', { handoffFrom: 'someone-else' })).code).toBe('DISK_IN_USE');
    expect(src.passTo(img, { ...dst.self, domain: 'kv', since: 'now' })).toBe(true);
    src.release(img); // the source's copy is destroyed: the lease is not its own any more
    expect(dst.holder(img)?.hostId).toBe('dst');
    expect(src.passTo(img, { ...dst.self, domain: 'kv', since: 'now' })).toBe(false);
    dst.release(img);
    expect(existsSync(leasePath(img))).toBe(false);
  });
});
