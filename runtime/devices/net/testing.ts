/**
 * Test-only: a netfront written in TypeScript that plays the guest's side of a vif against a
 * real Host (virtual clock) — it writes grant entries, ring pages and xenstore keys the way a
 * frontend written against netif.h does, and reads what the backend answers. The domain is
 * created paused, so its memory is the frontend's to use: pages from the top of the domain's
 * memory (far above what the builder touches) serve as rings and buffers.
 * Not imported by the runtime.
 */
import { Host } from '../../host.ts';
import { grantTablesOf } from '../../hv/grant.ts';
import { FramePage, SI } from '../../hv/shared.ts';
import type { Domain } from '../../hv/domain.ts';
import { testGuest } from '../../api.test-guests.ts';
import type { NetworkDevices } from './index.ts';
import type { InterfaceSpec } from './addressing.ts';
import { NET_RX_RING_SIZE, NET_TX_RING_SIZE, RING, RXREQ, RXRSP, RX_SLOT, TXREQ, TXRSP, TX_SLOT, XenbusState } from './netif.ts';

export interface TxRequest {
  gref: number;
  offset: number;
  flags: number;
  id: number;
  size: number;
}

/** A host on virtual time, and a helper to make paused domains with interfaces. */
export function netHost(): { host: Host; net: NetworkDevices; logs: string[]; domain(name: string, interfaces: InterfaceSpec[]): Domain } {
  const host = new Host({ clock: 'virtual', memoryBytes: 256 << 20 });
  const logs: string[] = [];
  host.events.on('log', (e: { domid: number; message: string }) => logs.push(`d${e.domid}: ${e.message}`));
  const kernel = testGuest('', 'block');
  return {
    host,
    net: host.net,
    logs,
    domain: (name, interfaces) => host.createDomain({ name, kernel, memoryMiB: 4, paused: true, interfaces }),
  };
}

export class TestNetfront {
  readonly d: Domain;
  readonly path: string;
  private nextPfn: number;
  private nextRef = 16;
  txPage!: FramePage;
  rxPage!: FramePage;
  txRef = 0;
  rxRef = 0;
  txPort = 0;
  rxPort = 0;
  /** Front private indices. */
  txProd = 0;
  txRspCons = 0;
  rxProd = 0;
  rxRspCons = 0;
  /** rx buffers posted, by request id: the grant and page. */
  readonly rxBufs = new Map<number, { ref: number; page: FramePage }>();

  constructor(
    readonly host: Host,
    domid: number,
    readonly handle = 0,
  ) {
    this.d = host.domain(domid)!;
    this.path = `/local/domain/${domid}/device/vif/${handle}`;
    this.nextPfn = this.d.p2m.length - 1;
  }

  /** A fresh page of the guest's, granted to Domain-0: [ref, page]. */
  grantPage(readonly = false): [number, FramePage] {
    const pfn = this.nextPfn--;
    const mfn = this.d.p2m[pfn]!;
    const ref = this.nextRef++;
    grantTablesOf(this.host).seed(this.d, ref, 0, mfn, readonly ? 1 | 4 : 1);
    const page = new FramePage(this.host.mem, mfn);
    page.zero();
    return [ref, page];
  }

  /** Grant entry `ref` to Domain-0 for an arbitrary frame (or revoke it with flags 0). */
  setGrant(ref: number, mfn: number, flags = 1): void {
    grantTablesOf(this.host).seed(this.d, ref, 0, mfn, flags);
  }

  /** SHARED_RING_INIT both rings, allocate event channel(s), publish the keys, go Connected. */
  connect(opts: { split?: boolean; rxCopy?: string; state?: number; keys?: Record<string, string> } = {}): void {
    [this.txRef, this.txPage] = this.grantPage();
    [this.rxRef, this.rxPage] = this.grantPage();
    for (const p of [this.txPage, this.rxPage]) {
      p.setU32(RING.REQ_EVENT, 1);
      p.setU32(RING.RSP_EVENT, 1);
    }
    this.txPort = this.d.evtchn.allocUnbound(0);
    this.rxPort = opts.split ? this.d.evtchn.allocUnbound(0) : this.txPort;
    const xs = this.host.xenstored;
    xs.write(`${this.path}/tx-ring-ref`, String(this.txRef));
    xs.write(`${this.path}/rx-ring-ref`, String(this.rxRef));
    if (opts.split) {
      xs.write(`${this.path}/event-channel-tx`, String(this.txPort));
      xs.write(`${this.path}/event-channel-rx`, String(this.rxPort));
    } else xs.write(`${this.path}/event-channel`, String(this.txPort));
    xs.write(`${this.path}/request-rx-copy`, opts.rxCopy ?? '1');
    xs.write(`${this.path}/feature-rx-notify`, '1');
    for (const [k, v] of Object.entries(opts.keys ?? {})) xs.write(`${this.path}/${k}`, v);
    xs.write(`${this.path}/state`, String(opts.state ?? XenbusState.Connected));
  }

  backendState(): number {
    return Number(this.host.xenstored.readString(`/local/domain/0/backend/vif/${this.d.id}/${this.handle}/state`));
  }

  setState(s: number): void {
    this.host.xenstored.write(`${this.path}/state`, String(s));
  }

  /** Raise our end of the event channel (notify_remote_via_evtchn). */
  notify(port = this.txPort): void {
    this.d.evtchn.send(port);
  }

  /** Whether the backend kicked `port`; clears it. */
  kicked(port = this.txPort): boolean {
    const word = SI.EVTCHN_PENDING + (port >> 5) * 4;
    const was = this.d.sharedInfo.testBit(word, port & 31);
    this.d.sharedInfo.clearBit(word, port & 31);
    return was;
  }

