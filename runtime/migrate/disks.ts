/**
 * Disks in a live migration. A disk whose directory both hosts see moves by reference: the
 * target opens the same image (the source's probe file beside it, made for this migration,
 * proves the directory is shared — the same path alone is no proof). Any other disk is copied
 * during pre-copy (block migration, as KubeVirt's BlockMigration): the target creates the image
 * at the same path in its own filesystem, the source sends every non-zero chunk in round 1 and
 * then, each round, the chunks the guest wrote since (DiskImage.watchWrites), the last ones
 * during stop-and-copy. The target writes them in place; the restored domain opens the copy.
 *
 * DISK record: disk index u8 | offset (u32 low, u32 high) | bytes.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Host } from '../host.ts';
import type { Domain } from '../hv/domain.ts';
import { blockDevicesOf } from '../devices/block/index.ts';
import { MigrationError } from './errors.ts';

/** Copy unit: 64 KiB. */
export const CHUNK = 64 * 1024;
const HEADER = 9;

export interface DiskOffer {
  source: string;
  target: string;
  mode: string;
  /** a file made beside the image for this migration: the target sees it iff the directory is shared */
  probe: string;
  sizeBytes: number;
}

export type DiskPlan = 'shared' | 'copy';

/** The source's side: probes, then the chunks to send, tracked as the guest writes. */
export class OutgoingDisks {
  readonly offers: DiskOffer[] = [];
  private copies: { index: number; fd: number; size: number; dirty: Set<number>; unwatch: () => void }[] = [];
  private plans: DiskPlan[] = [];
  bytesSent = 0;

  constructor(private readonly host: Host, private readonly d: Domain) {}

  /** Make the probe files (HELLO carries them). */
  offer(): DiskOffer[] {
    try {
      for (const v of blockDevicesOf(this.host).save(this.d.id)) {
        const probe = join(dirname(v.source), `.${basename(v.source)}.xenoform-migrate-${randomBytes(8).toString('hex')}`);
        fs.writeFileSync(probe, '', { flag: 'wx', mode: 0o600 });
        this.offers.push({ source: v.source, target: v.target, mode: v.mode, probe, sizeBytes: fs.statSync(v.source).size });
      }
    } catch (e) {
      this.removeProbes();
      throw new MigrationError('EINVAL', `cannot prepare the disks for migration: ${(e as Error).message}`);
    }
    return this.offers;
  }

  removeProbes(): void {
    for (const o of this.offers) fs.rmSync(o.probe, { force: true });
  }

  /** The target's answer: which disks to copy. Starts tracking their writes; all chunks dirty. */
  start(plans: unknown): void {
    if (!Array.isArray(plans) || plans.length !== this.offers.length || plans.some((p) => p !== 'shared' && p !== 'copy')) {
      throw new MigrationError('EPROTO', 'the target answered an unexpected disk plan');
    }
    this.plans = plans as DiskPlan[];
    plans.forEach((plan, index) => {
      if (plan !== 'copy') return;
      const o = this.offers[index]!;
      const image = blockDevicesOf(this.host).imageOf(this.d.id, o.target);
      if (!image) throw new MigrationError('EINVAL', `disk ${o.target} is not open`);
      const dirty = new Set<number>();
      for (let c = 0; c * CHUNK < o.sizeBytes; c++) dirty.add(c);
      const unwatch = image.watchWrites((off, len) => {
        for (let c = Math.floor(off / CHUNK); c * CHUNK < off + len; c++) dirty.add(c);
      });
      this.copies.push({ index, fd: fs.openSync(o.source, 'r'), size: o.sizeBytes, dirty, unwatch });
    });
  }

  get copying(): boolean {
    return this.copies.length > 0;
  }

  /** Chunks written since they were last sent. */
  get pending(): number {
    return this.copies.reduce((n, c) => n + c.dirty.size, 0);
  }

  /**
   * Take the dirty chunks as DISK records; all-zero chunks are skipped in the first pass (the
   * target's new image is sparse, so they are zero there already).
   */
  *records(first: boolean): Generator<Buffer> {
    for (const c of this.copies) {
      const chunks = [...c.dirty].sort((a, b) => a - b);
      c.dirty.clear();
      for (const chunk of chunks) {
        const off = chunk * CHUNK;
        const len = Math.min(CHUNK, c.size - off);
        if (len <= 0) continue;
        const rec = Buffer.alloc(HEADER + len);
        let got = 0;
        while (got < len) {
          const n = fs.readSync(c.fd, rec, HEADER + got, len - got, off + got);
          if (n === 0) break;
          got += n;
        }
        if (first && rec.subarray(HEADER).every((b) => b === 0)) continue;
        rec[0] = c.index;
        rec.writeUInt32LE(off % 2 ** 32, 1);
        rec.writeUInt32LE(Math.floor(off / 2 ** 32), 5);
        this.bytesSent += len;
        yield rec;
      }
    }
  }

  stop(): void {
    for (const c of this.copies) {
      c.unwatch();
      fs.closeSync(c.fd);
    }
    this.copies = [];
  }

  /** How the disks moved (the migration's result). */
  get mode(): 'none' | 'shared' | 'copied' {
    return this.offers.length === 0 ? 'none' : this.plans.includes('copy') ? 'copied' : 'shared';
  }
}

/** The target's side: decide per disk, create the copies, write what arrives, undo on failure. */
export class IncomingDisks {
  private files: { path: string; fd: number; size: number }[] = [];
  private created: string[] = [];
  plans: DiskPlan[] = [];

  /** Shared if the probe is visible; else a new image at the same path (never over another). */
  accept(offers: DiskOffer[]): DiskPlan[] {
    for (const o of offers) {
      if (fs.existsSync(o.probe)) {
        this.plans.push('shared');
        this.files.push({ path: o.source, fd: -1, size: 0 });
        continue;
      }
      if (fs.existsSync(o.source)) {
        throw new MigrationError('EEXIST', `disk ${o.target}: another image already exists at ${o.source} on this host, and the source's is not shared with it; refusing to overwrite it`);
      }
      try {
        fs.mkdirSync(dirname(o.source), { recursive: true });
        const fd = fs.openSync(o.source, 'wx', 0o600);
        this.created.push(o.source);
        fs.ftruncateSync(fd, o.sizeBytes);
        this.files.push({ path: o.source, fd, size: o.sizeBytes });
        this.plans.push('copy');
      } catch (e) {
        if (e instanceof MigrationError) throw e;
        throw new MigrationError('EINVAL', `disk ${o.target}: cannot create ${o.source} for the copy: ${(e as Error).message}`);
      }
    }
    return this.plans;
  }

  write(rec: Buffer): void {
    const f = this.files[rec[0]!];
    const off = rec.readUInt32LE(1) + rec.readUInt32LE(5) * 2 ** 32;
    const len = rec.length - HEADER;
    if (!f || f.fd < 0 || len <= 0 || off % CHUNK !== 0 || off + len > f.size) throw new MigrationError('EPROTO', `a DISK record for disk ${rec[0]} at ${off}+${len} is out of bounds`);
    let done = 0;
    while (done < len) done += fs.writeSync(f.fd, rec, HEADER + done, len - done, off + done);
  }

  /** All arrived: make the copies durable and close them (the restored domain opens them). */
  finish(): void {
    for (const f of this.files) {
      if (f.fd < 0) continue;
      fs.fsyncSync(f.fd);
      fs.closeSync(f.fd);
      f.fd = -1;
    }
  }

  /** The migration failed here: the copies go. */
  discard(): void {
    this.finish();
    for (const p of this.created) fs.rmSync(p, { force: true });
    this.created = [];
  }
}
