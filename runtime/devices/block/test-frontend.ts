/**
 * Test-only: a blkfront played from TypeScript for a real domain of a real Host. It does what
 * a guest's blkfront does, through the same shared structures a guest would touch:
 *
 * - xenstore as the domain (a GuestRing connection, so permissions apply): reads the backend's
 *   nodes, writes ring-ref / event-channel / protocol and moves its state;
 * - grants by writing v1 entries {flags, domid, frame} into the domain's grant-table frame;
 * - the shared ring in one of the domain's pages (SHARED_RING_INIT, RING_PUSH_REQUESTS_AND_
 *   CHECK_NOTIFY, reading responses from rsp_cons);
 * - an event channel allocated unbound for Domain-0 (EVTCHNOP_alloc_unbound) and EVTCHNOP_send.
 */
import { readFileSync } from 'node:fs';
import { Host } from '../../host.ts';
import type { Domain } from '../../hv/domain.ts';
import { grantTablesOf, GTF_permit_access, GTF_readonly } from '../../hv/grant.ts';
import { FramePage } from '../../hv/shared.ts';
import { call, GuestRing } from '../xenstore/test-helpers.ts';
import { XsType } from '../xenstore/wire.ts';
import {
  ENTRY_SIZE, RING_ENTRIES, RING_REQ_EVENT, RING_REQ_PROD, RING_RSP_EVENT, RING_RSP_PROD, BLKIF_RING_SIZE,
} from './blkif.ts';
import type { DiskSpec } from './image.ts';

export const TICKER = new URL('../../../guests/build/ticker.elf', import.meta.url);

/** A virtual-time host with one paused guest per call (the guest never runs: we are its frontend). */
export function newHost(): Host {
  return new Host({ clock: 'virtual', memoryBytes: 256 * 2 ** 20 });
}

export function createGuest(host: Host, name: string, disks: DiskSpec[]): Domain {
  return host.createDomain({ name, kernel: readFileSync(TICKER), memoryMiB: 8, paused: true, disks });
}

export interface Seg {
  gref: number;
  first: number;
  last: number;
}

export interface Req {
  op: number;
  /** nr_segments as written (may differ from segs.length, to test validation) */
  nr?: number;
  id: bigint;
  sector: bigint;
  segs?: Seg[];
  handle?: number;
}

export interface Rsp {
  id: bigint;
  op: number;
  status: number;
}

export class TestFrontend {
  readonly xs: GuestRing;
  readonly ring: FramePage;
  readonly ringRef: number;
  readonly port: number;
  reqProdPvt = 0;
  rspCons = 0;
  private nextPfn: number;
  private nextRef = 8;
  private readonly gt: FramePage;

  constructor(
    readonly host: Host,
    readonly d: Domain,
    readonly devid = 51712,
    opts: { startIndex?: number } = {},
  ) {
    // Take over the domain's xenstore connection with a ring this test owns.
    this.xs = new GuestRing(host.xenstored, d.id);
    host.xenstored.introduceDomain(d.id, this.xs.page, () => undefined, { resetRing: true });
    this.gt = new FramePage(host.mem, grantTablesOf(host).tableOf(d).frames[0]!);
    this.nextPfn = d.p2m.length - 1;
    const ringPfn = this.allocPage();
    this.ring = new FramePage(host.mem, d.p2m[ringPfn]!);
    // SHARED_RING_INIT (indices may start elsewhere to exercise wrapping; a frontend reusing
    // a ring keeps its indices).
    const start = opts.startIndex ?? 0;
    this.reqProdPvt = this.rspCons = start;
    this.ring.setU32(RING_REQ_PROD, start);
    this.ring.setU32(RING_RSP_PROD, start);
    this.ring.setU32(RING_REQ_EVENT, start + 1);
    this.ring.setU32(RING_RSP_EVENT, start + 1);
    this.ringRef = this.grant(d.p2m[ringPfn]!);
    this.port = d.evtchn.allocUnbound(0);
  }

  get fe(): string {
    return `device/vbd/${this.devid}`;
  }

  get be(): string {
    return `/local/domain/0/backend/vbd/${this.d.id}/${this.devid}`;
  }

  /** A read as the domain: the value, or "ERROR:<errno>|". */
  read(path: string): string {
    return call(this.xs, XsType.READ, `${path}\0`);
  }

  write(path: string, value: string): string {
    return call(this.xs, XsType.WRITE, `${path}\0${value}`);
  }

  /** xenbus_switch_state for the frontend. */
  setState(state: number): void {
    if (this.write(`${this.fe}/state`, String(state)) !== 'OK|') throw new Error(`cannot set state ${state}`);
  }

