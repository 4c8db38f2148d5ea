/**
 * One TCP connection (RFC 9293), written for the gateway's side of a forwarded port and
 * usable for either end (tests use it as the guest's TCP too). It knows nothing of IP or
 * sockets: segments go out through `output`, come in through `input`, and every timer runs on
 * an injected clock, so a run on a simulated lossy segment is exact and instant.
 *
 * - Opening: SYN / SYN-ACK / ACK with the MSS option (ours 1460; 536 if the peer sends none);
 *   SYN retransmitted on the RTO until `connectTimeoutMs`.
 * - Reliability: cumulative ACKs; one retransmission timer with RTO from SRTT/RTTVAR, Karn's
 *   rule and exponential backoff (RFC 6298); go-back-N from snd.una on timeout; fast
 *   retransmit on three duplicate ACKs with NewReno partial-ACK recovery (RFC 5681, 6582);
 *   slow start and congestion avoidance. Out-of-order segments wait (within the window) for
 *   the hole to fill; duplicates are trimmed, so the byte stream is delivered exactly once, in
 *   order.
 * - Flow control: never more than the peer's window in flight; a zero window is probed with
 *   one byte on the RTO (persist); our window is the receive buffer the reader has not taken
 *   (pauseReading lets it fill, so a slow host socket slows the guest, not the gateway's
 *   memory); sender and receiver silly-window avoidance (RFC 9293 §3.8.6.2).
 * - Closing: FIN after the last byte in each direction (half-close kept), TIME_WAIT for 2·MSL;
 *   RST aborts, and an RST or SYN that is in the window but not exact is answered with a
 *   challenge ACK (RFC 5961). A connection that hears nothing for `userTimeoutMs` gives up.
 */
import { ByteQueue } from './bytequeue.ts';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpSegment } from './packets.ts';

export interface TcpClock {
  /** milliseconds */
  now(): number;
  /** Run `fn` after `ms`; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** Real time: performance.now() and unref'd Node timers. */
export const realClock: TcpClock = {
  now: () => performance.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return () => clearTimeout(t);
  },
};

export interface TcpOptions {
  /** our MSS (1460: a 1500-byte MTU less 40 bytes of headers) */
  mss?: number;
  /** receive buffer = the largest window we advertise (no window scaling: at most 65535) */
  rcvBuf?: number;
  /** bytes write() accepts before it asks the writer to wait */
  sndBuf?: number;
  rtoInitialMs?: number;
  rtoMinMs?: number;
  rtoMaxMs?: number;
  connectTimeoutMs?: number;
  /** give up after this long without any acknowledgement while data is outstanding */
  userTimeoutMs?: number;
  timeWaitMs?: number;
  /** delayed ACK: acknowledge every second segment, or after this long (0 = at once) */
  delAckMs?: number;
}

export type TcpState =
  | 'CLOSED' | 'SYN_SENT' | 'SYN_RECEIVED' | 'ESTABLISHED' | 'FIN_WAIT_1' | 'FIN_WAIT_2'
  | 'CLOSE_WAIT' | 'CLOSING' | 'LAST_ACK' | 'TIME_WAIT';

export class TcpError extends Error {
  constructor(readonly code: 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'ECONNABORTED', message: string) {
    super(message);
  }
}

/** What a segment needs besides the ports (the owner fills those in). */
export type TcpOut = Omit<TcpSegment, 'srcPort' | 'dstPort'>;

export interface TcpEvents {
  onConnect?: () => void;
  onData?: (chunk: Uint8Array) => void;
  /** the peer closed its direction; every byte before its FIN was delivered */
  onEnd?: () => void;
  /** write() may be called again */
  onDrain?: () => void;
  /** done for the application (err: reset, refused, timed out) */
  onClose?: (err?: TcpError) => void;
}

const lt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const le = (a: number, b: number): boolean => ((a - b) | 0) <= 0;
const add = (a: number, n: number): number => (a + n) >>> 0;
const diff = (a: number, b: number): number => (a - b) | 0;

const DEFAULTS: Required<TcpOptions> = {
  mss: 1460, rcvBuf: 65535, sndBuf: 256 * 1024, rtoInitialMs: 1000, rtoMinMs: 200, rtoMaxMs: 60_000,
  connectTimeoutMs: 75_000, userTimeoutMs: 120_000, timeWaitMs: 60_000, delAckMs: 20,
};

