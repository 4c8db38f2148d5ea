/**
 * The emulated Ethernet segment's addressing (README.md "Addressing"): one IPv4 /8, 10.0.0.0,
 * in which a guest interface's address is its MAC's last three octets — 00:16:3e:AA:BB:CC is
 * 10.AA.BB.CC. Xen's OUI 00:16:3e (libxl's default prefix) is required, so the mapping is one
 * to one: two interfaces can share an IP only by sharing a MAC, and a domain keeps its address
 * wherever it runs, since it keeps its MAC (DESIGN.md §5). The gateway is 10.0.0.1 with MAC
 * 00:16:3e:00:00:01; suffixes 00:00:00, 00:00:01 and ff:ff:ff (network, gateway, broadcast)
 * are refused for guests.
 */

export const XEN_OUI = '00:16:3e';
export const SEGMENT_PREFIX = 8;
export const SEGMENT_NETWORK = '10.0.0.0';
export const SEGMENT_NETMASK = '255.0.0.0';
export const SEGMENT_BROADCAST = '10.255.255.255';
export const GATEWAY_IP = '10.0.0.1';
export const GATEWAY_MAC = '00:16:3e:00:00:01';
/** Interfaces a domain may have (libxl has no fixed limit; netfront numbers them 0…). */
export const MAX_INTERFACES = 8;

/** A port the gateway forwards: `host` on 127.0.0.1 to `guest` on the interface's IP. */
export interface PortMapping {
  host: number;
  guest: number;
}

/** One network interface of a domain (DESIGN.md §3 `interfaces`). */
export interface InterfaceSpec {
  /** 00:16:3e:xx:xx:xx */
  mac: string;
  ports?: PortMapping[];
}

export class NetConfigError extends Error {
  readonly code = 'EINVAL';
}

const MAC_RE = /^00:16:3e:([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/;

/** MAC text → 6 bytes (any case, ':' separated). */
export function parseMac(mac: string): Uint8Array | undefined {
  if (typeof mac !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) return undefined;
  return Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16)));
}

export function formatMac(b: Uint8Array, at = 0): string {
  const out: string[] = [];
  for (let i = 0; i < 6; i++) out.push(b[at + i]!.toString(16).padStart(2, '0'));
  return out.join(':');
}

/** The segment address of a guest MAC (10.AA.BB.CC), or undefined if it is not a usable Xen MAC. */
export function ipForMac(mac: string): string | undefined {
  const m = MAC_RE.exec(typeof mac === 'string' ? mac.toLowerCase() : '');
  if (!m) return undefined;
  const [a, b, c] = [m[1]!, m[2]!, m[3]!].map((h) => parseInt(h, 16)) as [number, number, number];
  const suffix = (a << 16) | (b << 8) | c;
  if (suffix === 0 || suffix === 1 || suffix === 0xffffff) return undefined;
  return `10.${a}.${b}.${c}`;
}

/** Validates a domain's interface list; returns it normalised (lower-case MACs). */
export function validateInterfaces(v: unknown): InterfaceSpec[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new NetConfigError('interfaces must be a list');
  if (v.length > MAX_INTERFACES) throw new NetConfigError(`a domain may have at most ${MAX_INTERFACES} interfaces, not ${v.length}`);
  const macs = new Set<string>();
  return v.map((raw, i) => {
    const at = `interfaces[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new NetConfigError(`${at} must be an object {mac, ports}`);
    const { mac, ports } = raw as { mac?: unknown; ports?: unknown };
    const lower = typeof mac === 'string' ? mac.toLowerCase() : '';
    if (!ipForMac(lower)) {
      throw new NetConfigError(`${at}.mac must be a Xen MAC 00:16:3e:xx:xx:xx other than …:00:00:00, …:00:00:01 and …:ff:ff:ff, not ${JSON.stringify(mac)}`);
    }
    if (macs.has(lower)) throw new NetConfigError(`${at}.mac ${lower} is given twice`);
    macs.add(lower);
    const out: InterfaceSpec = { mac: lower };
    if (ports !== undefined) {
      if (!Array.isArray(ports)) throw new NetConfigError(`${at}.ports must be a list of {host, guest}`);
      out.ports = ports.map((p, j) => {
        const { host, guest } = (p ?? {}) as { host?: unknown; guest?: unknown };
        for (const [k, n] of [['host', host], ['guest', guest]] as const) {
          if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
            throw new NetConfigError(`${at}.ports[${j}].${k} must be a TCP port from 1 to 65535, not ${JSON.stringify(n)}`);
          }
        }
        return { host: host as number, guest: guest as number };
      });
    }
    return out;
  });
}
