/**
 * struct xenstore_domain_interface (xen/include/public/io/xs_wire.h,
 * docs/misc/xenstore-ring.txt): two 1024-byte byte rings in one shared page,
 * free-running u32 indices masked by size-1.
 *
 *   0 req[1024]  1024 rsp[1024]  2048 req_cons  2052 req_prod
 *   2056 rsp_cons  2060 rsp_prod  2064 server_features  2068 connection
 *   2072 error  2076 evtchn_port
 *
 * The guest owns req_prod and rsp_cons; we own req_cons and rsp_prod. Every
 * index the guest controls is read once, then validated: prod - cons may never
 * exceed the ring size (check_indexes() in tools/xenstored/domain.c).
 */

export const XENSTORE_RING_SIZE = 1024;
export const OFF_REQ = 0;
export const OFF_RSP = 1024;
export const OFF_REQ_CONS = 2048;
export const OFF_REQ_PROD = 2052;
export const OFF_RSP_CONS = 2056;
export const OFF_RSP_PROD = 2060;
export const OFF_SERVER_FEATURES = 2064;
export const OFF_CONNECTION = 2068;
export const OFF_ERROR = 2072;
export const OFF_EVTCHN_PORT = 2076;

export const XENSTORE_SERVER_FEATURE_RECONNECTION = 1;
export const XENSTORE_SERVER_FEATURE_ERROR = 2;
export const XENSTORE_CONNECTED = 0;
export const XENSTORE_RECONNECT = 1;
export const XENSTORE_ERROR_NONE = 0;
export const XENSTORE_ERROR_COMM = 1;
export const XENSTORE_ERROR_RINGIDX = 2;
export const XENSTORE_ERROR_PROTO = 3;

/**
 * The guest page holding the interface: 4096 bytes at `u8[base..]`. `markDirty`
 * (if given) is called after we write into the page, so memory can log the
 * frame as dirty and drop decoded code on it.
 */
export interface RingPageAccess {
  u8: Uint8Array;
  dv: DataView;
  base: number;
  markDirty?: () => void;
}

export type RingPage = Uint8Array | RingPageAccess;

export function toPageAccess(p: RingPage): RingPageAccess {
  if (p instanceof Uint8Array) {
    if (p.length < 4096) throw new RangeError('xenstore ring page must be 4096 bytes');
    return { u8: p, dv: new DataView(p.buffer, p.byteOffset, p.byteLength), base: 0 };
  }
  if (p.base < 0 || p.base + 4096 > p.u8.length) throw new RangeError('xenstore ring page out of bounds');
  return p;
}

export class XenstoreRing {
  private readonly p: RingPageAccess;

  constructor(page: RingPage) {
    this.p = toPageAccess(page);
  }

  private get32(off: number): number {
    return this.p.dv.getUint32(this.p.base + off, true);
  }

  private set32(off: number, v: number): void {
    this.p.dv.setUint32(this.p.base + off, v >>> 0, true);
    this.p.markDirty?.();
  }

  /**
   * Copies up to `max` request bytes out of the ring and advances req_cons.
   * Returns 'bad-index' when the guest's indices are inconsistent.
   */
  read(max: number): Uint8Array | 'bad-index' {
    const cons = this.get32(OFF_REQ_CONS);
    const prod = this.get32(OFF_REQ_PROD);
    const avail = (prod - cons) >>> 0;
    if (avail > XENSTORE_RING_SIZE) return 'bad-index';
    const n = Math.min(avail, max);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.p.u8[this.p.base + OFF_REQ + ((cons + i) & (XENSTORE_RING_SIZE - 1))];
    if (n > 0) this.set32(OFF_REQ_CONS, cons + n);
    return out;
  }

  /** True when the guest has produced request bytes we have not consumed. */
  hasInput(): boolean {
    return this.get32(OFF_REQ_CONS) !== this.get32(OFF_REQ_PROD);
  }

  /** Writes as many bytes as fit, publishes rsp_prod; returns the count or 'bad-index'. */
  write(bytes: Uint8Array): number | 'bad-index' {
    const cons = this.get32(OFF_RSP_CONS);
    const prod = this.get32(OFF_RSP_PROD);
    const used = (prod - cons) >>> 0;
    if (used > XENSTORE_RING_SIZE) return 'bad-index';
    const n = Math.min(XENSTORE_RING_SIZE - used, bytes.length);
    for (let i = 0; i < n; i++) this.p.u8[this.p.base + OFF_RSP + ((prod + i) & (XENSTORE_RING_SIZE - 1))] = bytes[i];
    // The data must be visible before the index (xen_mb() in writechn()); one thread here.
    if (n > 0) this.set32(OFF_RSP_PROD, prod + n);
    return n;
  }

  get connection(): number {
    return this.get32(OFF_CONNECTION);
  }
  set connection(v: number) {
    this.set32(OFF_CONNECTION, v);
  }
  get error(): number {
    return this.get32(OFF_ERROR);
  }
  set error(v: number) {
    this.set32(OFF_ERROR, v);
  }
  get serverFeatures(): number {
    return this.get32(OFF_SERVER_FEATURES);
  }
  set serverFeatures(v: number) {
    this.set32(OFF_SERVER_FEATURES, v);
  }

  /** Empties both rings (domain_conn_reset(): all four indices to 0). */
  resetIndices(): void {
    for (const off of [OFF_REQ_CONS, OFF_REQ_PROD, OFF_RSP_CONS, OFF_RSP_PROD]) this.set32(off, 0);
  }
}
