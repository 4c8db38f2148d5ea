/**
 * A domain's connection to xenstored over its ring page: reads requests as
 * the guest produces them (handle_input()), queues replies and watch events
 * and writes them as ring space allows (write_messages()), and drops the
 * connection on a hostile ring (ignore_connection(): the `error` field says
 * why). The guest can ask for a reset through the `connection` field
 * (docs/misc/xenstore-ring.txt, "The ring reconnection feature").
 */
import { domainPath } from './paths.ts';
import type { XenstoreCore, Watch, XsClient } from './core.ts';
import type { DomainHooks } from './requests.ts';
import { handleRequest } from './requests.ts';
import type { Transaction } from './transaction.ts';
import {
  XENSTORE_CONNECTED, XENSTORE_ERROR_NONE, XENSTORE_ERROR_PROTO, XENSTORE_ERROR_RINGIDX,
  XENSTORE_RECONNECT, XENSTORE_SERVER_FEATURE_ERROR, XENSTORE_SERVER_FEATURE_RECONNECTION, XenstoreRing,
} from './ring.ts';
import type { RingPage } from './ring.ts';
import { encodeMessage, joinStrings, XsParser, XsType } from './wire.ts';

interface Outgoing {
  bytes: Uint8Array;
  /** Replies count against the outstanding quota; events do not. */
  isReply: boolean;
  /** Dedup key of a watch event (path\0token), undefined for replies. */
  eventKey?: string;
}

export class RingConnection implements XsClient {
  readonly privileged = false;
  readonly implicitPath: string;
  watches: Watch[] = [];
  transactions = new Map<number, Transaction>();
  nextTxId = 1;
  /** Set after a hostile ring; nothing is read or written until a reconnect. */
  ignored = false;
  /** @releaseDomain already fired for this shutdown (domain->shutdown). */
  shutdownNoticed = false;

  readonly ring: XenstoreRing;
  private readonly parser = new XsParser();
  private readonly out: Outgoing[] = [];
  private outOffset = 0;
  private outBytes = 0;
  private outReplies = 0;
  private readonly pendingEvents = new Set<string>();
  private wantNotify = false;

  constructor(
    readonly domid: number,
    page: RingPage,
    private readonly notifyGuest: () => void,
    private readonly core: XenstoreCore,
    private readonly hooks: DomainHooks,
    resetRing: boolean,
    /** Called when output is queued, so the owner can flush it after the current operation. */
    private readonly onQueued: (c: RingConnection) => void = () => {},
  ) {
    this.implicitPath = domainPath(domid);
    this.ring = new XenstoreRing(page);
    // Advertise before touching any data (xenstore-ring.txt).
    this.ring.serverFeatures = this.ring.serverFeatures | XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR;
    if (resetRing) this.ring.resetIndices(); // domain_conn_reset() on INTRODUCE
    if (this.ring.connection === XENSTORE_RECONNECT) {
      this.ring.connection = XENSTORE_CONNECTED;
      this.wantNotify = true;
    }
  }

  get pendingOutput(): boolean {
    return this.out.length > 0;
  }

  sendEvent(path: string, token: string): void {
    if (this.ignored) return;
    const key = `${path}\0${token}`;
    // An identical event not yet started is enough (send_event()); special events always go.
    if (!path.startsWith('@') && this.pendingEvents.has(key)) return;
    const bytes = encodeMessage({ type: XsType.WATCH_EVENT, reqId: 0, txId: 0, payload: joinStrings([path, token]) });
    if (bytes.length - 16 > 4096) return; // over-long events are not sent
    if (this.outBytes + bytes.length > this.core.quotas.outputBytes) return;
    this.pendingEvents.add(key);
    this.push({ bytes, isReply: false, eventKey: key });
    this.onQueued(this);
  }

  private push(o: Outgoing): void {
    this.out.push(o);
    this.outBytes += o.bytes.length;
    if (o.isReply) this.outReplies++;
  }

  /**
   * Services the ring: honours a reconnect request, writes queued output,
   * then reads and handles requests while fewer than `outstanding` replies
   * wait. Notifies the guest once if anything moved. Never throws on guest data.
   */
  service(): void {
    if (this.ring.connection === XENSTORE_RECONNECT) this.reconnect();
    if (this.ignored) return this.maybeNotify();
    this.flush();
    while (!this.ignored && this.outReplies < this.core.quotas.outstanding) {
      const msg = this.parser.take() ?? this.readMore();
      if (!msg) break;
      handleRequest(this.core, this, msg, (type, payload) => {
        this.push({ bytes: encodeMessage({ type, reqId: msg.reqId, txId: msg.txId, payload }), isReply: true });
      }, this.hooks);
      this.flush();
    }
    this.maybeNotify();
  }

  /** Reads at most what the message in progress still needs, so unread requests stay in the ring. */
  private readMore(): ReturnType<XsParser['take']> {
    for (;;) {
      const need = this.parser.wanted();
      const chunk = this.ring.read(need);
      if (chunk === 'bad-index') {
        this.ignore(XENSTORE_ERROR_RINGIDX);
        return undefined;
      }
      if (chunk.length === 0) return undefined;
      this.wantNotify = true;
      this.parser.push(chunk);
      if (this.parser.error) {
        this.ignore(XENSTORE_ERROR_PROTO);
        return undefined;
      }
      const msg = this.parser.take();
      if (msg) return msg;
    }
  }

  /** Writes as much queued output as the response ring takes. */
  flush(): void {
    while (!this.ignored && this.out.length > 0) {
      const head = this.out[0];
      const n = this.ring.write(head.bytes.subarray(this.outOffset));
      if (n === 'bad-index') return this.ignore(XENSTORE_ERROR_RINGIDX);
      if (n > 0) this.wantNotify = true;
      this.outOffset += n;
      if (this.outOffset < head.bytes.length) break;
      this.out.shift();
      if (head.eventKey) this.pendingEvents.delete(head.eventKey);
      this.outOffset = 0;
      this.outBytes -= head.bytes.length;
      if (head.isReply) this.outReplies--;
    }
  }

  maybeNotify(): void {
    if (!this.wantNotify) return;
    this.wantNotify = false;
    this.notifyGuest();
  }

  private dropState(): void {
    this.parser.reset();
    this.out.length = 0;
    this.outOffset = 0;
    this.outBytes = 0;
    this.outReplies = 0;
    this.pendingEvents.clear();
    this.watches = [];
    this.transactions.clear();
  }

  /** ignore_connection(): record why, drop everything, stop talking. */
  ignore(error: number): void {
    this.ring.error = error;
    this.ignored = true;
    this.dropState();
  }

  /** Ring reconnection: empty both queues, forget requests, watches and transactions. */
  private reconnect(): void {
    this.dropState();
    this.ring.resetIndices();
    this.ring.error = XENSTORE_ERROR_NONE;
    this.ignored = false;
    this.ring.connection = XENSTORE_CONNECTED;
    this.wantNotify = true;
  }
}
