/**
 * Block devices of one host: Domain-0's blkback for every domain's disks, and the registry of
 * which domain holds which image.
 *
 *   prepare(domid, name, disks)   before the domain is built: check each disk, create missing
 *                                 images (sizeMiB), open them and take their locks; throws
 *                                 DiskRefusedError and leaves nothing behind
 *   connect(domain)               after its xenstore layout exists: the toolstack's nodes, each
 *                                 backend to InitWait, watching its frontend
 *   detach(domid)                 destroy (or a failed create): every backend stops, images close,
 *                                 locks go
 *   stats(domid) / list(domid)    xentop's VBD columns, per-disk detail
 */
import type { Domain, HostContext } from '../../hv/domain.ts';
import type { EventChannels } from '../../hv/evtchn.ts';
import { grantTablesOf } from '../../hv/grant.ts';
import type { Xenstored } from '../xenstore/xenstored.ts';
import { DiskRefusedError } from './errors.ts';
import { VbdBackend, type ImageSlot } from './event-handler.ts';
import { checkDiskSpec, DiskImage, type DiskSpec } from './image.ts';
import { ImageLeases, type LeaseHolder } from './lease.ts';
import { ImageLocks } from './locks.ts';
import { addCounters, zeroCounters, type VbdCounters } from './metrics.ts';
import { parseVdev, type Vdev } from './vdev.ts';
import { readState } from './xenbus.ts';
import { checkVbdRecord, saveVbd, specOf, type VbdRecord } from './persist.ts';

export { DiskRefusedError, type DiskErrorCode } from './errors.ts';
export type { DiskSpec, DiskMode } from './image.ts';
export type { VbdCounters } from './metrics.ts';
export type { VbdRecord } from './persist.ts';

/** What the block devices need from the host: Domain-0's xenstored and event channels. */
export interface BlockHost extends HostContext {
  readonly xenstored: Xenstored;
  readonly dom0Evtchn: EventChannels;
  /** this host's identity in the image leases shared with other hosts (lease.ts) */
  readonly hostId: string;
}

/** One disk of a domain, as `describe` shows it. */
export interface VbdInfo extends VbdCounters {
  target: string;
  devid: number;
  source: string;
  mode: 'rw' | 'ro';
  sectors: number;
  /** the backend's XenbusState (4 = Connected) */
  state: number;
  /** why the ring was halted, if it was */
  error?: string;
}

/** xentop's block columns for one domain. */
export interface VbdStats {
  vbds: number;
  vbdOo: number;
  vbdRd: number;
  vbdWr: number;
  vbdRsect: number;
  vbdWsect: number;
}

interface Prepared {
  name: string;
  disks: { spec: DiskSpec; vdev: Vdev; image: DiskImage }[];
  backends: VbdBackend[];
}

export class BlockDevices {
  readonly locks = new ImageLocks();
  readonly leases: ImageLeases;
  private readonly domains = new Map<number, Prepared>();

  constructor(private readonly host: BlockHost) {
    this.leases = new ImageLeases(host.hostId);
  }

  prepare(domid: number, name: string, disks: readonly DiskSpec[] = [], opts: { handoffFrom?: string } = {}): void {
    if (!Array.isArray(disks)) throw new DiskRefusedError('DISK_SPEC', 'disks must be a list');
    if (disks.length === 0) return;
    const vdevs = disks.map((d, i) => {
      checkDiskSpec(d, `disks[${i}]`);
      return parseVdev(d.target);
    });
    vdevs.forEach((v, i) => {
      const j = vdevs.findIndex((w) => w.number === v.number);
      if (j !== i) throw new DiskRefusedError('DISK_SPEC', `disks[${i}]: target ${v.name} is already used by disks[${j}]`);
    });
    const opened: Prepared['disks'] = [];
    try {
      disks.forEach((spec, i) => opened.push({ spec, vdev: vdevs[i]!, image: this.openImage(domid, name, spec, opts) }));
    } catch (e) {
      for (const o of opened) this.closeImage(domid, o.spec, o.image);
      throw e;
    }
    this.domains.set(domid, { name, disks: opened, backends: [] });
  }

  connect(d: Domain): void {
    for (const b of this.makeBackends(d)) b.start();
  }

  /** The open image behind the domain's virtual disk `target` (live migration copies it). */
  imageOf(domid: number, target: string): DiskImage | undefined {
    return this.domains.get(domid)?.disks.find((x) => x.spec.target === target)?.image;
  }

  /** The domain's vbds as versioned records (persist.ts), for save and migrate. */
  save(domid: number): VbdRecord[] {
    return (this.domains.get(domid)?.backends ?? []).map(saveVbd);
  }

  /**
   * Bring a saved domain's vbds back (its memory and store restored first): open and lock the
   * images, rewrite the backend directories if the store lacks them, re-attach connected rings
   * at their saved positions. Throws DiskRefusedError (nothing left behind) or on a bad record.
   */
  restore(d: Domain, name: string, records: readonly unknown[], opts: { handoffFrom?: string } = {}): void {
    const recs = records.map(checkVbdRecord);
    this.prepare(d.id, name, recs.map(specOf), opts);
    this.makeBackends(d).forEach((b, i) => {
      const r = recs[i]!;
      Object.assign(b.vbd.counters, r.counters);
      // A halted ring stays halted: it is not mapped again until the frontend reconnects.
      if (r.failed !== null) b.vbd.halt(r.failed);
      b.resume(r.state, r.failed === null ? (r.ring ?? undefined) : undefined);
    });
  }

