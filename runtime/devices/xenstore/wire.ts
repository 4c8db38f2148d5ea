/**
 * The xenstore wire protocol: struct xsd_sockmsg {u32 type, req_id, tx_id, len}
 * (16 bytes, little-endian on x86) followed by `len` payload bytes, at most
 * XENSTORE_PAYLOAD_MAX = 4096 (xen/include/public/io/xs_wire.h). A client that
 * sends more is cut off (docs/misc/xenstore.txt: "its xenstored connection will
 * be immediately killed"); handle_input() in tools/xenstored/core.c.
 */

export const XS_HEADER_SIZE = 16;
export const XENSTORE_PAYLOAD_MAX = 4096;

/** enum xsd_sockmsg_type (xs_wire.h; ../shared/xen-abi.md §6). */
export const XsType = {
  CONTROL: 0,
  DIRECTORY: 1,
  READ: 2,
  GET_PERMS: 3,
  WATCH: 4,
  UNWATCH: 5,
  TRANSACTION_START: 6,
  TRANSACTION_END: 7,
  INTRODUCE: 8,
  RELEASE: 9,
  GET_DOMAIN_PATH: 10,
  WRITE: 11,
  MKDIR: 12,
  RM: 13,
  SET_PERMS: 14,
  WATCH_EVENT: 15,
  ERROR: 16,
  IS_DOMAIN_INTRODUCED: 17,
  RESUME: 18,
  SET_TARGET: 19,
  /* 20 was XS_RESTRICT, removed */
  RESET_WATCHES: 21,
  DIRECTORY_PART: 22,
  GET_FEATURE: 23,
  SET_FEATURE: 24,
  GET_QUOTA: 25,
  SET_QUOTA: 26,
} as const;

export interface XsMessage {
  type: number;
  reqId: number;
  txId: number;
  payload: Uint8Array;
}

export function encodeMessage(m: XsMessage): Uint8Array {
  const out = new Uint8Array(XS_HEADER_SIZE + m.payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, m.type >>> 0, true);
  dv.setUint32(4, m.reqId >>> 0, true);
  dv.setUint32(8, m.txId >>> 0, true);
  dv.setUint32(12, m.payload.length, true);
  out.set(m.payload, XS_HEADER_SIZE);
  return out;
}

/**
 * Incremental parser over a byte stream. Bytes may arrive in any split; a
 * header announcing len > 4096 puts the parser in the `error` state for good
 * (the connection must then be dropped). It never throws.
 */
export class XsParser {
  private readonly header = new Uint8Array(XS_HEADER_SIZE);
  private headerUsed = 0;
  private payload: Uint8Array | undefined;
  private payloadUsed = 0;
  private type = 0;
  private reqId = 0;
  private txId = 0;
  private readonly ready: XsMessage[] = [];
  error: 'payload-too-long' | undefined;

  /** Bytes still needed to finish the message in progress (0 once in error). */
  wanted(): number {
    if (this.error) return 0;
    return this.payload ? this.payload.length - this.payloadUsed : XS_HEADER_SIZE - this.headerUsed;
  }

  /** Feeds bytes; complete messages queue up for take(). Returns bytes consumed. */
  push(bytes: Uint8Array): number {
    let off = 0;
    while (off < bytes.length && !this.error) {
      if (!this.payload) {
        const n = Math.min(XS_HEADER_SIZE - this.headerUsed, bytes.length - off);
        this.header.set(bytes.subarray(off, off + n), this.headerUsed);
        this.headerUsed += n;
        off += n;
        if (this.headerUsed === XS_HEADER_SIZE) this.startPayload();
      } else {
        const n = Math.min(this.payload.length - this.payloadUsed, bytes.length - off);
        this.payload.set(bytes.subarray(off, off + n), this.payloadUsed);
        this.payloadUsed += n;
        off += n;
      }
      if (this.payload && this.payloadUsed === this.payload.length) this.finish();
    }
    return off;
  }

  take(): XsMessage | undefined {
    return this.ready.shift();
  }

  /** Drops any partial message and queued messages (ring reconnect). */
  reset(): void {
    this.headerUsed = 0;
    this.payload = undefined;
    this.payloadUsed = 0;
    this.ready.length = 0;
    this.error = undefined;
  }

  private startPayload(): void {
    const dv = new DataView(this.header.buffer);
    this.type = dv.getUint32(0, true);
    this.reqId = dv.getUint32(4, true);
    this.txId = dv.getUint32(8, true);
    const len = dv.getUint32(12, true);
    if (len > XENSTORE_PAYLOAD_MAX) {
      this.error = 'payload-too-long';
      return;
    }
    this.payload = new Uint8Array(len);
    this.payloadUsed = 0;
  }

  private finish(): void {
    this.ready.push({ type: this.type, reqId: this.reqId, txId: this.txId, payload: this.payload! });
    this.payload = undefined;
    this.headerUsed = 0;
  }
}

/** Bytes ↔ string one-to-one (ISO-8859-1), so tokens and values round-trip. */
export function bytesToLatin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x2000) s += String.fromCharCode(...b.subarray(i, i + 0x2000));
  return s;
}

export function latin1ToBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/**
 * get_strings(): the NUL-terminated strings at the start of a payload. Bytes
 * after the last NUL are not a string (they are returned as `rest`).
 */
export function splitStrings(p: Uint8Array): { strings: string[]; rest: Uint8Array } {
  const strings: string[] = [];
  let start = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) {
      strings.push(bytesToLatin1(p.subarray(start, i)));
      start = i + 1;
    }
  }
  return { strings, rest: p.subarray(start) };
}

/** onearg(): exactly one string, whose NUL is the last byte; otherwise undefined. */
export function oneArg(p: Uint8Array): string | undefined {
  const nul = p.indexOf(0);
  return p.length > 0 && nul === p.length - 1 ? bytesToLatin1(p.subarray(0, nul)) : undefined;
}

/** Strings each followed by a NUL: the payload of DIRECTORY, GET_PERMS, WATCH_EVENT. */
export function joinStrings(list: readonly string[]): Uint8Array {
  return latin1ToBytes(list.map((s) => `${s}\0`).join(''));
}
