/**
 * One virtual block device (a vbd): the image it serves and, while a frontend is connected,
 * the shared ring and event channel (Linux's struct xen_blkif and xen_blkif_ring).
 *
 * The ring page is mapped from the frontend's grant (mapForeign), the data pages are reached
 * only by grant copy. A ring that could only come from a hostile or broken frontend (more
 * requests published than the ring holds) halts this device, as blkback does ("Frontend
 * provided bogus ring requests … Halting ring processing"): nothing is thrown into the host,
 * and other devices and domains carry on.
 */
import type { EventChannels } from '../../hv/evtchn.ts';
import type { ForeignMapping, GrantTables } from '../../hv/grant.ts';
import { FramePage } from '../../hv/shared.ts';
import type { MachineMemory } from '../../mem/machine.ts';
import { BLKIF_RING_SIZE, readRequest, writeResponse } from './blkif.ts';
import type { DiskImage, DiskSpec } from './image.ts';
import { zeroCounters, type VbdCounters } from './metrics.ts';
import { BackRing } from './ring.ts';
import { serveRequest, type RequestContext } from './request.ts';
import type { Vdev } from './vdev.ts';

/** What a vbd needs from the host: Domain-0's grant and event-channel services and memory. */
export interface VbdEnv {
  readonly mem: MachineMemory;
  readonly grants: GrantTables;
  readonly dom0Evtchn: EventChannels;
  log(message: string): void;
}

/** Where a connected ring stands: what persist saves and a restore re-attaches. */
export interface RingState {
  ringRef: number;
  /** The frontend's port (its end of the event channel). */
  remotePort: number;
  reqCons: number;
  rspProdPvt: number;
}

/**
 * Requests one notification may serve. An honest frontend has at most a ring's worth
 * outstanding, and its vCPU is stopped while we serve them; more means the ring page itself
 * was rewritten underneath us (granted back to us as a data buffer), and the device halts.
 */
const MAX_REQUESTS_PER_KICK = 4 * BLKIF_RING_SIZE;

export class Vbd {
  readonly counters: VbdCounters = zeroCounters();
  image: DiskImage | undefined;
  /** Why the ring was halted (a hostile ring, an internal fault), if it was. */
  failed: string | undefined;
  private ring: BackRing | undefined;
  private mapping: ForeignMapping | undefined;
  private ringRef = 0;
  private remotePort = 0;
  private localPort = 0;

  constructor(
    readonly domid: number,
    readonly vdev: Vdev,
    readonly spec: DiskSpec,
    private readonly env: VbdEnv,
  ) {}

  get connected(): boolean {
    return this.ring !== undefined;
  }

  /** The ring's position, for persist (undefined while disconnected). */
  ringState(): RingState | undefined {
    const r = this.ring;
    return r && { ringRef: this.ringRef, remotePort: this.remotePort, reqCons: r.reqCons >>> 0, rspProdPvt: r.rspProdPvt >>> 0 };
  }

  /**
   * Map the frontend's ring page and bind its event channel (xen_blkif_map). `at` restores a
   * saved position; otherwise the ring is attached where the frontend left it
   * (BACK_RING_ATTACH). Returns an error message, or undefined once connected.
   */
  connect(ringRef: number, remotePort: number, at?: RingState): string | undefined {
    if (this.ring) return undefined;
    const m = this.env.grants.mapForeign(this.domid, ringRef, false);
    if (typeof m === 'number') return `mapping ring-ref ${ringRef} port ${remotePort}: grant status ${m}`;
    const page = new FramePage(this.env.mem, m.mfn);
    const ring = at ? new BackRing(page, BLKIF_RING_SIZE, at.reqCons, at.rspProdPvt) : BackRing.attach(page, BLKIF_RING_SIZE);
    if (ring.prodOverflow(ring.reqProd)) {
      m.release();
      return `mapping ring-ref ${ringRef}: the ring holds more requests than it has slots`;
    }
    const port = this.env.dom0Evtchn.bindInterdomain(this.domid, remotePort);
    if (port < 0) {
      m.release();
      return `binding event channel ${remotePort}: errno ${-port}`;
    }
    Object.assign(this, { mapping: m, ring, ringRef, remotePort, localPort: port, failed: undefined });
    this.env.dom0Evtchn.listen(port, () => this.handleEvent());
    return undefined;
  }

  /** Unbind the event channel and unmap the ring (xen_blkif_disconnect); idempotent. */
  disconnect(): void {
    if (this.localPort) this.env.dom0Evtchn.close(this.localPort);
    this.mapping?.release();
    this.mapping = undefined;
    this.ring = undefined;
    this.localPort = 0;
  }

  /** The frontend notified us (or we were just connected): serve everything on the ring. */
  handleEvent(): void {
    const ring = this.ring;
    if (!ring || this.failed) return;
    try {
      this.serveRing(ring);
    } catch (e) {
      // Nothing a frontend sends should get here; if something does, halt this device only.
      this.halt(`internal error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** do_block_io_op: serve, push responses, final check, until the ring is idle. */
  private serveRing(ring: BackRing): void {
    const image = this.image;
    if (!image) return this.halt('connected without an open image');
    const ctx: RequestContext = {
      image,
      copyFromGuest: (gref, off, len) => this.env.grants.copyFromGuest(this.domid, gref, off, len),
      copyToGuest: (gref, off, data) => this.env.grants.copyToGuest(this.domid, gref, off, data),
      counters: this.counters,
    };
    let served = 0;
    for (;;) {
      const stopped = this.serveRequests(ring, ctx);
      if (this.failed) return;
      if (ring.pushResponsesAndCheckNotify()) this.notify();
      served += stopped.served;
      if (served > MAX_REQUESTS_PER_KICK) return this.halt('the ring was rewritten while its requests were served');
      if (stopped.noSlots) {
        this.counters.ooReq++;
        return;
      }
      if (!ring.finalCheckForRequests()) return;
    }
  }

  /** __do_block_io_op: consume published requests, answering each. */
  private serveRequests(ring: BackRing, ctx: RequestContext): { served: number; noSlots: boolean } {
    let rc = ring.reqCons;
    const rp = ring.reqProd; // read once: the frontend may not move it under us
    if (ring.prodOverflow(rp)) {
      this.halt(`frontend provided bogus ring requests (req_prod ${rp} - rsp_prod_pvt ${ring.rspProdPvt >>> 0} > ${ring.size})`);
      return { served: 0, noSlots: false };
    }
    let served = 0;
    while (rc !== rp) {
      if (ring.consOverflow(rc)) return { served, noSlots: true };
      const req = readRequest(ring.page, ring.slot(rc));
      rc = (rc + 1) >>> 0;
      ring.reqCons = rc;
      const status = serveRequest(req, ctx);
      writeResponse(ring.page, ring.slot(ring.rspProdPvt), req, status);
      ring.rspProdPvt = (ring.rspProdPvt + 1) >>> 0;
      served++;
    }
    return { served, noSlots: false };
  }

  private notify(): void {
    if (this.localPort) this.env.dom0Evtchn.send(this.localPort);
  }

  /** Stop serving this ring for good (until the frontend reconnects). */
  halt(reason: string): void {
    if (this.failed) return;
    this.failed = reason;
    this.env.log(`vbd ${this.vdev.name} (${this.vdev.number}) of domain ${this.domid} halted: ${reason}`);
  }
}