  // ---- transmit ----

  /** Write raw tx requests, publish req_prod (optionally a different one), notify. */
  pushTx(reqs: TxRequest[], opts: { prod?: number; notify?: boolean } = {}): void {
    const p = this.txPage;
    for (const r of reqs) {
      const off = RING.ENTRIES + (this.txProd & (NET_TX_RING_SIZE - 1)) * TX_SLOT;
      p.setU32(off + TXREQ.GREF, r.gref);
      p.setU16(off + TXREQ.OFFSET, r.offset);
      p.setU16(off + TXREQ.FLAGS, r.flags);
      p.setU16(off + TXREQ.ID, r.id);
      p.setU16(off + TXREQ.SIZE, r.size);
      this.txProd = (this.txProd + 1) >>> 0;
    }
    p.setU32(RING.REQ_PROD, opts.prod ?? this.txProd);
    if (opts.notify ?? true) this.notify();
  }

  /** Write an extra-info slot: {type, flags, data[6]}. */
  pushExtra(type: number, flags: number): void {
    const off = RING.ENTRIES + (this.txProd & (NET_TX_RING_SIZE - 1)) * TX_SLOT;
    this.txPage.setBytes(off, Uint8Array.of(type, flags, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    this.txProd = (this.txProd + 1) >>> 0;
  }

  /** Send a frame in slots of the given sizes (each in its own granted page). */
  send(frame: Uint8Array, opts: { slots?: number[]; id?: number; flags?: number; buf?: [number, FramePage] } = {}): void {
    const sizes = opts.slots ?? [frame.length];
    const reqs: TxRequest[] = [];
    let at = 0;
    sizes.forEach((size, k) => {
      const [ref, page] = opts.buf ?? this.grantPage(true);
      const offset = k === 0 ? 100 : 0;
      page.setBytes(offset, frame.subarray(at, at + size));
      at += size;
      const more = k < sizes.length - 1 ? 4 : 0;
      reqs.push({ gref: ref, offset, flags: (k === 0 ? (opts.flags ?? 0) : 0) | more, id: (opts.id ?? 0) + k, size: k === 0 ? frame.length : size });
    });
    this.pushTx(reqs);
  }

  /** New tx responses: [id, status]. */
  txResponses(): [number, number][] {
    const p = this.txPage;
    const prod = p.u32(RING.RSP_PROD);
    const out: [number, number][] = [];
    const dv = p.view.dv, base = p.view.base;
    for (; this.txRspCons !== prod; this.txRspCons = (this.txRspCons + 1) >>> 0) {
      const off = base + RING.ENTRIES + (this.txRspCons & (NET_TX_RING_SIZE - 1)) * TX_SLOT;
      out.push([dv.getUint16(off + TXRSP.ID, true), dv.getInt16(off + TXRSP.STATUS, true)]);
    }
    p.setU32(RING.RSP_EVENT, (this.txRspCons + 1) >>> 0);
    return out;
  }

  // ---- receive ----

  /** Post `n` rx buffers (fresh granted pages) and notify. */
  postRx(n: number, opts: { notify?: boolean; gref?: number; buf?: [number, FramePage] } = {}): void {
    const p = this.rxPage;
    for (let k = 0; k < n; k++) {
      const id = this.rxProd & 0xffff;
      const [ref, page] = opts.buf ?? (opts.gref === undefined ? this.grantPage() : [opts.gref, this.rxPage]);
      this.rxBufs.set(id, { ref, page });
      const off = RING.ENTRIES + (this.rxProd & (NET_RX_RING_SIZE - 1)) * RX_SLOT;
      p.setU16(off + RXREQ.ID, id);
      p.setU32(off + RXREQ.GREF, ref);
      this.rxProd = (this.rxProd + 1) >>> 0;
    }
    p.setU32(RING.REQ_PROD, this.rxProd);
    if (opts.notify ?? true) this.notify(this.rxPort);
  }

  /** Responses since the last call: frames (status ≥ 0) or error statuses. */
  received(): (Uint8Array | number)[] {
    const p = this.rxPage;
    const prod = p.u32(RING.RSP_PROD);
    const out: (Uint8Array | number)[] = [];
    const dv = p.view.dv, base = p.view.base;
    for (; this.rxRspCons !== prod; this.rxRspCons = (this.rxRspCons + 1) >>> 0) {
      const off = base + RING.ENTRIES + (this.rxRspCons & (NET_RX_RING_SIZE - 1)) * RX_SLOT;
      const id = dv.getUint16(off + RXRSP.ID, true);
      const offset = dv.getUint16(off + RXRSP.OFFSET, true);
      const status = dv.getInt16(off + RXRSP.STATUS, true);
      const buf = this.rxBufs.get(id);
      this.rxBufs.delete(id);
      out.push(status < 0 || !buf ? status : buf.page.bytes.slice(offset, offset + status));
    }
    p.setU32(RING.RSP_EVENT, (this.rxRspCons + 1) >>> 0);
    return out;
  }
}

/** An Ethernet frame: dst, src, ethertype, payload. */
export function ethFrame(dst: string, src: string, type: number, payload: Uint8Array | number): Uint8Array {
  const body = typeof payload === 'number' ? Uint8Array.from({ length: payload }, (_, i) => (i * 7 + 3) & 0xff) : payload;
  const f = new Uint8Array(14 + body.length);
  f.set(dst.split(':').map((h) => parseInt(h, 16)), 0);
  f.set(src.split(':').map((h) => parseInt(h, 16)), 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  f.set(body, 14);
  return f;
}
