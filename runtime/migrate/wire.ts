/**
 * The live-migration stream between two host agents: typed, length-prefixed messages over one
 * TCP connection (the host agent's `POST /v1/migrations/incoming` upgraded to
 * `xenoform-migrate`). Like libxc's migration stream (docs/specs/libxc-migration-stream.pandoc)
 * it is a sequence of records; unlike it, every record carries a SHA-256 of its payload, so a
 * page damaged in transit is refused instead of becoming guest memory.
 *
 *   type u8 | payload length u32 LE | SHA-256 of payload (32) | payload
 *
 * Source → target: HELLO (json), PAGES (n × [pfn u32 LE | 4096 bytes]), DISK (disks.ts), SYNC (before the
 * stop: has everything so far arrived?), FINAL (a save image, image.ts, whose pages section
 * holds the page tables only), COMMIT, ABORT (json).
 * Target → source: READY (json), SYNCED, PREPARED, ACTIVE (json), ERROR (json {code, message}).
 */
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';

export const MSG = {
  HELLO: 1, PAGES: 2, DISK: 3, FINAL: 4, COMMIT: 5, ABORT: 6, SYNC: 7,
  READY: 16, PREPARED: 17, ACTIVE: 18, ERROR: 19, SYNCED: 20,
} as const;
export type MessageType = (typeof MSG)[keyof typeof MSG];
const NAMES = new Map<number, string>(Object.entries(MSG).map(([k, v]) => [v, k]));
export const messageName = (t: number): string => NAMES.get(t) ?? `type ${t}`;

/** A record this large is refused before it is buffered (a FINAL of a 512 MiB domain is ~1 MiB). */
export const MAX_MESSAGE_BYTES = 64 * 2 ** 20;
const HEADER = 1 + 4 + 32;
export const PAGE_RECORD = 4 + 4096;

export interface Message {
  type: number;
  payload: Buffer;
}

export class WireError extends Error {
  constructor(readonly code: 'CLOSED' | 'CHECKSUM' | 'TOO_LARGE' | 'TIMEOUT' | 'PROTOCOL', message: string) {
    super(message);
    this.name = 'WireError';
  }
}

export class MigrationChannel {
  private buf: Buffer = Buffer.alloc(0);
  /** chunks not yet joined to buf: joined only once a whole record is there (no quadratic copying) */
  private parts: Buffer[] = [];
  private partsLen = 0;
  private need = HEADER;
  private readonly queue: Message[] = [];
  private waiter: { resolve: (m: Message) => void; reject: (e: Error) => void } | undefined;
  private failure: WireError | undefined;
  bytesSent = 0;