  /** blkfront's talk_to_blkback: publish the transport, then Initialised. */
  connect(protocol: string | undefined = 'x86_32-abi'): void {
    this.write(`${this.fe}/ring-ref`, String(this.ringRef));
    this.write(`${this.fe}/event-channel`, String(this.port));
    if (protocol !== undefined) this.write(`${this.fe}/protocol`, protocol);
    this.setState(3);
  }

  allocPage(): number {
    return this.nextPfn--;
  }

  /** gnttab_grant_foreign_access: domid and frame first, then the flags. */
  grant(mfn: number, readonly = false, domid = 0): number {
    const ref = this.nextRef++;
    this.gt.setU16(ref * 8 + 2, domid);
    this.gt.setU32(ref * 8 + 4, mfn);
    this.gt.setU16(ref * 8, GTF_permit_access | (readonly ? GTF_readonly : 0));
    return ref;
  }

  /** A data page of the domain, granted to Domain-0; returns its ref and its page. */
  dataPage(readonly = false): { ref: number; page: FramePage } {
    const mfn = this.d.p2m[this.allocPage()]!;
    return { ref: this.grant(mfn, readonly), page: new FramePage(this.host.mem, mfn) };
  }

  /** Put a request at req_prod_pvt (RING_GET_REQUEST) without publishing it. */
  queue(r: Req): void {
    const at = RING_ENTRIES + (this.reqProdPvt & (BLKIF_RING_SIZE - 1)) * ENTRY_SIZE;
    const p = this.ring;
    const segs = r.segs ?? [];
    p.setU8(at, r.op);
    p.setU8(at + 1, r.nr ?? segs.length);
    p.setU16(at + 2, r.handle ?? this.devid & 0xffff);
    p.setU32(at + 4, Number(r.id & 0xffffffffn));
    p.setU32(at + 8, Number(r.id >> 32n));
    p.setU32(at + 12, Number(r.sector & 0xffffffffn));
    p.setU32(at + 16, Number((r.sector >> 32n) & 0xffffffffn));
    segs.slice(0, 11).forEach((s, i) => {
      p.setU32(at + 20 + i * 8, s.gref);
      p.setU8(at + 24 + i * 8, s.first);
      p.setU8(at + 25 + i * 8, s.last);
    });
    this.reqProdPvt = (this.reqProdPvt + 1) >>> 0;
  }

  /** RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, then notify_remote_via_evtchn if needed. */
  push(): boolean {
    const old = this.ring.u32(RING_REQ_PROD);
    const now = this.reqProdPvt;
    this.ring.setU32(RING_REQ_PROD, now);
    const notify = ((now - this.ring.u32(RING_REQ_EVENT)) >>> 0) < ((now - old) >>> 0);
    if (notify) this.d.evtchn.send(this.port);
    return notify;
  }

  /** Queue, push and notify. */
  submit(...reqs: Req[]): void {
    for (const r of reqs) this.queue(r);
    this.push();
  }

  /** Take every published response (and ask to be told of the next, as RING_FINAL_CHECK does). */
  responses(): Rsp[] {
    const out: Rsp[] = [];
    const prod = this.ring.u32(RING_RSP_PROD);
    while (this.rspCons !== prod) {
      const at = RING_ENTRIES + (this.rspCons & (BLKIF_RING_SIZE - 1)) * ENTRY_SIZE;
      const id = BigInt(this.ring.u32(at)) | (BigInt(this.ring.u32(at + 4)) << 32n);
      const status = (this.ring.u32(at + 8) >>> 16) << 16 >> 16;
      out.push({ id, op: this.ring.u8At(at + 8), status });
      this.rspCons = (this.rspCons + 1) >>> 0;
    }
    this.ring.setU32(RING_RSP_EVENT, this.rspCons + 1);
    return out;
  }

  /** Whether Domain-0 has raised our port (and clear it, as the upcall handler would). */
  takeEvent(): boolean {
    const pending = this.d.evtchn.isPending(this.port);
    if (pending) this.d.sharedInfo.clearBit(2048 + (this.port >> 5) * 4, this.port & 31);
    return pending;
  }
}

/** A page full of one pattern byte per sector: sector k of the page holds (seed + k) & 0xff. */
export function fillPage(page: FramePage, seed: number): void {
  const bytes = new Uint8Array(4096);
  for (let k = 0; k < 8; k++) bytes.fill((seed + k) & 0xff, k * 512, (k + 1) * 512);
  page.setBytes(0, bytes);
}
