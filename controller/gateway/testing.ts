/**
 * Test-only: a simulated clock and a simulated Ethernet segment between two frame links that
 * drops, duplicates, delays and reorders frames from a seeded random source — so a TCP run
 * over a hostile network is exact, repeatable and takes no real time. Also a small HTTP/1.1
 * responder on an IpNode, standing in for a guest's httpd.
 */
import type { FrameLink } from '../../runtime/api.ts';
import type { TcpClock, TcpConnection } from './tcp.ts';
import type { IpNode } from './node.ts';

export class SimClock implements TcpClock {
  private t = 0;
  private seq = 0;
  private readonly timers: { at: number; seq: number; fn: () => void; live: boolean }[] = [];

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, live: true };
    // Keep sorted by (at, seq): a binary search for the insertion point.
    let lo = 0, hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.timers[mid]!;
      if (m.at < timer.at || (m.at === timer.at && m.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, timer);
    return () => {
      timer.live = false;
    };
  }

  /** Run timers due within `ms`, advancing time to each. */
  advance(ms: number): void {
    const end = this.t + ms;
    this.runUntil(() => false, end);
  }

  /** Run until `done()` holds or time `limit` (absolute); returns whether done. */
  runUntil(done: () => boolean, limit = this.t + 600_000): boolean {
    for (;;) {
      if (done()) return true;
      const next = this.timers.find((x) => x.live);
      while (this.timers.length && !this.timers[0]!.live) this.timers.shift();
      if (!next || next.at > limit) {
        this.t = Math.max(this.t, Math.min(limit, next?.at ?? limit));
        return done();
      }
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
  }
}

/** Park–Miller-style seeded generator in [0, 1). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 48271) >>> 0) % 0x7fffffff;
    return s / 0x7fffffff;
  };
}

export interface Impairment {
  loss?: number;
  dup?: number;
  /** probability a frame is held back by extra delay (so later frames overtake it) */
  reorder?: number;
  delayMs?: number;
  jitterMs?: number;
  /** while true, every frame is lost (a paused or migrating guest) */
  down?: () => boolean;
}

class SimEnd implements FrameLink {
  frameFns: ((f: Uint8Array) => void)[] = [];
  closeFns: ((e?: Error) => void)[] = [];
  closed = false;
  peer!: SimEnd;
  sent = 0;
  lost = 0;

  constructor(
    private readonly clock: SimClock,
    private readonly rnd: () => number,
    private readonly imp: Impairment,
  ) {}

  send(frame: Uint8Array): boolean {
    if (this.closed) return false;
    this.sent++;
    const i = this.imp;
    if (i.down?.() || this.rnd() < (i.loss ?? 0)) {
      this.lost++;
      return true;
    }
    const copies = this.rnd() < (i.dup ?? 0) ? 2 : 1;
    for (let k = 0; k < copies; k++) {
      let delay = (i.delayMs ?? 1) + this.rnd() * (i.jitterMs ?? 0);
      if (this.rnd() < (i.reorder ?? 0)) delay += (i.delayMs ?? 1) * 3 + 2;
      const copy = Uint8Array.from(frame);
      this.clock.setTimer(delay, () => {
        if (!this.peer.closed) for (const fn of this.peer.frameFns) fn(copy);
      });
    }
    return true;
  }

  onFrame(fn: (f: Uint8Array) => void): void {
    this.frameFns.push(fn);
  }

  onClose(fn: (e?: Error) => void): void {
    this.closeFns.push(fn);
  }

  close(): void {
    this.closed = true;
    for (const fn of this.closeFns) fn();
  }
}

/** Two links joined by an impaired wire (each direction impaired as given). */
export function simWire(clock: SimClock, rnd: () => number, aToB: Impairment = {}, bToA: Impairment = aToB): [SimEnd, SimEnd] {
  const a = new SimEnd(clock, rnd, aToB);
  const b = new SimEnd(clock, rnd, bToA);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Collect a connection's received bytes. */
export function collect(c: TcpConnection): { data: () => Buffer; ended: () => boolean } {
  const parts: Uint8Array[] = [];
  let ended = false;
  const prev = c.ev;
  c.ev = { ...prev, onData: (d) => parts.push(Uint8Array.from(d)), onEnd: () => (ended = true) };
  return { data: () => Buffer.concat(parts), ended: () => ended };
}

/** Deterministic bytes. */
export function pattern(n: number, seed = 1): Uint8Array {
  const r = seeded(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

/**
 * An HTTP/1.1 responder on `node`:`port` (keep-alive, Content-Length bodies): GET /big?n=N
 * answers N bytes of pattern(N); POST /echo answers the body's length and checksum; any other
 * GET answers a small JSON document. It plays a guest's httpd for the gateway's tests.
 */
export function httpResponder(node: IpNode, port = 80): { requests: () => number } {
  let requests = 0;
  node.listen(port, (c) => {
    let buf = Buffer.alloc(0);
    c.ev.onData = (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const head = buf.indexOf('\r\n\r\n');
        if (head < 0) return;
        const lines = buf.subarray(0, head).toString('latin1').split('\r\n');
        const [method, path] = lines[0]!.split(' ');
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(`\r\n${lines.slice(1).join('\r\n')}`)?.[1] ?? 0);
        if (buf.length < head + 4 + len) return;
        const body = buf.subarray(head + 4, head + 4 + len);
        buf = buf.subarray(head + 4 + len);
        requests++;
        let out: Uint8Array;
        let type = 'application/json';
        if (method === 'GET' && path!.startsWith('/big')) {
          out = pattern(Number(new URL(path!, 'http://x').searchParams.get('n') ?? 0));
          type = 'application/octet-stream';
        } else if (method === 'POST' && path === '/echo') {
          let sum = 0;
          for (const b of body) sum = (sum * 31 + b) >>> 0;
          out = Buffer.from(JSON.stringify({ length: body.length, sum }));
        } else out = Buffer.from(JSON.stringify({ kernel: 'ts-guest', path, requests }));
        c.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: ${type}\r\nContent-Length: ${out.length}\r\nConnection: keep-alive\r\n\r\n`), out]));
      }
    };
    c.ev.onEnd = () => c.end();
  });
  return { requests: () => requests };
}