  private makeBackends(d: Domain): VbdBackend[] {
    const p = this.domains.get(d.id);
    if (!p || p.backends.length) return [];
    const env = {
      mem: this.host.mem,
      grants: grantTablesOf(this.host),
      dom0Evtchn: this.host.dom0Evtchn,
      xenstored: this.host.xenstored,
      log: (message: string) => this.host.log(d, message),
    };
    for (const { spec, vdev, image } of p.disks) {
      const slot: ImageSlot = {
        open: () => {
          try {
            return this.openImage(d.id, p.name, spec);
          } catch (e) {
            return e instanceof Error ? e.message : String(e);
          }
        },
        close: (img) => this.closeImage(d.id, spec, img),
      };
      p.backends.push(new VbdBackend(d.id, vdev, spec, image, slot, env));
    }
    return p.backends;
  }

  /**
   * Every vbd of the domain goes: backends stop, images close, locks are released, and the
   * device directories leave the store — unless `keepStore` (a save: the store travels with
   * the domain).
   */
  detach(domid: number, opts: { keepStore?: boolean } = {}): void {
    const p = this.domains.get(domid);
    if (!p) return;
    this.domains.delete(domid);
    for (const b of p.backends) {
      try {
        b.stop(!opts.keepStore);
      } catch {
        // the store may already be gone with the domain; the image below still closes
      }
    }
    // Prepared but never connected (a create that failed): close what was opened.
    if (p.backends.length === 0) for (const o of p.disks) this.closeImage(domid, o.spec, o.image);
  }

  list(domid: number): VbdInfo[] {
    const p = this.domains.get(domid);
    if (!p) return [];
    return p.disks.map((o, i) => {
      const b = p.backends[i];
      const counters = b ? b.vbd.counters : zeroCounters();
      const state = b ? readState(this.host.xenstored, `${b.paths.backend}/state`) : 0;
      return {
        ...counters, target: o.spec.target, devid: o.vdev.number, source: o.spec.source, mode: o.spec.mode,
        sectors: b?.vbd.image?.sectors ?? o.image.sectors, state, ...(b?.vbd.failed ? { error: b.vbd.failed } : {}),
      };
    });
  }

  stats(domid: number): VbdStats {
    const list = this.list(domid);
    const sum = list.reduce((acc, v) => addCounters(acc, v), zeroCounters());
    return { vbds: list.length, vbdOo: sum.ooReq, vbdRd: sum.rdReq, vbdWr: sum.wrReq, vbdRsect: sum.rdSect, vbdWsect: sum.wrSect };
  }

  /** The backend of one disk (tests, persist). */
  backend(domid: number, target: string): VbdBackend | undefined {
    return this.domains.get(domid)?.backends.find((b) => b.vbd.vdev.name === target);
  }

  /**
   * Live migration's commitment, on the source: the leases of the domain's writable images now
   * name the target host (`to`), before the target activates.
   */
  passLeases(domid: number, to: Omit<LeaseHolder, 'domain' | 'since'>): void {
    const p = this.domains.get(domid);
    for (const o of p?.disks ?? []) {
      if (o.spec.mode === 'rw') this.leases.passTo(o.image.realPath, { ...to, domain: p!.name, since: new Date().toISOString() });
    }
  }

  /** Activation on the target: the writable images' leases are this host's. */
  claimLeases(domid: number): void {
    const p = this.domains.get(domid);
    for (const o of p?.disks ?? []) if (o.spec.mode === 'rw') this.leases.claim(o.image.realPath, p!.name);
  }

  private openImage(domid: number, name: string, spec: DiskSpec, opts: { handoffFrom?: string } = {}): DiskImage {
    const real = DiskImage.resolve(spec);
    const what = `disk ${spec.target}: image ${spec.source}`;
    this.locks.acquire(real, { domid, name, target: spec.target, mode: spec.mode }, spec.source);
    let leased = false;
    try {
      if (spec.mode === 'rw') {
        this.leases.take(real, name, what, opts);
        leased = true;
      } else this.leases.check(real, what);
      return DiskImage.open(real, spec);
    } catch (e) {
      if (leased) this.leases.release(real);
      this.locks.release(real, domid, spec.target);
      throw e;
    }
  }

  private closeImage(domid: number, spec: DiskSpec, image: DiskImage): void {
    image.close();
    if (spec.mode === 'rw' && this.locks.holders(image.realPath).every((h) => h.domid === domid)) this.leases.release(image.realPath);
    this.locks.release(image.realPath, domid, spec.target);
  }
}

const services = new WeakMap<object, BlockDevices>();

/** The host's block devices (one per host). */
export function blockDevicesOf(host: BlockHost): BlockDevices {
  let b = services.get(host);
  if (!b) services.set(host, (b = new BlockDevices(host)));
  return b;
}
