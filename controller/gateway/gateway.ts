/**
 * The gateway (DESIGN.md §5): a node on the emulated segment — 10.0.0.1, MAC 00:16:3e:00:00:01
 * (runtime/devices/net/README.md) — that accepts clients on 127.0.0.1 ports and, for each
 * client, opens its own TCP connection to the guest's IP and port and relays the bytes both
 * ways. It belongs to the controller, so no two hosts fight over a port and it outlives any
 * one host; its links to the segment are hosts' uplinks (HypervisorApi's NetworkApi.uplink()),
 * joined by a learning bridge (bridge.ts) so that several hosts form one segment, and each
 * swapped when its host agent restarts. Because it speaks TCP itself, a guest that
 * pauses or moves loses nothing: unacknowledged bytes are retransmitted until it answers.
 *
 * Backpressure both ways: a client that sends faster than the guest takes is paused once the
 * connection's send buffer is full; a client that reads slowly closes the guest's window
 * (pauseReading), so memory per connection stays bounded by the two buffers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { GATEWAY_IP, GATEWAY_MAC, ipForMac, type FrameLink } from '../../runtime/api.ts';
import { IpNode } from './node.ts';
import { LearningBridge } from './bridge.ts';
import { realClock, type TcpClock, type TcpConnection, type TcpEvents, type TcpOptions } from './tcp.ts';

export interface GatewayOptions {
  ip?: string;
  mac?: string;
  /** where forwarded ports listen (default 127.0.0.1) */
  bindHost?: string;
  clock?: TcpClock;
  /** TCP settings for connections to guests */
  tcp?: TcpOptions;
  log?: (line: string) => void;
}

/** A forwarded port: host 127.0.0.1:hostPort → guest (by IP, or by MAC under the segment's scheme):port. */
export interface ForwardSpec {
  hostPort: number;
  guest: { ip?: string; mac?: string; port: number };
}

export interface ForwardInfo {
  hostPort: number;
  guestIp: string;
  guestPort: number;
  active: number;
  total: number;
  failed: number;
  bytesToGuest: number;
  bytesFromGuest: number;
}

interface Forward {
  server: Server;
  info: ForwardInfo;
  sockets: Set<Socket>;
}

/** Guest connections: patient with a paused or moving guest, but a dead one fails the client in 30 s. */
const GUEST_TCP: TcpOptions = { connectTimeoutMs: 30_000, userTimeoutMs: 120_000, timeWaitMs: 30_000 };

export class GatewayError extends Error {
  constructor(readonly code: 'EINVAL' | 'EADDRINUSE' | 'ENOENT', message: string) {
    super(message);
  }
}

/** The uplink name `attach(link)` uses when none is given (one host). */
export const DEFAULT_UPLINK = 'default';

export class Gateway {
  readonly node: IpNode;
  /** joins the hosts' uplinks and the node (bridge.ts) */
  readonly bridge: LearningBridge;
  private readonly forwards = new Map<number, Forward>();
  private readonly log: (line: string) => void;

  constructor(private readonly opts: GatewayOptions = {}) {
    this.log = opts.log ?? (() => undefined);
    const mac = opts.mac ?? GATEWAY_MAC;
    this.node = new IpNode({ mac, ip: opts.ip ?? GATEWAY_IP, clock: opts.clock, tcp: { ...GUEST_TCP, ...opts.tcp } });
    this.bridge = new LearningBridge({ mac, now: () => (opts.clock ?? realClock).now() });
    this.node.attach(this.bridge.local);
  }

  /**
   * Join the segment through a host's uplink, named for the host (again, after its host agent
   * restarted: an uplink of the same name is replaced). The gateway announces itself on it.
   */
  attach(link: FrameLink, name: string = DEFAULT_UPLINK): void {
    this.bridge.attach(name, link);
    this.node.announce();
  }

  /** Leave a host's uplink (closing it); what the bridge learned there is forgotten. */
  detach(name: string = DEFAULT_UPLINK): boolean {
    return this.bridge.detach(name);
  }

  /** Whether any uplink is open. */
  get attached(): boolean {
    return this.bridge.uplinks().some((u) => !u.closed);
  }

