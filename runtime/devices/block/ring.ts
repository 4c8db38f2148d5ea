/**
 * The back end of a shared ring (xen/include/public/io/ring.h): the backend's private
 * req_cons and rsp_prod_pvt, and the macros it uses, with their exact index arithmetic on
 * free-running u32 indices.
 *
 * The backend never reads rsp_cons (the frontend's private index) and never waits on the
 * frontend: it may have at most RING_SIZE requests consumed but not answered, and it answers
 * each request as it consumes it, so a frontend that never reads its responses cannot make the
 * backend hold anything.
 */
import type { FramePage } from '../../hv/shared.ts';
import { RING_REQ_EVENT, RING_REQ_PROD, RING_RSP_EVENT, RING_RSP_PROD } from './blkif.ts';

export class BackRing {
  constructor(
    readonly page: FramePage,
    readonly size: number,
    /** Private: the next request to consume. */
    public reqCons: number,
    /** Private: responses produced, not necessarily pushed. */
    public rspProdPvt: number,
  ) {}

  /** BACK_RING_ATTACH: take over a ring whose frontend may already have answered requests. */
  static attach(page: FramePage, size: number): BackRing {
    const rspProd = page.u32(RING_RSP_PROD);
    return new BackRing(page, size, rspProd, rspProd);
  }

  get reqProd(): number {
    return this.page.u32(RING_REQ_PROD);
  }

  /** RING_REQUEST_PROD_OVERFLOW: more requests published than could ever be answered. */
  prodOverflow(prod: number): boolean {
    return ((prod - this.rspProdPvt) >>> 0) > this.size;
  }

  /** RING_REQUEST_CONS_OVERFLOW: no response slot left for another request. */
  consOverflow(cons: number): boolean {
    return ((cons - this.rspProdPvt) >>> 0) >= this.size;
  }

  /** RING_HAS_UNCONSUMED_REQUESTS: min(published, answerable). */
  unconsumed(): number {
    const req = (this.reqProd - this.reqCons) >>> 0;
    const rsp = (this.size - ((this.reqCons - this.rspProdPvt) >>> 0)) >>> 0;
    return req < rsp ? req : rsp;
  }

  /**
   * RING_FINAL_CHECK_FOR_REQUESTS: before going idle, ask to be notified of the next request
   * (req_event = req_cons + 1), then look once more, so a request published in between is
   * not missed.
   */
  finalCheckForRequests(): boolean {
    if (this.unconsumed() > 0) return true;
    this.page.setU32(RING_REQ_EVENT, this.reqCons + 1);
    return this.unconsumed() > 0;
  }

  /** Slot of ring index `idx` (RING_GET_REQUEST / RING_GET_RESPONSE). */
  slot(idx: number): number {
    return idx & (this.size - 1);
  }

  /**
   * RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publish rsp_prod_pvt, then notify iff the frontend's
   * rsp_event lies in (old, new]: (new - rsp_event) < (new - old), unsigned.
   */
  pushResponsesAndCheckNotify(): boolean {
    const old = this.page.u32(RING_RSP_PROD);
    const now = this.rspProdPvt >>> 0;
    if (old === now) return false;
    this.page.setU32(RING_RSP_PROD, now);
    const event = this.page.u32(RING_RSP_EVENT);
    return ((now - event) >>> 0) < ((now - old) >>> 0);
  }
}
