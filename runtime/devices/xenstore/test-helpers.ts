/**
 * Test-only: a guest-side xenstore client speaking over a ring page, the way
 * Mini-OS xenbus.c does (write request bytes at req_prod, notify; read
 * replies from rsp_cons).
 */
import {
  OFF_REQ, OFF_REQ_CONS, OFF_REQ_PROD, OFF_RSP, OFF_RSP_CONS, OFF_RSP_PROD, XENSTORE_RING_SIZE,
} from './ring.ts';
import type { XsMessage } from './wire.ts';
import { encodeMessage, latin1ToBytes, XsParser, XsType } from './wire.ts';
import type { Xenstored } from './xenstored.ts';

export class GuestRing {
  readonly page = new Uint8Array(4096);
  readonly dv = new DataView(this.page.buffer);
  notifications = 0;
  private readonly parser = new XsParser();
  private nextReq = 1;

  constructor(
    readonly xs: Xenstored,
    readonly domid: number,
  ) {}

  get(off: number): number {
    return this.dv.getUint32(off, true);
  }
  set(off: number, v: number): void {
    this.dv.setUint32(off, v >>> 0, true);
  }

  /** Puts raw bytes into the request ring (as much as fits); returns how many. */
  sendRaw(bytes: Uint8Array): number {
    const cons = this.get(OFF_REQ_CONS);
    const prod = this.get(OFF_REQ_PROD);
    const n = Math.min(XENSTORE_RING_SIZE - ((prod - cons) >>> 0), bytes.length);
    for (let i = 0; i < n; i++) this.page[OFF_REQ + ((prod + i) & (XENSTORE_RING_SIZE - 1))] = bytes[i];
    this.set(OFF_REQ_PROD, prod + n);
    return n;
  }

  /** Reads every reply byte available and returns the complete messages. */
  receive(): XsMessage[] {
    const cons = this.get(OFF_RSP_CONS);
    const prod = this.get(OFF_RSP_PROD);
    const n = (prod - cons) >>> 0;
    if (n > XENSTORE_RING_SIZE) return []; // a broken ring: nothing sensible to read
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) bytes[i] = this.page[OFF_RSP + ((cons + i) & (XENSTORE_RING_SIZE - 1))];
    this.set(OFF_RSP_CONS, cons + n);
    this.parser.push(bytes);
    const out: XsMessage[] = [];
    for (let m = this.parser.take(); m; m = this.parser.take()) out.push(m);
    return out;
  }

  kick(): void {
    this.xs.handleRing(this.domid);
  }

  /** Sends one request, services the ring until its reply shows up, returns it (events are kept aside). */
  request(type: number, payload: string | Uint8Array, txId = 0): XsMessage {
    const reqId = this.nextReq++;
    const bytes = encodeMessage({
      type, reqId, txId, payload: typeof payload === 'string' ? latin1ToBytes(payload) : payload,
    });
    let sent = 0;
    for (let guard = 0; guard < 1000; guard++) {
      sent += this.sendRaw(bytes.subarray(sent));
      this.kick();
      let reply: XsMessage | undefined;
      for (const m of this.receive()) {
        if (m.type === XsType.WATCH_EVENT) this.events.push(text(m));
        else if (m.reqId === reqId) reply = m;
      }
      if (reply) return reply;
    }
    throw new Error('no reply');
  }

  /** Watch events seen so far, as "path|token|". */
  readonly events: string[] = [];

  /** Collects pending watch events from the ring. */
  drainEvents(): string[] {
    for (const m of this.receive()) if (m.type === XsType.WATCH_EVENT) this.events.push(text(m));
    return this.events.splice(0);
  }
}

/** A payload as text with NULs shown as "|". */
export function text(m: XsMessage): string {
  return String.fromCharCode(...m.payload).replaceAll('\0', '|');
}

/** Shorthand: request and render the reply as "TYPE:payload". */
export function call(g: GuestRing, type: number, payload: string, txId = 0): string {
  const m = g.request(type, payload, txId);
  return m.type === XsType.ERROR ? `ERROR:${text(m)}` : text(m);
}
