/**
 * Frames over a byte stream: how an uplink port of the switch reaches a process outside the
 * host (the controller's gateway, through the host agent's /v1/net/uplink upgrade, and later
 * other hosts). Each frame travels as a 2-byte big-endian length then the Ethernet frame
 * (14–1514 bytes, no FCS). A length outside that range is a protocol error: the stream is
 * closed. A writer that falls more than `maxBuffered` bytes behind loses frames, as a full
 * NIC queue does; TCP above recovers them.
 */
import type { Duplex } from 'node:stream';
import { ETH_HLEN, ETH_MAX_FRAME } from './netif.ts';

/** One end of a frame link (api.ts re-exports it as the gateway's view of the segment). */
export interface FrameLink {
  /** Put a frame on the segment; false if it was dropped (closed link, or congested). */
  send(frame: Uint8Array): boolean;
  /** Frames from the segment. */
  onFrame(fn: (frame: Uint8Array) => void): void;
  /** The link went away (err when it broke). */
  onClose(fn: (err?: Error) => void): void;
  close(): void;
  readonly closed: boolean;
}

export function encodeFrame(frame: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(2 + frame.length);
  out.writeUInt16BE(frame.length, 0);
  out.set(frame, 2);
  return out;
}

/** Splits a byte stream into frames; throws on a length no frame can have. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): Uint8Array[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    const out: Uint8Array[] = [];
    let at = 0;
    while (this.buf.length - at >= 2) {
      const n = this.buf.readUInt16BE(at);
      if (n < ETH_HLEN || n > ETH_MAX_FRAME) throw new Error(`frame length ${n} is outside ${ETH_HLEN}–${ETH_MAX_FRAME}`);
      if (this.buf.length - at < 2 + n) break;
      out.push(Uint8Array.prototype.slice.call(this.buf, at + 2, at + 2 + n));
      at += 2 + n;
    }
    this.buf = this.buf.subarray(at);
    return out;
  }
}

/** A frame link over a socket-like stream. */
export class StreamFrameLink implements FrameLink {
  private readonly frameFns: ((f: Uint8Array) => void)[] = [];
  private readonly closeFns: ((err?: Error) => void)[] = [];
  private isClosed = false;
  private closeErr: Error | undefined;
  /** frames dropped because the stream was too far behind */
  dropped = 0;

  constructor(
    private readonly stream: Duplex,
    private readonly maxBuffered = 1 << 20,
    head?: Uint8Array,
  ) {
    const dec = new FrameDecoder();
    const onData = (chunk: Uint8Array) => {
      let frames: Uint8Array[];
      try {
        frames = dec.push(chunk);
      } catch (e) {
        return this.finish(e as Error);
      }
      for (const f of frames) for (const fn of this.frameFns) fn(f);
    };
    stream.on('data', onData);
    stream.on('error', (e) => this.finish(e));
    stream.on('close', () => this.finish());
    stream.on('end', () => this.finish());
    if (head && head.length) queueMicrotask(() => onData(head));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(frame: Uint8Array): boolean {
    if (this.isClosed || frame.length < ETH_HLEN || frame.length > ETH_MAX_FRAME) return false;
    if (this.stream.writableLength > this.maxBuffered) {
      this.dropped++;
      return false;
    }
    this.stream.write(encodeFrame(frame));
    return true;
  }

  onFrame(fn: (frame: Uint8Array) => void): void {
    this.frameFns.push(fn);
  }

  onClose(fn: (err?: Error) => void): void {
    if (this.isClosed) queueMicrotask(() => fn(this.closeErr));
    else this.closeFns.push(fn);
  }

  close(): void {
    this.finish();
  }

  private finish(err?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeErr = err;
    this.stream.destroy();
    for (const fn of this.closeFns.splice(0)) fn(err);
  }
}

/**
 * A link joined directly to a switch port in the same process. Frames from the switch are
 * handed on in a microtask, never inside the send that produced them: a TCP stack behind the
 * link must not be re-entered while it is still transmitting (a socket never does that either).
 */
export class PortFrameLink implements FrameLink {
  private readonly frameFns: ((f: Uint8Array) => void)[] = [];
  private readonly closeFns: ((err?: Error) => void)[] = [];
  private isClosed = false;
  private queue: Uint8Array[] = [];
  /** frames dropped because the reader fell more than `maxQueued` behind */
  dropped = 0;

  constructor(
    private readonly port: { send(f: Uint8Array): void; close(): void },
    private readonly maxQueued = 4096,
  ) {}

  /** The switch delivers here (pass as the port's deliver callback). */
  receive(frame: Uint8Array): void {
    if (this.isClosed) return;
    if (this.queue.length >= this.maxQueued) {
      this.dropped++;
      return;
    }
    this.queue.push(frame);
    if (this.queue.length === 1) queueMicrotask(() => this.flush());
  }

  private flush(): void {
    const frames = this.queue;
    this.queue = [];
    for (const f of frames) {
      if (this.isClosed) return;
      for (const fn of this.frameFns) fn(f);
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(frame: Uint8Array): boolean {
    if (this.isClosed) return false;
    this.port.send(frame);
    return true;
  }

  onFrame(fn: (frame: Uint8Array) => void): void {
    this.frameFns.push(fn);
  }

  onClose(fn: (err?: Error) => void): void {
    if (this.isClosed) queueMicrotask(() => fn());
    else this.closeFns.push(fn);
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.port.close();
    for (const fn of this.closeFns.splice(0)) fn();
  }
}
