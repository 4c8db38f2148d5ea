/**
 * The writable-image lock between hosts. ImageLocks (locks.ts) keeps two domains of one host
 * off one writable image; hosts that share a directory need the same rule across processes and
 * machines, so a writable open also takes a lease file beside the image,
 * `.<image>.xenoform-lease`, naming the holder (host id, machine, pid, domain). Created with
 * O_EXCL, so only one host wins it.
 *
 * A lease whose holder was on this machine and whose process is gone is stale (a host killed
 * with SIGKILL: a power cut) and is taken over. One held from another machine is never
 * guessed at: the refusal names the holder and the file to remove once that host is known to
 * be gone. Live migration passes the lease (passTo) from the source to the target at the
 * commitment, so exactly one host holds the image at any time; the target opens the image
 * before that, expecting the lease to arrive (handoffFrom).
 */
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { DiskRefusedError } from './errors.ts';

export interface LeaseHolder {
  hostId: string;
  hostname: string;
  pid: number;
  domain: string;
  since: string;
}

export function leasePath(realPath: string): string {
  return join(dirname(realPath), `.${basename(realPath)}.xenoform-lease`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ImageLeases {
  readonly self: { hostId: string; hostname: string; pid: number };

  constructor(hostId: string) {
    this.self = { hostId, hostname: hostname(), pid: process.pid };
  }

  holder(realPath: string): LeaseHolder | undefined {
    try {
      const v = JSON.parse(fs.readFileSync(leasePath(realPath), 'utf8')) as LeaseHolder;
      return typeof v?.hostId === 'string' ? v : undefined;
    } catch {
      return undefined;
    }
  }

  private mine(domain: string): LeaseHolder {
    return { ...this.self, domain, since: new Date().toISOString() };
  }

  /**
   * Take the lease for a writable open by `domain`, or throw DISK_IN_USE naming the holder.
   * `handoffFrom`: a migration from that host is arriving; its lease stays until passed.
   */
  take(realPath: string, domain: string, what: string, opts: { handoffFrom?: string } = {}): void {
    const file = leasePath(realPath);
    try {
      fs.writeFileSync(file, JSON.stringify(this.mine(domain)) + '\n', { flag: 'wx', mode: 0o600 });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new DiskRefusedError('DISK_IO', `${what}: cannot take its lease ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    }
    const h = this.holder(realPath);
    if (h && h.hostId === this.self.hostId) return;
    if (h && opts.handoffFrom !== undefined && h.hostId === opts.handoffFrom) return;
    if (!h || (h.hostname === this.self.hostname && !alive(h.pid))) return this.write(realPath, this.mine(domain));
    throw new DiskRefusedError(
      'DISK_IN_USE',
      `${what} is held writable by domain ${h.domain} on another host (pid ${h.pid} on ${h.hostname}, since ${h.since}); ` +
        `a writable image belongs to one domain at a time — if that host is gone for good, remove ${file}`,
    );
  }

  /** A read-only open: refused while another live host holds the image writable. */
  check(realPath: string, what: string): void {
    const h = this.holder(realPath);
    if (!h || h.hostId === this.self.hostId || (h.hostname === this.self.hostname && !alive(h.pid))) return;
    throw new DiskRefusedError('DISK_IN_USE', `${what} is open writable by domain ${h.domain} on another host (pid ${h.pid} on ${h.hostname}); an image cannot be shared while a domain writes it`);
  }

  /** The writable open closed: the lease goes, if it is still ours. */
  release(realPath: string): void {
    if (this.holder(realPath)?.hostId === this.self.hostId) fs.rmSync(leasePath(realPath), { force: true });
  }

  /** Migration's commitment: our lease now names the target (atomically: write aside, rename). */
  passTo(realPath: string, to: LeaseHolder): boolean {
    if (this.holder(realPath)?.hostId !== this.self.hostId) return false;
    this.write(realPath, to);
    return true;
  }

  /** The arbiter activated a copy here whose source is gone: the lease is ours now. */
  claim(realPath: string, domain: string): void {
    this.write(realPath, this.mine(domain));
  }

  private write(realPath: string, h: LeaseHolder): void {
    const file = leasePath(realPath);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(h) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, file);
  }
}