  constructor(private readonly socket: Duplex, head?: Buffer) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(new WireError('CLOSED', `connection failed: ${e.message}`)));
    socket.on('close', () => this.fail(new WireError('CLOSED', 'the other host closed the connection')));
    // An HTTP server's sockets allow half-open connections: the peer's FIN is only 'end'.
    socket.on('end', () => {
      this.fail(new WireError('CLOSED', 'the other host closed the connection'));
      socket.destroy();
    });
    (socket as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
    if (head?.length) this.onData(head);
  }

  /** The connection is gone (a record that failed its checksum leaves it open for an ERROR). */
  get closed(): boolean {
    return this.socket.destroyed || this.failure?.code === 'CLOSED';
  }

  /** Queue a record; false when the socket's buffer is full (await drained()). */
  send(type: MessageType, payload: Uint8Array = new Uint8Array(0)): boolean {
    if (this.closed) throw this.failure ?? new WireError('CLOSED', 'the connection was closed');
    const h = Buffer.alloc(HEADER);
    h[0] = type;
    h.writeUInt32LE(payload.length, 1);
    createHash('sha256').update(payload).digest().copy(h, 5);
    this.bytesSent += HEADER + payload.length;
    this.socket.write(h);
    return this.socket.write(payload);
  }

  sendJson(type: MessageType, value: unknown): boolean {
    return this.send(type, Buffer.from(JSON.stringify(value)));
  }

  /** Resolves once the socket has room again (or fails with the connection). */
  drained(): Promise<void> {
    if (this.closed) return Promise.reject(this.failure ?? new WireError('CLOSED', 'the connection was closed'));
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => { this.socket.off('drain', done); this.socket.off('close', done); this.failure ? reject(this.failure) : resolve(); };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /** A record already received, if any (the source polls for an ERROR between batches). */
  poll(): Message | undefined {
    return this.queue.shift();
  }

  /** The next record; fails on close, a bad checksum, or after `timeoutMs`. */
  next(timeoutMs = 30_000): Promise<Message> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new WireError('TIMEOUT', `no answer from the other host within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (msg) => { clearTimeout(timer); resolve(msg); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
    });
  }

  /** The next record, which must be of `type` (an ERROR record from the peer is thrown as is). */
  async expect(type: MessageType, timeoutMs?: number): Promise<Message> {
    const m = await this.next(timeoutMs);
    if (m.type === MSG.ERROR && type !== MSG.ERROR) throw peerError(m);
    if (m.type !== type) throw new WireError('PROTOCOL', `expected ${messageName(type)}, got ${messageName(m.type)}`);
    return m;
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
    this.fail(new WireError('CLOSED', 'the connection was closed'));
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    this.parts.push(chunk);
    this.partsLen += chunk.length;
    if (this.buf.length + this.partsLen < this.need) return;
    this.buf = Buffer.concat([this.buf, ...this.parts]);
    this.parts = [];
    this.partsLen = 0;
    this.need = HEADER;
    while (this.buf.length >= HEADER) {
      const len = this.buf.readUInt32LE(1);
      if (len > MAX_MESSAGE_BYTES) return this.abort(new WireError('TOO_LARGE', `a ${messageName(this.buf[0]!)} record of ${len} bytes exceeds ${MAX_MESSAGE_BYTES}`));
      if (this.buf.length < HEADER + len) {
        this.need = HEADER + len;
        return;
      }
      const payload = this.buf.subarray(HEADER, HEADER + len);
      const sum = createHash('sha256').update(payload).digest();
      if (!sum.equals(this.buf.subarray(5, HEADER))) {
        return this.abort(new WireError('CHECKSUM', `a ${messageName(this.buf[0]!)} record failed its checksum (damaged in transit)`));
      }
      const msg = { type: this.buf[0]!, payload: Buffer.from(payload) };
      this.buf = this.buf.subarray(HEADER + len);
      const w = this.waiter;
      this.waiter = undefined;
      if (w) w.resolve(msg);
      else this.queue.push(msg);
    }
  }

  /** A broken stream: the reader learns why and answers ERROR; nothing more is read. */
  private abort(e: WireError): void {
    this.buf = Buffer.alloc(0);
    this.parts = [];
    this.fail(e);
  }

  private fail(e: WireError): void {
    if (this.failure) return;
    this.failure = e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }
}

/** An ERROR record as an Error carrying the peer's code. */
export function peerError(m: Message): Error & { code: string; fromPeer: true } {
  let v: { code?: unknown; message?: unknown } = {};
  try {
    v = JSON.parse(m.payload.toString('utf8'));
  } catch {
    /* a malformed error is still an error */
  }
  const code = typeof v.code === 'string' ? v.code : 'EPROTO';
  return Object.assign(new Error(`target host: ${typeof v.message === 'string' ? v.message : 'refused the migration'}`), { code, fromPeer: true as const });
}

export function parseJson(m: Message): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(m.payload.toString('utf8'));
  } catch {
    throw new WireError('PROTOCOL', `${messageName(m.type)} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new WireError('PROTOCOL', `${messageName(m.type)} is not an object`);
  return v as Record<string, unknown>;
}