export class TcpConnection {
  state: TcpState = 'CLOSED';
  readonly o: Required<TcpOptions>;
  ev: TcpEvents = {};
  // send side (RFC 9293 §3.3.1 names)
  private iss: number;
  private sndUna: number;
  private sndNxt: number;
  private sndMax: number;
  private sndWnd = 0;
  private maxSndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private sendMss = 536;
  /** unacknowledged and unsent data; its first byte has sequence number bufSeq */
  private readonly sndq = new ByteQueue();
  private bufSeq: number;
  private finQueued = false;
  private cwnd: number;
  private ssthresh = 65535;
  private dupAcks = 0;
  private recover: number | undefined;
  // timing
  private srtt: number | undefined;
  private rttvar = 0;
  private rto: number;
  private rttSeq: number | undefined;
  private rttAt = 0;
  private cancelRtx: (() => void) | undefined;
  private cancelDelAck: (() => void) | undefined;
  private cancelTimeWait: (() => void) | undefined;
  private lastHeard: number;
  private openedAt: number;
  // receive side
  private irs = 0;
  private rcvNxt = 0;
  private readonly ooo = new Map<number, Uint8Array>();
  private peerFin: number | undefined;
  private readonly unread = new ByteQueue();
  private paused = false;
  private advertised = 0;
  private ackOwed = 0;
  private ended = false;
  private closedFired = false;
  /** counters */
  readonly stats = { segsOut: 0, segsIn: 0, retransmits: 0, bytesOut: 0, bytesIn: 0, dupSegsIn: 0, oooSegsIn: 0 };

  constructor(
    private readonly output: (seg: TcpOut) => void,
    private readonly clock: TcpClock,
    opts: TcpOptions = {},
    iss = Math.floor(Math.random() * 2 ** 32),
    /** the owner forgets the connection (after CLOSED or TIME_WAIT) */
    private readonly onFinished: () => void = () => undefined,
  ) {
    this.o = { ...DEFAULTS, ...opts };
    this.o.rcvBuf = Math.min(this.o.rcvBuf, 65535);
    this.iss = iss >>> 0;
    this.sndUna = this.sndNxt = this.sndMax = this.iss;
    this.bufSeq = add(this.iss, 1);
    this.rto = this.o.rtoInitialMs;
    this.cwnd = Math.min(4 * this.sendMss, Math.max(2 * this.sendMss, 4380));
    this.lastHeard = this.openedAt = clock.now();
  }

  // ---- the application's side --------------------------------------------------------------

  /** Active open: send a SYN. */
  connect(): void {
    if (this.state !== 'CLOSED') return;
    this.state = 'SYN_SENT';
    this.openedAt = this.clock.now();
    this.sendSyn();
  }

  /** Passive open from a listener that received `syn`: answer SYN-ACK. */
  accept(syn: TcpSegment): void {
    if (this.state !== 'CLOSED') return;
    this.irs = syn.seq;
    this.rcvNxt = add(syn.seq, 1);
    this.setPeerMss(syn.mss);
    this.updateWindow(syn.seq, syn.ack, syn.window, true);
    this.state = 'SYN_RECEIVED';
    this.openedAt = this.clock.now();
    this.sendSyn();
  }

  /** Queue bytes to send; false once the send buffer is full (wait for onDrain). */
  write(data: Uint8Array): boolean {
    if (this.finQueued || !['SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED', 'CLOSE_WAIT'].includes(this.state)) return false;
    this.sndq.push(data);
    this.transmit();
    return this.sndq.length < this.o.sndBuf;
  }

  /** Bytes queued and not yet acknowledged. */
  get buffered(): number {
    return this.sndq.length;
  }

  /** Close our direction once everything queued is sent. */
  end(): void {
    if (this.finQueued) return;
    if (this.state === 'CLOSED') return this.abort();
    if (!['SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED', 'CLOSE_WAIT'].includes(this.state)) return;
    this.finQueued = true; // sent after the data, once the handshake is done
    this.transmit();
  }

