/**
 * The gateway's learning bridge (IEEE 802.1D transparent bridging): it joins several hosts'
 * uplinks — each a port on that host's switch — and the gateway's own IP node into one
 * Ethernet segment (DESIGN.md §5: "with several [hosts], hosts carry frames to each other").
 * A frame's source MAC is learned on the uplink it came in on; a known unicast destination
 * goes to its one uplink, an unknown one or a group address floods to every uplink but the
 * ingress and to the local node. Unicast for the node's own MAC goes only to the node.
 *
 * The topology is a star (every host joined to this bridge only, never to each other), so no
 * frame can loop and no spanning tree is needed. A domain that moves announces itself with a
 * gratuitous ARP (runtime/devices/net/announce.ts) from its new host; the bridge moves its MAC
 * to that host's uplink on the first frame. Entries age out after 300 s (802.1D's default);
 * those learned on an uplink that is detached or closes go with it.
 */
import type { FrameLink } from '../../runtime/api.ts';

export interface BridgeOptions {
  /** the local node's MAC (unicast for it is not sent to any uplink) */
  mac: string;
  /** time in ms */
  now: () => number;
  /** ageing time, ms (default 300 s) */
  agingMs?: number;
  /** forwarding-table entries kept at most (a MAC flood cannot grow it without bound) */
  maxEntries?: number;
}

export interface UplinkCounters {
  /** frames that came in on the uplink / went out on it */
  inFrames: number;
  outFrames: number;
  /** frames the link refused (closed, or congested) */
  outDropped: number;
}

interface Uplink {
  name: string;
  link: FrameLink;
  counters: UplinkCounters;
}

interface Entry {
  uplink: Uplink;
  at: number;
}

const ETH_HLEN = 14;
const isGroup = (b: Uint8Array, off: number): boolean => (b[off]! & 1) === 1;

/** 48-bit MAC at `off` as a number (exact in a double). */
function macKey(b: Uint8Array, off = 0): number {
  const lo = ((b[off + 2]! << 24) | (b[off + 3]! << 16) | (b[off + 4]! << 8) | b[off + 5]!) >>> 0;
  return (b[off]! * 256 + b[off + 1]!) * 2 ** 32 + lo;
}

function macText(k: number): string {
  const out: string[] = [];
  for (let i = 0, v = k; i < 6; i++, v = Math.floor(v / 256)) out.unshift((v % 256).toString(16).padStart(2, '0'));
  return out.join(':');
}

export class LearningBridge {
  /** The local node's port: give it to IpNode.attach. */
  readonly local: FrameLink;
  private readonly uplinksByName = new Map<string, Uplink>();
  private readonly fdb = new Map<number, Entry>();
  private readonly localMac: number;
  private readonly localFns: ((f: Uint8Array) => void)[] = [];
  private readonly localCloseFns: ((err?: Error) => void)[] = [];
  private readonly agingMs: number;
  private readonly maxEntries: number;
  private isClosed = false;
  /** frames flooded because the destination was unknown or a group address */
  flooded = 0;
  /** frames dropped: runts, group source addresses */
  dropped = 0;

  constructor(private readonly opts: BridgeOptions) {
    const m = opts.mac.split(':').map((h) => parseInt(h, 16));
    this.localMac = macKey(Uint8Array.from(m));
    this.agingMs = opts.agingMs ?? 300_000;
    this.maxEntries = opts.maxEntries ?? 4096;
    const self = this;
    this.local = {
      send: (frame) => self.fromLocal(frame),
      onFrame: (fn) => void self.localFns.push(fn),
      onClose: (fn) => (self.isClosed ? queueMicrotask(() => fn()) : void self.localCloseFns.push(fn)),
      close: () => self.close(),
      get closed() {
        return self.isClosed;
      },
    };
  }

