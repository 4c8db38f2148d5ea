/**
 * One vif's data path, as Linux netback runs it with grant copy (drivers/net/xen-netback/
 * netback.c for guest transmit, rx.c for guest receive; layouts in netif.ts).
 *
 * Guest transmit (tx ring): each packet is a first request whose `size` is the whole frame,
 * optional extra-info slots, then more_data fragments; every slot gets a response in order
 * (extras get NETIF_RSP_NULL). The bytes are copied out of the granted pages with grant copy
 * and the frame goes to the switch. A packet that is merely bad (bad grant, runt, over the
 * MTU, more than 18 slots) is answered with errors and dropped; a frontend that breaks the
 * protocol (an impossible producer index, a slot crossing its page, 20 slots, an unknown extra)
 * has its vif disabled, as xenvif_fatal_tx_err does — never an exception into the host.
 *
 * Guest receive (rx ring): frames from the switch wait in a bounded queue until the frontend
 * posts buffers; each frame is copied into one posted page at offset 0 and answered in the
 * same ring slot as its request (netif.h: netfront relies on that). A frontend that posts no
 * buffers only loses frames (counted).
 */
import type { CopyResult } from '../../hv/grant.ts';
import { BackRing } from './ring.ts';
import { completeChecksum } from './checksum.ts';
import {
  ETH_HLEN, ETH_MAX_FRAME, EXTRA, FATAL_SKB_SLOTS, NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_RSP_OKAY, NETTXF_csum_blank,
  NETTXF_extra_info, NETTXF_more_data, NR_SLOTS_MIN, PAGE_SIZE, RING, RXREQ, RXRSP, TXREQ, TXRSP, XEN_NETIF_EXTRA_FLAG_MORE,
  XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_MAX, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_TYPE_MCAST_DEL,
} from './netif.ts';

/** The grant-copy half of Domain-0's grant interface (grant.ts GrantTables). */
export interface GrantCopier {
  copyFromGuest(domid: number, ref: number, offset: number, len: number): CopyResult;
  copyToGuest(domid: number, ref: number, offset: number, data: Uint8Array): number;
}

/** Counters from the guest's point of view (xentop's NETTX is what the domain sent). */
export interface VifCounters {
  txFrames: number;
  txBytes: number;
  /** packets answered with an error (bad grant, runt, oversize, too many slots, GSO) */
  txErrors: number;
  rxFrames: number;
  rxBytes: number;
  /** frames for the guest dropped: no buffers posted in time, queue full, or disconnected */
  rxDropped: number;
  /** frames whose copy into the guest failed (a bad rx grant) */
  rxErrors: number;
}

export const newCounters = (): VifCounters => ({ txFrames: 0, txBytes: 0, txErrors: 0, rxFrames: 0, rxBytes: 0, rxDropped: 0, rxErrors: 0 });

export interface NetbackOptions {
  domid: number;
  txRing: BackRing;
  rxRing: BackRing;
  grants: GrantCopier;
  /** Kick the frontend about tx responses / rx responses (the same port unless split). */
  notifyTx: () => void;
  notifyRx: () => void;
  /** A frame the guest sent. */
  output: (frame: Uint8Array) => void;
  /** The frontend broke the protocol: the vif is now disabled. */
  onFatal: (why: string) => void;
  counters?: VifCounters;
  /** Frames held for a guest that has not posted buffers (default 256). */
  rxQueueMax?: number;
  /** Time in ns, and how long a frame may wait for a buffer (rx_drain_timeout, 10 s). */
  now?: () => number;
  rxDrainNs?: number;
}

interface TxSlot {
  gref: number;
  offset: number;
  flags: number;
  id: number;
  size: number;
}

/** What one packet's slots get back: [id, status] per slot in ring order. */
type Responses = [number, number][];

export class Netback {
  readonly counters: VifCounters;
  private disabled = false;
  private busy = false;
  private again = false;
  private readonly rxQueue: { frame: Uint8Array; at: number }[] = [];
  private readonly rxQueueMax: number;
  private readonly now: () => number;
  private readonly rxDrainNs: number;
  fatalReason: string | undefined;

  constructor(private readonly o: NetbackOptions) {
    this.counters = o.counters ?? newCounters();
    this.rxQueueMax = o.rxQueueMax ?? 256;
    this.now = o.now ?? (() => 0);
    this.rxDrainNs = o.rxDrainNs ?? 10e9;
  }

  get isDisabled(): boolean {
    return this.disabled;
  }

  /** The frontend notified its event channel: transmit what it queued, receive into new buffers. */
  handleEvent(): void {
    this.run();
  }