  /** Reset the connection (RST) and forget it. */
  abort(err?: TcpError): void {
    if (this.state === 'CLOSED') return this.finish(err);
    if (this.state !== 'SYN_SENT' && this.state !== 'TIME_WAIT') this.emit({ seq: this.acceptableSeq(), ack: this.rcvNxt, flags: TCP_RST | TCP_ACK, window: 0, payload: new Uint8Array(0) });
    this.finish(err ?? new TcpError('ECONNABORTED', 'connection aborted'));
  }

  /** Stop delivering data: the window closes as the unread bytes fill the receive buffer. */
  pauseReading(): void {
    this.paused = true;
  }

  resumeReading(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const c of this.unread.takeAll()) {
      if (this.paused) this.unread.push(c);
      else this.ev.onData?.(c);
    }
    if (!this.paused) {
      this.maybeEnd();
      this.windowUpdate();
    }
  }

  /** Current RTO (ms), for tests and stats. */
  get rtoMs(): number {
    return this.rto;
  }

  get srttMs(): number | undefined {
    return this.srtt;
  }

  // ---- segments in ---------------------------------------------------------------------------

  input(seg: TcpSegment): void {
    this.stats.segsIn++;
    if (this.state === 'CLOSED') return;
    if (this.state === 'SYN_SENT') return this.inputSynSent(seg);
    if (this.state === 'SYN_RECEIVED' && seg.flags & TCP_SYN && !(seg.flags & TCP_ACK) && seg.seq === this.irs) return this.sendSyn(); // our SYN-ACK was lost
    const len = seg.payload.length + (seg.flags & TCP_SYN ? 1 : 0) + (seg.flags & TCP_FIN ? 1 : 0);
    // 1. Sequence acceptability (RFC 9293 §3.10.7.4, first check).
    const wnd = this.rcvWindow();
    const inWnd = (s: number): boolean => le(this.rcvNxt, s) && lt(s, add(this.rcvNxt, wnd));
    const ok = len === 0 ? (wnd === 0 ? seg.seq === this.rcvNxt : inWnd(seg.seq) || seg.seq === this.rcvNxt)
      : wnd > 0 && (inWnd(seg.seq) || inWnd(add(seg.seq, len - 1)));
    if (!ok) {
      if (seg.flags & TCP_RST) return;
      // A closed window still takes the ACK of a segment at rcv.nxt (RFC 9293 §3.10.7.4).
      if (wnd === 0 && seg.seq === this.rcvNxt && seg.flags & TCP_ACK && this.state !== 'SYN_RECEIVED') {
        this.lastHeard = this.clock.now();
        if (this.processAck(seg)) this.transmit();
      } else this.stats.dupSegsIn++;
      this.sendAck();
      return;
    }
    this.lastHeard = this.clock.now();
    // 2. RST: exact → reset; in window → challenge ACK (RFC 5961 §3.2).
    if (seg.flags & TCP_RST) {
      if (seg.seq !== this.rcvNxt) return this.sendAck();
      if (this.state === 'SYN_RECEIVED') return this.finish(new TcpError('ECONNREFUSED', 'connection reset during the handshake'));
      return this.finish(new TcpError('ECONNRESET', 'connection reset by peer'));
    }
    // 3. A SYN in a synchronized state: challenge ACK (RFC 5961 §4.2).
    if (seg.flags & TCP_SYN) return this.sendAck();
    if (!(seg.flags & TCP_ACK)) return;
    // 4. ACK.
    if (this.state === 'SYN_RECEIVED') {
      if (!(lt(this.sndUna, seg.ack) && le(seg.ack, this.sndMax))) {
        this.emit({ seq: seg.ack, ack: 0, flags: TCP_RST, window: 0, payload: new Uint8Array(0) });
        return;
      }
      this.state = 'ESTABLISHED';
      this.updateWindow(seg.seq, seg.ack, seg.window, true);
      this.ev.onConnect?.();
      if ((this.state as TcpState) === 'CLOSED') return; // the application aborted
    }
    if (!this.processAck(seg)) return;
    // 5. Data and FIN.
    if (seg.payload.length > 0 && ['ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2'].includes(this.state)) this.receiveData(seg);
    if (seg.flags & TCP_FIN) {
      const fin = add(seg.seq, seg.payload.length);
      if (this.peerFin === undefined) this.peerFin = fin;
      if (this.state === 'TIME_WAIT') {
        this.sendAck();
        this.startTimeWait();
        return;
      }
    }
    this.checkFin();
    this.transmit();
  }

  private inputSynSent(seg: TcpSegment): void {
    if (seg.flags & TCP_ACK && (le(seg.ack, this.iss) || lt(this.sndMax, seg.ack))) {
      if (!(seg.flags & TCP_RST)) this.emit({ seq: seg.ack, ack: 0, flags: TCP_RST, window: 0, payload: new Uint8Array(0) });
      return;
    }
    if (seg.flags & TCP_RST) {
      if (seg.flags & TCP_ACK) this.finish(new TcpError('ECONNREFUSED', 'connection refused'));
      return;
    }
    if (!(seg.flags & TCP_SYN)) return;
    this.lastHeard = this.clock.now();
    this.irs = seg.seq;
    this.rcvNxt = add(seg.seq, 1);
    this.setPeerMss(seg.mss);
    if (seg.flags & TCP_ACK) {
      this.sampleRtt(seg.ack);
      this.sndUna = seg.ack;
      this.state = 'ESTABLISHED';
      this.updateWindow(seg.seq, seg.ack, seg.window, true);
      this.rto = this.rtoFromSrtt();
      this.stopRtx();
      this.sendAck();
      this.ev.onConnect?.();
      this.transmit();
    } else {
      this.state = 'SYN_RECEIVED'; // simultaneous open
      this.sendSyn();
    }
  }

  /** ACK processing for synchronized states; false if the segment is to be dropped. */
  private processAck(seg: TcpSegment): boolean {
    const ack = seg.ack;
    if (lt(this.sndMax, ack)) {
      this.sendAck(); // acknowledges something never sent
      return false;
    }
    if (lt(this.sndUna, ack)) {
      // New data acknowledged.
      const acked = diff(ack, this.sndUna);
      this.sampleRtt(ack);
      const dataAcked = Math.max(0, Math.min(diff(ack, this.bufSeq), this.sndq.length));
      this.sndq.drop(dataAcked);
      this.bufSeq = add(this.bufSeq, dataAcked);
      this.sndUna = ack;
      if (lt(this.sndNxt, ack)) this.sndNxt = ack;
      this.growCwnd(acked, ack);
      this.dupAcks = 0;
      this.rto = this.rtoFromSrtt();
      if (this.sndUna === this.sndMax) this.stopRtx();
      else this.armRtx(true);
      if (dataAcked > 0 && this.sndq.length < this.o.sndBuf && this.sndq.length + dataAcked >= this.o.sndBuf) this.ev.onDrain?.();
    } else if (ack === this.sndUna && seg.payload.length === 0 && !(seg.flags & (TCP_SYN | TCP_FIN)) && seg.window === this.sndWnd && this.sndUna !== this.sndMax && this.sndWnd > 0) {
      this.onDupAck();
    }
    this.updateWindow(seg.seq, ack, seg.window, false);
    const finAcked = this.finQueued && this.sndUna === add(this.finSeq(), 1);
    if (finAcked) {
      if (this.state === 'FIN_WAIT_1') {
        this.state = 'FIN_WAIT_2';
        this.startTimeWait(); // tcp_fin_timeout: a peer that never closes does not hold us forever
      }
      else if (this.state === 'CLOSING') this.enterTimeWait();
      else if (this.state === 'LAST_ACK') {
        this.finish();
        return false;
      }
    }
    return true;
  }

  private updateWindow(seq: number, ack: number, window: number, force: boolean): void {
    if (force || lt(this.sndWl1, seq) || (this.sndWl1 === seq && le(this.sndWl2, ack))) {
      // The window reopened without taking our probe byte: send it again now, not on the RTO.
      if (this.sndWnd === 0 && window > 0 && ack === this.sndUna) this.sndNxt = this.sndUna;
      this.sndWnd = window;
      this.maxSndWnd = Math.max(this.maxSndWnd, window);
      this.sndWl1 = seq;
      this.sndWl2 = ack;
    }
  }

  private receiveData(seg: TcpSegment): void {
    let seq = seg.seq;
    let data = seg.payload;
    if (lt(seq, this.rcvNxt)) {
      const skip = diff(this.rcvNxt, seq);
      data = data.subarray(skip);
      seq = this.rcvNxt;
      this.stats.dupSegsIn++;
    }
    const room = this.rcvWindow() - diff(seq, this.rcvNxt);
    if (data.length > room) data = data.subarray(0, Math.max(0, room));
    if (data.length === 0) return this.sendAck();
    if (seq !== this.rcvNxt) {
      // Out of order: hold it, and say at once what we still miss (a duplicate ACK).
      this.stats.oooSegsIn++;
      const held = this.ooo.get(seq);
      if (!held || held.length < data.length) this.ooo.set(seq, Uint8Array.from(data));
      return this.sendAck();
    }
    const hadHoles = this.ooo.size > 0;
    this.deliver(data);
    // Pull in what the hole was holding back.
    for (let progress = true; progress && this.ooo.size; ) {
      progress = false;
      for (const [s, d] of this.ooo) {
        if (lt(this.rcvNxt, s)) continue;
        this.ooo.delete(s);
        const skip = diff(this.rcvNxt, s);
        if (skip < d.length) this.deliver(d.subarray(skip));
        progress = true;
      }
    }
    if (hadHoles || (seg.flags & TCP_PSH && this.o.delAckMs === 0)) return this.sendAck();
    this.owe();
  }

  private deliver(data: Uint8Array): void {
    this.rcvNxt = add(this.rcvNxt, data.length);
    this.stats.bytesIn += data.length;
    if (this.paused) this.unread.push(Uint8Array.from(data));
    else this.ev.onData?.(data);
  }

  /** The peer's FIN once every byte before it has arrived. */
  private checkFin(): void {
    if (this.peerFin === undefined || this.peerFin !== this.rcvNxt) return;
    if (!['SYN_RECEIVED', 'ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2'].includes(this.state)) return;
    this.rcvNxt = add(this.rcvNxt, 1);
    this.sendAck();
    if (this.state === 'ESTABLISHED' || this.state === 'SYN_RECEIVED') this.state = 'CLOSE_WAIT';
    else if (this.state === 'FIN_WAIT_1') this.state = this.sndUna === add(this.finSeq(), 1) ? 'TIME_WAIT' : 'CLOSING';
    else if (this.state === 'FIN_WAIT_2') this.state = 'TIME_WAIT';
    this.maybeEnd();
    if (this.state === 'TIME_WAIT') this.enterTimeWait();
  }

  private maybeEnd(): void {
    if (this.ended || this.paused || this.unread.length > 0) return;
    if (!['CLOSE_WAIT', 'CLOSING', 'LAST_ACK', 'TIME_WAIT'].includes(this.state)) return;
    this.ended = true;
    this.ev.onEnd?.();
  }

  // ---- segments out --------------------------------------------------------------------------

  private finSeq(): number {
    return add(this.bufSeq, this.sndq.length);
  }

  private rcvWindow(): number {
    return Math.max(0, this.o.rcvBuf - this.unread.length);
  }

  private emit(seg: TcpOut): void {
    this.stats.segsOut++;
    this.output(seg);
  }

  private sendSyn(): void {
    const flags = this.state === 'SYN_SENT' ? TCP_SYN : TCP_SYN | TCP_ACK;
    this.advertised = this.rcvWindow();
    this.emit({ seq: this.iss, ack: this.state === 'SYN_SENT' ? 0 : this.rcvNxt, flags, window: this.advertised, mss: this.o.mss, payload: new Uint8Array(0) });
    if (this.sndMax === this.iss) this.sndMax = this.sndNxt = add(this.iss, 1);
    if (this.rttSeq === undefined && this.stats.retransmits === 0) {
      this.rttSeq = this.iss;
      this.rttAt = this.clock.now();
    }
    this.armRtx(false);
  }

  private sendAck(): void {
    if (this.state === 'CLOSED' || this.state === 'SYN_SENT') return;
    this.ackOwed = 0;
    this.cancelDelAck?.();
    this.cancelDelAck = undefined;
    this.advertised = this.rcvWindow();
    this.emit({ seq: this.acceptableSeq(), ack: this.rcvNxt, flags: TCP_ACK, window: this.advertised, payload: new Uint8Array(0) });
  }

  /**
   * The sequence number of a segment without data (tcp_acceptable_seq in Linux): the highest
   * sent, not snd.nxt — after a go-back-N the peer may hold more than snd.nxt, and an ACK
   * below its rcv.nxt would be unacceptable to it (each side would answer the other's "old"
   * ACK forever) — but not beyond the peer's window (a zero-window probe it did not take).
   */
  private acceptableSeq(): number {
    const edge = add(this.sndUna, this.sndWnd);
    return le(this.sndMax, edge) ? this.sndMax : edge;
  }

  /** Delayed ACK: every second segment at once, else after delAckMs. */
  private owe(): void {
    this.ackOwed++;
    if (this.ackOwed >= 2 || this.o.delAckMs <= 0) return this.sendAck();
    this.cancelDelAck ??= this.clock.setTimer(this.o.delAckMs, () => {
      this.cancelDelAck = undefined;
      if (this.ackOwed > 0) this.sendAck();
    });
  }

  /** After the reader takes data: tell the peer when the window has opened usefully (SWS avoidance). */
  private windowUpdate(): void {
    const w = this.rcvWindow();
    if (w - this.advertised >= Math.min(this.o.rcvBuf / 2, this.o.mss)) this.sendAck();
  }

  /** Send what the windows allow: data, then FIN. */
  private transmit(): void {
    if (!['ESTABLISHED', 'CLOSE_WAIT', 'FIN_WAIT_1', 'CLOSING', 'LAST_ACK'].includes(this.state)) return;
    for (;;) {
      const offset = diff(this.sndNxt, this.bufSeq);
      const pending = this.sndq.length - offset;
      const usable = diff(add(this.sndUna, Math.min(this.sndWnd, this.cwnd)), this.sndNxt);
      if (pending > 0) {
        let len = Math.min(pending, this.sendMss, usable);
        if (len <= 0) {
          // Zero window and nothing in flight: probe with one byte (persist), retried on the RTO.
          if (this.sndWnd === 0 && this.sndNxt === this.sndUna) len = 1;
          else break;
        } else if (len < this.sendMss && len < pending && len < this.maxSndWnd / 2) break; // sender SWS
        this.sendData(offset, len);
        continue;
      }
      if (this.finQueued && this.sndNxt === this.finSeq()) {
        this.emit({ seq: this.sndNxt, ack: this.rcvNxt, flags: TCP_FIN | TCP_ACK, window: (this.advertised = this.rcvWindow()), payload: new Uint8Array(0) });
        this.ackOwed = 0;
        this.advance(1);
        if (this.state === 'ESTABLISHED') this.state = 'FIN_WAIT_1';
        else if (this.state === 'CLOSE_WAIT') this.state = 'LAST_ACK';
      }
      break;
    }
  }

  private sendData(offset: number, len: number): void {
    const payload = this.sndq.peek(offset, len);
    const last = offset + len === this.sndq.length;
    const retransmit = lt(this.sndNxt, this.sndMax);
    if (retransmit) this.stats.retransmits++;
    this.stats.bytesOut += len;
    this.advertised = this.rcvWindow();
    this.ackOwed = 0;
    this.cancelDelAck?.();
    this.cancelDelAck = undefined;
    this.emit({ seq: this.sndNxt, ack: this.rcvNxt, flags: TCP_ACK | (last ? TCP_PSH : 0), window: this.advertised, payload });
    if (!retransmit && this.rttSeq === undefined) {
      this.rttSeq = this.sndNxt;
      this.rttAt = this.clock.now();
    }
    this.advance(len);
  }

  private advance(n: number): void {
    this.sndNxt = add(this.sndNxt, n);
    if (lt(this.sndMax, this.sndNxt)) this.sndMax = this.sndNxt;
    this.armRtx(false);
  }

  // ---- timers --------------------------------------------------------------------------------

  private armRtx(restart: boolean): void {
    if (this.cancelRtx && !restart) return;
    this.cancelRtx?.();
    this.cancelRtx = this.clock.setTimer(this.rto, () => this.onRtxTimeout());
  }

  private stopRtx(): void {
    this.cancelRtx?.();
    this.cancelRtx = undefined;
  }

  private onRtxTimeout(): void {
    this.cancelRtx = undefined;
    const now = this.clock.now();
    const opening = this.state === 'SYN_SENT' || this.state === 'SYN_RECEIVED';
    if (opening ? now - this.openedAt >= this.o.connectTimeoutMs : now - this.lastHeard >= this.o.userTimeoutMs) {
      return this.abort(new TcpError('ETIMEDOUT', opening ? 'connection timed out' : 'no acknowledgement for too long: connection timed out'));
    }
    this.rttSeq = undefined; // Karn: no sample from a retransmitted segment
    this.rto = Math.min(this.rto * 2, this.o.rtoMaxMs);
    if (opening) {
      this.stats.retransmits++;
      return this.sendSyn();
    }
    // Go back N: resend from snd.una with one segment of window (RFC 5681 §3.1).
    const flight = diff(this.sndMax, this.sndUna);
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.sendMss);
    this.cwnd = this.sendMss;
    this.recover = undefined;
    this.dupAcks = 0;
    this.sndNxt = this.sndUna; // sendData counts each resent segment
    this.transmit();
    if (!this.cancelRtx && this.sndUna !== this.sndMax) this.armRtx(false);
  }

  private startTimeWait(): void {
    this.cancelTimeWait?.();
    this.cancelTimeWait = this.clock.setTimer(this.o.timeWaitMs, () => this.finish());
  }

  private enterTimeWait(): void {
    this.state = 'TIME_WAIT';
    this.stopRtx();
    this.maybeEnd();
    this.fireClose();
    this.startTimeWait();
  }

  // ---- congestion control and RTT -------------------------------------------------------------

  private setPeerMss(mss: number | undefined): void {
    this.sendMss = Math.max(64, Math.min(this.o.mss, mss ?? 536));
    this.cwnd = Math.min(4 * this.sendMss, Math.max(2 * this.sendMss, 4380));
  }

  private sampleRtt(ack: number): void {
    if (this.rttSeq === undefined || !lt(this.rttSeq, ack)) return;
    const r = Math.max(0, this.clock.now() - this.rttAt);
    this.rttSeq = undefined;
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
  }

  private rtoFromSrtt(): number {
    if (this.srtt === undefined) return this.o.rtoInitialMs;
    return Math.min(this.o.rtoMaxMs, Math.max(this.o.rtoMinMs, this.srtt + Math.max(1, 4 * this.rttvar)));
  }

  private growCwnd(acked: number, ack: number): void {
    if (this.recover !== undefined) {
      if (lt(ack, this.recover)) {
        // NewReno partial ACK: the next hole is lost too; resend it now.
        this.retransmitHead();
        return;
      }
      this.recover = undefined;
      this.cwnd = this.ssthresh;
      return;
    }
    if (this.cwnd < this.ssthresh) this.cwnd += Math.min(acked, this.sendMss);
    else this.cwnd += Math.max(1, Math.floor((this.sendMss * this.sendMss) / this.cwnd));
  }

  private onDupAck(): void {
    if (++this.dupAcks !== 3 || this.recover !== undefined) return;
    const flight = diff(this.sndMax, this.sndUna);
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.sendMss);
    this.cwnd = this.ssthresh;
    this.recover = this.sndMax;
    this.retransmitHead();
  }

  /** Resend the segment at snd.una (fast retransmit). */
  private retransmitHead(): void {
    const offset = diff(this.sndUna, this.bufSeq);
    const len = Math.min(this.sendMss, this.sndq.length - offset);
    const saved = this.sndNxt;
    if (len > 0) {
      this.sndNxt = this.sndUna;
      this.sendData(offset, len);
      if (lt(this.sndNxt, saved)) this.sndNxt = saved;
    } else if (this.finQueued && this.sndUna === this.finSeq()) {
      this.emit({ seq: this.sndUna, ack: this.rcvNxt, flags: TCP_FIN | TCP_ACK, window: this.rcvWindow(), payload: new Uint8Array(0) });
    }
    this.armRtx(true);
  }

  // ---- the end -------------------------------------------------------------------------------

  private fireClose(err?: TcpError): void {
    if (this.closedFired) return;
    this.closedFired = true;
    this.ev.onClose?.(err);
  }

  private finish(err?: TcpError): void {
    const was = this.state;
    this.state = 'CLOSED';
    this.stopRtx();
    this.cancelDelAck?.();
    this.cancelTimeWait?.();
    this.cancelDelAck = this.cancelTimeWait = undefined;
    this.ooo.clear();
    if (was !== 'CLOSED' || !this.closedFired) {
      this.fireClose(err);
      this.onFinished();
    }
  }
}