  /**
   * Join an uplink under `name` (a host). One of the same name is replaced: closed, and its
   * entries forgotten. An uplink that closes by itself leaves the bridge with its entries.
   */
  attach(name: string, link: FrameLink): void {
    if (this.isClosed) {
      link.close();
      return;
    }
    this.detach(name);
    const up: Uplink = { name, link, counters: { inFrames: 0, outFrames: 0, outDropped: 0 } };
    this.uplinksByName.set(name, up);
    link.onFrame((f) => {
      if (this.uplinksByName.get(name) === up) this.fromUplink(up, f);
    });
    link.onClose(() => {
      if (this.uplinksByName.get(name) === up) this.remove(up);
    });
  }

  /** Leave the uplink `name` (closing it); its learned entries are dropped. False if there was none. */
  detach(name: string): boolean {
    const up = this.uplinksByName.get(name);
    if (!up) return false;
    this.remove(up);
    up.link.close();
    return true;
  }

  /** Uplinks joined now, with their counters. */
  uplinks(): { name: string; closed: boolean; counters: UplinkCounters }[] {
    return [...this.uplinksByName.values()].map((u) => ({ name: u.name, closed: u.link.closed, counters: { ...u.counters } }));
  }

  /** The forwarding table, for status and tests. */
  table(): { mac: string; uplink: string; ageMs: number }[] {
    const now = this.opts.now();
    return [...this.fdb].map(([k, e]) => ({ mac: macText(k), uplink: e.uplink.name, ageMs: now - e.at }));
  }

  /** Close every uplink and the local port. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const name of [...this.uplinksByName.keys()]) this.detach(name);
    for (const fn of this.localCloseFns.splice(0)) fn();
  }

  private remove(up: Uplink): void {
    this.uplinksByName.delete(up.name);
    for (const [k, e] of this.fdb) if (e.uplink === up) this.fdb.delete(k);
  }

  private fromUplink(from: Uplink, frame: Uint8Array): void {
    if (frame.length < ETH_HLEN || isGroup(frame, 6)) return void this.dropped++;
    from.counters.inFrames++;
    const now = this.opts.now();
    const src = macKey(frame, 6);
    if (src !== this.localMac) this.learn(src, from, now);
    if (!isGroup(frame, 0)) {
      const dst = macKey(frame, 0);
      if (dst === this.localMac) return this.toLocal(frame);
      const e = this.lookup(dst, now);
      if (e) {
        if (e.uplink !== from) this.output(e.uplink, frame); // else filtered: it is on the ingress side
        return;
      }
    }
    this.flooded++;
    this.toLocal(frame);
    for (const up of this.uplinksByName.values()) if (up !== from) this.output(up, frame);
  }

  private fromLocal(frame: Uint8Array): boolean {
    if (this.isClosed) return false;
    if (frame.length < ETH_HLEN) return false;
    if (!isGroup(frame, 0)) {
      const e = this.lookup(macKey(frame, 0), this.opts.now());
      if (e) return this.output(e.uplink, frame);
    }
    this.flooded++;
    let sent = false;
    for (const up of this.uplinksByName.values()) sent = this.output(up, frame) || sent;
    return sent;
  }

  private lookup(mac: number, now: number): Entry | undefined {
    const e = this.fdb.get(mac);
    if (!e) return undefined;
    if (now - e.at > this.agingMs) {
      this.fdb.delete(mac);
      return undefined;
    }
    return e;
  }

  private learn(src: number, up: Uplink, now: number): void {
    const e = this.fdb.get(src);
    if (e) {
      e.uplink = up; // a station that moved: its gratuitous ARP arrives from its new host
      e.at = now;
      return;
    }
    if (this.fdb.size >= this.maxEntries) for (const [k, x] of this.fdb) if (now - x.at > this.agingMs) this.fdb.delete(k);
    if (this.fdb.size >= this.maxEntries) return;
    this.fdb.set(src, { uplink: up, at: now });
  }

  private toLocal(frame: Uint8Array): void {
    for (const fn of this.localFns) fn(frame);
  }

  private output(up: Uplink, frame: Uint8Array): boolean {
    if (up.link.send(frame)) {
      up.counters.outFrames++;
      return true;
    }
    up.counters.outDropped++;
    return false;
  }
}
