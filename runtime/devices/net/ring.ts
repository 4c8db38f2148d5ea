/**
 * The backend's end of a shared ring (xen/include/public/io/ring.h; xen-abi.md §8): the
 * backend keeps req_cons and rsp_prod_pvt privately, reads requests only between req_cons and
 * the frontend's req_prod, and publishes responses with RING_PUSH_RESPONSES_AND_CHECK_NOTIFY.
 * Every index is a free-running u32; an index the frontend could not honestly have (more than
 * a ring's worth of requests outstanding) is reported, never trusted.
 */
import type { FramePage } from '../../hv/shared.ts';
import { RING } from './netif.ts';

export class BackRing {
  /** Next request to consume (req_cons). */
  reqCons = 0;
  /** Next response slot to fill (rsp_prod_pvt). */
  rspProdPvt = 0;
  /** The rsp_prod we last published (only the backend writes it). */
  private rspPublished = 0;
  private readonly dv: DataView;
  private readonly base: number;

  constructor(
    readonly page: FramePage,
    /** Entries in the ring (a power of two). */
    readonly size: number,
    /** Bytes per slot (the request/response union). */
    readonly slot: number,
  ) {
    const v = page.view;
    this.dv = v.dv;
    this.base = v.base;
  }

  /** The frontend's req_prod, as it stands now. */
  reqProd(): number {
    return this.dv.getUint32(this.base + RING.REQ_PROD, true);
  }

  /**
   * Requests waiting (req_prod − req_cons), or -1 when the frontend claims more than a ring
   * holds ("Impossible number of requests", xenvif_tx_build_gops).
   */
  unconsumed(): number {
    const n = (this.reqProd() - this.reqCons) >>> 0;
    return n > this.size ? -1 : n;
  }

  /**
   * RING_FINAL_CHECK_FOR_REQUESTS: with nothing to do, ask to be notified at the next request
   * (req_event = req_cons + 1), then look again in case one arrived meanwhile.
   */
  finalCheck(): number {
    const n = this.unconsumed();
    if (n !== 0) return n;
    this.page.setU32(RING.REQ_EVENT, (this.reqCons + 1) >>> 0);
    return this.unconsumed();
  }

  /** Byte offset (in the page) of slot `idx`, masked to the ring. */
  slotOffset(idx: number): number {
    return RING.ENTRIES + (idx & (this.size - 1)) * this.slot;
  }

  u8(idx: number, field: number): number {
    return this.dv.getUint8(this.base + this.slotOffset(idx) + field);
  }

  u16(idx: number, field: number): number {
    return this.dv.getUint16(this.base + this.slotOffset(idx) + field, true);
  }

  u32(idx: number, field: number): number {
    return this.dv.getUint32(this.base + this.slotOffset(idx) + field, true);
  }

  setU16(idx: number, field: number, v: number): void {
    this.page.setU16(this.slotOffset(idx) + field, v & 0xffff);
  }

  /**
   * RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publish rsp_prod_pvt; notify iff the frontend's
   * rsp_event lies in (old, new] — `(new − event) < (new − old)` in u32 arithmetic.
   */
  pushResponses(): boolean {
    const old = this.rspPublished;
    const now = this.rspProdPvt >>> 0;
    if (old === now) return false;
    this.page.setU32(RING.RSP_PROD, now);
    this.rspPublished = now;
    const event = this.dv.getUint32(this.base + RING.RSP_EVENT, true);
    return ((now - event) >>> 0) < ((now - old) >>> 0);
  }

  /** Adopt the indices already in the shared page (a connect to a ring that was in use). */
  syncFromPage(): void {
    this.rspPublished = this.dv.getUint32(this.base + RING.RSP_PROD, true);
    this.rspProdPvt = this.rspPublished;
    this.reqCons = this.rspPublished;
  }
}
