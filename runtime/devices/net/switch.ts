/**
 * The host's virtual switch: a learning Ethernet bridge (IEEE 802.1D transparent bridging)
 * over every connected vif on the host and "uplink" ports (the controller's gateway, later
 * other hosts). A frame's source MAC is learned on its ingress port; a known unicast
 * destination goes to its one port, an unknown one or a group address floods to every port
 * but the ingress; entries age out after 300 s (802.1D's default ageing time). A vif port is
 * locked to its configured MAC (a static entry; frames with another source are dropped), so a
 * guest cannot take over another's address.
 *
 * Forwarding is iterative: a port that answers synchronously (a gateway replying to ARP)
 * enqueues, and the outer call drains, so no delivery recurses.
 */
import { ETH_HLEN, ETH_MAX_FRAME } from './netif.ts';
import { formatMac, parseMac } from './addressing.ts';

export interface PortCounters {
  /** frames and bytes the port put on the switch */
  inFrames: number;
  inBytes: number;
  /** frames and bytes the switch handed to the port */
  outFrames: number;
  outBytes: number;
  /** frames from the port refused: malformed, oversize, or a source MAC it may not use */
  inDropped: number;
  /** frames for the port its deliver callback refused (threw) */
  outDropped: number;
}

export interface SwitchPort {
  readonly id: number;
  readonly name: string;
  readonly counters: PortCounters;
  /** Put a frame on the segment from this port. */
  send(frame: Uint8Array): void;
  /** Detach the port (its learned entries go with it). */
  close(): void;
}

export interface SwitchOptions {
  /** Time in ns (the host clock). */
  now: () => number;
  /** Ageing time, ns (default 300 s). */
  agingNs?: number;
  /** Forwarding-table entries kept at most (a MAC flood cannot grow it without bound). */
  maxEntries?: number;
}

interface Port extends SwitchPort {
  deliver: (frame: Uint8Array) => void;
  lockedMac: number | undefined;
  open: boolean;
}

interface Entry {
  port: Port;
  at: number;
  static: boolean;
}

/** 48-bit MAC at `off` as a number (exact in a double). */
export function macKey(b: Uint8Array, off = 0): number {
  const lo = ((b[off + 2]! << 24) | (b[off + 3]! << 16) | (b[off + 4]! << 8) | b[off + 5]!) >>> 0;
  return (b[off]! * 256 + b[off + 1]!) * 2 ** 32 + lo;
}

const isGroup = (b: Uint8Array, off: number): boolean => (b[off]! & 1) === 1;

export class VirtualSwitch {
  private readonly portsById = new Map<number, Port>();
  private readonly fdb = new Map<number, Entry>();
  private nextId = 1;
  private readonly queue: { from: Port; frame: Uint8Array }[] = [];
  private forwarding = false;
  private readonly agingNs: number;
  private readonly maxEntries: number;
  /** frames flooded because the destination was unknown or a group address */
  flooded = 0;

  constructor(private readonly opts: SwitchOptions) {
    this.agingNs = opts.agingNs ?? 300e9;
    this.maxEntries = opts.maxEntries ?? 4096;
  }

  /** Add a port; `mac` locks it to that source address and pins it in the table. */
  addPort(name: string, deliver: (frame: Uint8Array) => void, opts: { mac?: string } = {}): SwitchPort {
    const mac = opts.mac === undefined ? undefined : parseMac(opts.mac);
    if (opts.mac !== undefined && !mac) throw new Error(`bad MAC ${opts.mac}`);
    const counters: PortCounters = { inFrames: 0, inBytes: 0, outFrames: 0, outBytes: 0, inDropped: 0, outDropped: 0 };
    const port: Port = {
      id: this.nextId++,
      name,
      counters,
      deliver,
      lockedMac: mac ? macKey(mac) : undefined,
      open: true,
      send: (frame) => this.ingress(port, frame),
      close: () => this.removePort(port),
    };
    this.portsById.set(port.id, port);
    if (port.lockedMac !== undefined) this.fdb.set(port.lockedMac, { port, at: 0, static: true });
    return port;
  }

  private removePort(port: Port): void {
    if (!port.open) return;
    port.open = false;
    this.portsById.delete(port.id);
    for (const [k, e] of this.fdb) if (e.port === port) this.fdb.delete(k);
  }

  /** The forwarding table, for `describe` and tests. */
  table(): { mac: string; port: string; static: boolean; ageNs: number }[] {
    const now = this.opts.now();
    const out: { mac: string; port: string; static: boolean; ageNs: number }[] = [];
    for (const [k, e] of this.fdb) {
      const b = new Uint8Array(6);
      for (let i = 5, v = k; i >= 0; i--, v = Math.floor(v / 256)) b[i] = v % 256;
      out.push({ mac: formatMac(b), port: e.port.name, static: e.static, ageNs: e.static ? 0 : now - e.at });
    }
    return out;
  }

  ports(): SwitchPort[] {
    return [...this.portsById.values()];
  }

  private ingress(from: Port, frame: Uint8Array): void {
    if (!from.open) return;
    if (frame.length < ETH_HLEN || frame.length > ETH_MAX_FRAME || isGroup(frame, 6)) {
      from.counters.inDropped++;
      return;
    }
    if (from.lockedMac !== undefined && macKey(frame, 6) !== from.lockedMac) {
      from.counters.inDropped++;
      return;
    }
    from.counters.inFrames++;
    from.counters.inBytes += frame.length;
    this.queue.push({ from, frame });
    if (this.forwarding) return;
    this.forwarding = true;
    try {
      for (let item = this.queue.shift(); item; item = this.queue.shift()) this.forward(item.from, item.frame);
    } finally {
      this.forwarding = false;
    }
  }

  private forward(from: Port, frame: Uint8Array): void {
    const now = this.opts.now();
    this.learn(macKey(frame, 6), from, now);
    if (!isGroup(frame, 0)) {
      const e = this.fdb.get(macKey(frame, 0));
      if (e && (e.static || now - e.at <= this.agingNs)) {
        if (e.port !== from) this.output(e.port, frame); // else: filtered (the station is on the ingress side)
        return;
      }
    }
    this.flooded++;
    for (const p of this.portsById.values()) if (p !== from) this.output(p, frame);
  }

  private learn(src: number, port: Port, now: number): void {
    const e = this.fdb.get(src);
    if (e) {
      if (e.static) return; // a pinned address does not move
      e.port = port;
      e.at = now;
      return;
    }
    if (this.fdb.size >= this.maxEntries) this.expire(now);
    if (this.fdb.size >= this.maxEntries) return;
    this.fdb.set(src, { port, at: now, static: false });
  }

  private expire(now: number): void {
    for (const [k, e] of this.fdb) if (!e.static && now - e.at > this.agingNs) this.fdb.delete(k);
  }

  private output(p: Port, frame: Uint8Array): void {
    try {
      p.deliver(frame);
      p.counters.outFrames++;
      p.counters.outBytes += frame.length;
    } catch {
      p.counters.outDropped++;
    }
  }
}