  /** Listen on bindHost:hostPort (0 picks a free port) and relay to the guest. Returns the port. */
  async forward(spec: ForwardSpec): Promise<number> {
    const guestIp = spec.guest.ip ?? (spec.guest.mac !== undefined ? ipForMac(spec.guest.mac) : undefined);
    if (!guestIp) throw new GatewayError('EINVAL', `forward ${spec.hostPort}: the guest needs an IP or a Xen MAC (00:16:3e:…), not ${JSON.stringify(spec.guest)}`);
    if (!(Number.isInteger(spec.guest.port) && spec.guest.port > 0 && spec.guest.port < 65536)) throw new GatewayError('EINVAL', `forward ${spec.hostPort}: bad guest port ${spec.guest.port}`);
    if (this.forwards.has(spec.hostPort)) throw new GatewayError('EADDRINUSE', `port ${spec.hostPort} is already forwarded`);
    const info: ForwardInfo = { hostPort: spec.hostPort, guestIp, guestPort: spec.guest.port, active: 0, total: 0, failed: 0, bytesToGuest: 0, bytesFromGuest: 0 };
    const fwd: Forward = { server: createServer({ allowHalfOpen: true }), info, sockets: new Set() };
    fwd.server.on('connection', (sock) => this.relay(fwd, sock));
    await new Promise<void>((resolve, reject) => {
      fwd.server.once('error', (e: NodeJS.ErrnoException) => reject(new GatewayError(e.code === 'EADDRINUSE' ? 'EADDRINUSE' : 'EINVAL', `cannot listen on ${this.opts.bindHost ?? '127.0.0.1'}:${spec.hostPort}: ${e.message}`)));
      fwd.server.listen(spec.hostPort, this.opts.bindHost ?? '127.0.0.1', () => resolve());
    });
    const addr = fwd.server.address();
    info.hostPort = typeof addr === 'object' && addr ? addr.port : spec.hostPort;
    this.forwards.set(info.hostPort, fwd);
    this.log(`gateway: ${this.opts.bindHost ?? '127.0.0.1'}:${info.hostPort} → ${guestIp}:${info.guestPort}`);
    return info.hostPort;
  }

  /** Stop forwarding a port; its open connections are reset. */
  async unforward(hostPort: number): Promise<void> {
    const fwd = this.forwards.get(hostPort);
    if (!fwd) throw new GatewayError('ENOENT', `port ${hostPort} is not forwarded`);
    this.forwards.delete(hostPort);
    for (const s of fwd.sockets) s.destroy();
    await new Promise<void>((r) => fwd.server.close(() => r()));
  }

  list(): ForwardInfo[] {
    return [...this.forwards.values()].map((f) => ({ ...f.info }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.forwards.keys()].map((p) => this.unforward(p)));
    this.node.close();
    this.bridge.close();
  }

  private relay(fwd: Forward, sock: Socket): void {
    const info = fwd.info;
    info.active++;
    info.total++;
    fwd.sockets.add(sock);
    sock.setNoDelay(true);
    let clientEnded = false;
    let guestEnded = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      info.active--;
      fwd.sockets.delete(sock);
    };
    const ev: TcpEvents = {
      onData: (chunk) => {
        info.bytesFromGuest += chunk.length;
        if (!sock.write(chunk)) conn.pauseReading(); // the guest's window closes until the client reads
      },
      onEnd: () => {
        guestEnded = true;
        sock.end();
      },
      onDrain: () => sock.resume(),
      onClose: (err) => {
        if (err) {
          if (err.code !== 'ECONNABORTED') {
            info.failed++;
            this.log(`gateway: ${info.hostPort} → ${info.guestIp}:${info.guestPort}: ${err.message}`);
          }
          sock.destroy();
          finish();
        } else if (!sock.writableEnded) sock.end();
      },
    };
    let conn: TcpConnection;
    try {
      conn = this.node.connect(info.guestIp, info.guestPort, ev);
    } catch (e) {
      info.failed++;
      finish();
      sock.destroy();
      return this.log(`gateway: ${info.hostPort}: ${(e as Error).message}`);
    }
    sock.on('drain', () => conn.resumeReading());
    sock.on('data', (d: Buffer) => {
      info.bytesToGuest += d.length;
      if (!conn.write(new Uint8Array(d.buffer, d.byteOffset, d.length))) sock.pause();
    });
    sock.on('end', () => {
      clientEnded = true;
      conn.end();
    });
    sock.on('error', () => undefined); // 'close' follows
    sock.on('close', () => {
      // A client gone before both directions closed cleanly: reset the guest's side.
      if (!(clientEnded && guestEnded) && conn.state !== 'CLOSED') conn.abort();
      finish();
    });
  }
}
