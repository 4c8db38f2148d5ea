/**
 * Disk images: raw files on the host, opened once per attached disk and kept open.
 *
 * I/O is synchronous (fs.readSync / writeSync / fsyncSync on the kept-open descriptor). That
 * is deliberate: the host's one JavaScript thread *is* the hypervisor, a request is served
 * while its frontend's vCPU is stopped in the notifying hypercall, and the response is in the
 * ring before the guest runs again. A flush returns only after fsync, which is the durability
 * a guest's BLKIF_OP_FLUSH_DISKCACHE asks for.
 *
 * `fs` is used through its default export so that tests can watch fsync.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DiskRefusedError } from './errors.ts';
import { SECTOR_SIZE } from './blkif.ts';

export type DiskMode = 'rw' | 'ro';

/** A disk declared for a domain (Domain spec `disks[]`, or an xl disk spec). */
export interface DiskSpec {
  /** Host path of a raw image file. */
  source: string;
  /** Virtual device: xvda, xvdb, … (partitions as xvda1 …). */
  target: string;
  mode: DiskMode;
  /** Create the image with this size (sparse) if it does not exist. */
  sizeMiB?: number;
}

/** Largest image we create: 1 TiB (sparse, so only what the guest writes takes space). */
export const MAX_CREATE_MIB = 1 << 20;

export function checkDiskSpec(s: unknown, where: string): asserts s is DiskSpec {
  const bad = (why: string): never => {
    throw new DiskRefusedError('DISK_SPEC', `${where}: ${why}`);
  };
  if (typeof s !== 'object' || s === null) bad('a disk must be an object {source, target, mode, sizeMiB?}');
  const d = s as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!['source', 'target', 'mode', 'sizeMiB'].includes(k)) bad(`unknown field ${JSON.stringify(k)}`);
  if (typeof d.source !== 'string' || d.source.length === 0 || d.source.includes('\0')) bad('source must be the host path of an image file');
  if (typeof d.target !== 'string') bad('target must be a virtual disk name such as xvda');
  if (d.mode !== 'rw' && d.mode !== 'ro') bad(`mode must be rw or ro, not ${JSON.stringify(d.mode)}`);
  if (d.sizeMiB !== undefined && !(Number.isInteger(d.sizeMiB) && (d.sizeMiB as number) >= 1 && (d.sizeMiB as number) <= MAX_CREATE_MIB)) {
    bad(`sizeMiB must be an integer from 1 to ${MAX_CREATE_MIB}, not ${JSON.stringify(d.sizeMiB)}`);
  }
}

/** An open image: a descriptor, its identity and its size in 512-byte sectors. */
export class DiskImage {
  private closed = false;
  /** who is told of every write (live migration's block copy tracks what to send again) */
  private readonly writeWatchers = new Set<(offset: number, length: number) => void>();

  private constructor(
    /** The canonical path (realpath): the key of the writer lock. */
    readonly realPath: string,
    readonly fd: number,
    readonly readonly: boolean,
    readonly sectors: number,
  ) {}

  /**
   * Open `spec.source` (creating it if missing and sizeMiB is given). Refuses a missing image
   * without sizeMiB and anything that is not a regular file. The caller checks the lock
   * between `resolve` and `open`.
   */
  static resolve(spec: DiskSpec): string {
    const what = `disk ${spec.target}: image ${spec.source}`;
    let st: fs.Stats;
    try {
      st = fs.statSync(spec.source);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'ENOENT') throw new DiskRefusedError('DISK_IO', `${what}: cannot stat it (${err.code ?? err.message})`);
      if (spec.sizeMiB === undefined) throw new DiskRefusedError('DISK_MISSING', `${what} does not exist; give sizeMiB to create it`);
      createSparse(spec.source, spec.sizeMiB, what);
      st = fs.statSync(spec.source);
    }
    if (!st.isFile()) throw new DiskRefusedError('DISK_NOT_FILE', `${what} is not a regular file`);
    return fs.realpathSync(spec.source);
  }

  static open(realPath: string, spec: DiskSpec): DiskImage {
    const what = `disk ${spec.target}: image ${spec.source}`;
    const ro = spec.mode === 'ro';
    let fd: number;
    try {
      fd = fs.openSync(realPath, ro ? 'r' : 'r+');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new DiskRefusedError('DISK_IO', `${what}: cannot open it ${ro ? 'read-only' : 'read-write'} (${err.code ?? err.message})`);
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      // It changed between the stat and the open.
      fs.closeSync(fd);
      throw new DiskRefusedError('DISK_NOT_FILE', `${what} is not a regular file`);
    }
    return new DiskImage(realPath, fd, ro, Math.floor(st.size / SECTOR_SIZE));
  }

  /** Read `buf.length` bytes at `offset`; bytes past the end of the file read as zeros. */
  read(buf: Uint8Array, offset: number): void {
    let done = 0;
    while (done < buf.length) {
      const n = fs.readSync(this.fd, buf, done, buf.length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    buf.fill(0, done);
  }

  write(buf: Uint8Array, offset: number): void {
    let done = 0;
    while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done, offset + done);
    for (const w of this.writeWatchers) w(offset, buf.length);
  }

  /** Be told of every write from now on (offset, length); returns the unsubscribe. */
  watchWrites(fn: (offset: number, length: number) => void): () => void {
    this.writeWatchers.add(fn);
    return () => this.writeWatchers.delete(fn);
  }

  /** Make every completed write durable (BLKIF_OP_FLUSH_DISKCACHE, and around a barrier). */
  flush(): void {
    fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already gone: nothing to release
    }
  }
}

/** Create a sparse image of `mib` MiB, durably (the file, then its directory entry). */
function createSparse(file: string, mib: number, what: string): void {
  const dir = path.dirname(path.resolve(file));
  let fd: number | undefined;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fd = fs.openSync(file, 'wx', 0o600);
    fs.ftruncateSync(fd, mib * 2 ** 20);
    fs.fsyncSync(fd);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new DiskRefusedError('DISK_IO', `${what}: cannot create it (${err.code ?? err.message})`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the file itself is already durable.
  }
}