  /** A frame from the switch for this guest. */
  deliver(frame: Uint8Array): void {
    const now = this.now();
    // xenvif_rx_queue_drop_expired: a frame does not wait for a buffer forever.
    while (this.rxQueue.length && now - this.rxQueue[0]!.at > this.rxDrainNs) {
      this.rxQueue.shift();
      this.counters.rxDropped++;
    }
    if (this.disabled || this.rxQueue.length >= this.rxQueueMax) {
      this.counters.rxDropped++;
      return;
    }
    this.rxQueue.push({ frame, at: now });
    this.run();
  }

  /** Stop for good (disconnect); queued frames are dropped. */
  stop(): void {
    this.counters.rxDropped += this.rxQueue.length;
    this.rxQueue.length = 0;
    this.disabled = true;
  }

  /** Runs tx and rx until neither has work; a re-entrant call (a synchronous reply) loops instead. */
  private run(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        if (!this.disabled) this.transmit();
        if (!this.disabled) this.receive();
      } while (this.again && !this.disabled);
    } catch (e) {
      // Nothing here should throw; if it does, the vif stops rather than the host.
      this.fatal(`internal error: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  private fatal(why: string): void {
    if (this.disabled) return;
    this.fatalReason = why;
    this.stop();
    this.o.onFatal(why);
  }

  // ---- guest transmit ------------------------------------------------------------------------

  private readTx(idx: number): TxSlot {
    const r = this.o.txRing;
    return { gref: r.u32(idx, TXREQ.GREF), offset: r.u16(idx, TXREQ.OFFSET), flags: r.u16(idx, TXREQ.FLAGS), id: r.u16(idx, TXREQ.ID), size: r.u16(idx, TXREQ.SIZE) };
  }

  private transmit(): void {
    const ring = this.o.txRing;
    for (;;) {
      const avail = ring.finalCheck();
      if (avail < 0) return this.fatal(`impossible tx producer index ${ring.reqProd()} (consumer ${ring.reqCons})`);
      if (avail === 0) break;
      const responses = this.transmitOne(avail);
      if (!responses) break; // fatal
      for (const [id, status] of responses) {
        const at = ring.rspProdPvt;
        ring.setU16(at, TXRSP.ID, id);
        ring.setU16(at, TXRSP.STATUS, status);
        ring.rspProdPvt = (at + 1) >>> 0;
      }
      // Answer as we go (push_tx_responses per packet), so a long burst frees slots early.
      if (ring.pushResponses()) this.o.notifyTx();
    }
    if (ring.pushResponses()) this.o.notifyTx();
  }

  /**
   * Consume one packet's slots (xenvif_tx_build_gops + xenvif_count_requests): returns the
   * responses to write, or undefined after a fatal error.
   */
  private transmitOne(avail: number): Responses | undefined {
    const ring = this.o.txRing;
    let cons = ring.reqCons;
    const first = this.readTx(cons++);
    const responses: Responses = [[first.id, NETIF_RSP_OKAY]];
    let used = 1;
    let refuse = false;
    // Extra-info slots (xenvif_get_extras).
    let mcast = false;
    if (first.flags & NETTXF_extra_info) {
      let more: number;
      do {
        if (used >= avail) return void this.fatal('missing extra info');
        const type = ring.u8(cons, EXTRA.TYPE);
        more = ring.u8(cons, EXTRA.FLAGS) & XEN_NETIF_EXTRA_FLAG_MORE;
        cons++;
        used++;
        responses.push([0, NETIF_RSP_NULL]);
        if (type === 0 || type >= XEN_NETIF_EXTRA_TYPE_MAX) return void this.fatal(`invalid extra type ${type}`);
        if (type === XEN_NETIF_EXTRA_TYPE_GSO) refuse = true; // not offered (no feature-gso-*)
        if (type === XEN_NETIF_EXTRA_TYPE_MCAST_ADD || type === XEN_NETIF_EXTRA_TYPE_MCAST_DEL) mcast = true;
      } while (more);
    }
    if (mcast) {
      // A multicast-control request carries no data; without the feature, there is no filter
      // to change, so it is simply acknowledged (the frontend gets every group frame anyway).
      ring.reqCons = cons >>> 0;
      return responses;
    }
    // Fragments (xenvif_count_requests): the first size is the whole frame.
    const frags: TxSlot[] = [];
    let remaining = first.size;
    let more = first.flags & NETTXF_more_data;
    while (more) {
      if (used >= avail) return void this.fatal(`a packet asks for more than the ${avail} slots queued`);
      // Linux counts the fragments after the first: 18 or more before the next one drops the
      // packet (XEN_NETBK_LEGACY_SLOTS_MAX), 20 or more disables the frontend (fatal_skb_slots).
      if (frags.length >= FATAL_SKB_SLOTS) return void this.fatal(`a packet uses more than ${FATAL_SKB_SLOTS + 1} slots`);
      if (frags.length >= NR_SLOTS_MIN) refuse = true;
      const txp = this.readTx(cons++);
      used++;
      frags.push(txp);
      responses.push([txp.id, NETIF_RSP_OKAY]);
      if (txp.size > remaining) refuse = true; // a slot bigger than what is left of the frame
      else remaining -= txp.size;
      if (txp.offset + txp.size > PAGE_SIZE) return void this.fatal(`a tx slot crosses its page (offset ${txp.offset}, size ${txp.size})`);
      more = txp.flags & NETTXF_more_data;
    }
    ring.reqCons = cons >>> 0;
    const firstLen = remaining;
    if (!refuse && first.offset + firstLen > PAGE_SIZE) return void this.fatal(`a tx slot crosses its page (offset ${first.offset}, size ${firstLen})`);
    if (refuse || first.size < ETH_HLEN || first.size > ETH_MAX_FRAME) return this.refuse(responses);
    // Grant copy of every slot; a failed slot is answered with an error and the packet dropped.
    const frame = new Uint8Array(first.size);
    let at = 0;
    let failed = false;
    const pieces: TxSlot[] = [{ ...first, size: firstLen }, ...frags];
    let k = 0;
    for (const p of pieces) {
      const slot = k === 0 ? 0 : k + (responses.length - pieces.length); // skip the extras' responses
      k++;
      if (p.size === 0) continue;
      const data = this.o.grants.copyFromGuest(this.o.domid, p.gref, p.offset, p.size);
      if (typeof data === 'number') {
        responses[slot]![1] = NETIF_RSP_ERROR;
        failed = true;
        continue;
      }
      frame.set(data, at);
      at += p.size;
    }
    if (failed) {
      this.counters.txErrors++;
      return responses;
    }
    if (first.flags & NETTXF_csum_blank && !completeChecksum(frame)) {
      this.counters.txErrors++; // checksum_setup failed: the packet is dropped after an OKAY
      return responses;
    }
    this.counters.txFrames++;
    this.counters.txBytes += frame.length;
    this.o.output(frame);
    return responses;
  }

  /** xenvif_tx_err: every slot of the packet answered with an error (extras keep NULL). */
  private refuse(responses: Responses): Responses {
    this.counters.txErrors++;
    for (const r of responses) if (r[1] !== NETIF_RSP_NULL) r[1] = NETIF_RSP_ERROR;
    return responses;
  }

  // ---- guest receive -------------------------------------------------------------------------

  private receive(): void {
    const ring = this.o.rxRing;
    while (this.rxQueue.length > 0) {
      // xenvif_rx_ring_slots_available: with no buffer posted, ask for a kick at the next one.
      let avail = ring.unconsumed();
      if (avail === 0) {
        ring.page.setU32(RING.REQ_EVENT, (ring.reqProd() + 1) >>> 0);
        avail = ring.unconsumed();
      }
      if (avail < 0) return this.fatal(`impossible rx producer index ${ring.reqProd()} (consumer ${ring.reqCons})`);
      if (avail === 0) break;
      const idx = ring.reqCons;
      const id = ring.u16(idx, RXREQ.ID);
      const gref = ring.u32(idx, RXREQ.GREF);
      const frame = this.rxQueue.shift()!.frame;
      const st = this.o.grants.copyToGuest(this.o.domid, gref, 0, frame);
      // The response goes in the request's own slot (netif.h; xenvif_rx_complete).
      ring.setU16(idx, RXRSP.ID, id);
      ring.setU16(idx, RXRSP.OFFSET, 0);
      ring.setU16(idx, RXRSP.FLAGS, 0);
      ring.setU16(idx, RXRSP.STATUS, st === 0 ? frame.length : st);
      ring.reqCons = (idx + 1) >>> 0;
      ring.rspProdPvt = ring.reqCons;
      if (st === 0) {
        this.counters.rxFrames++;
        this.counters.rxBytes += frame.length;
      } else this.counters.rxErrors++;
    }
    if (ring.pushResponses()) this.o.notifyRx();
  }

  /** Frames waiting for rx buffers. */
  get rxQueued(): number {
    return this.rxQueue.length;
  }
}
