/**
 * The host's network: one virtual switch and, per domain, its vifs (vif.ts, netback.ts). The
 * host calls attach() once a domain's xenstore layout exists and detach() before the domain's
 * memory goes; uplinks join other processes (the gateway) to the switch. See README.md.
 */
import { VirtualSwitch } from './switch.ts';
import { Vif, type NetEnv, type VifInfo } from './vif.ts';
import { NetConfigError, validateInterfaces, type InterfaceSpec } from './addressing.ts';
import { PortFrameLink, type FrameLink } from './uplink.ts';
import type { VifCounters } from './netback.ts';

export type { InterfaceSpec, PortMapping } from './addressing.ts';
export type { FrameLink } from './uplink.ts';
export type { VifInfo } from './vif.ts';
export type { VifCounters } from './netback.ts';
export { gratuitousArp } from './announce.ts';
export { NetConfigError, validateInterfaces, ipForMac, GATEWAY_IP, GATEWAY_MAC, SEGMENT_NETMASK } from './addressing.ts';

/** Per-domain totals for xentop (NETS, NETTX, NETRX: bytes the domain sent / received). */
export interface NetTotals {
  nets: number;
  txBytes: number;
  rxBytes: number;
  vifs: VifInfo[];
}

export class NetworkDevices {
  readonly switch: VirtualSwitch;
  private readonly vifs = new Map<number, Vif[]>();
  private nextUplink = 1;

  constructor(private readonly env: Omit<NetEnv, 'switch'>) {
    this.switch = new VirtualSwitch({ now: () => env.now() });
  }

  /** Refuses specs that are invalid or whose MAC is already on this host. */
  check(specs: unknown, domid?: number): InterfaceSpec[] {
    const list = validateInterfaces(specs);
    for (const s of list) {
      for (const [id, vs] of this.vifs) {
        if (id !== domid && vs.some((v) => v.spec.mac === s.mac)) throw new NetConfigError(`MAC ${s.mac} is already used by domain ${id} on this host`);
      }
    }
    return list;
  }

  /** Create the domain's vifs (toolstack nodes + backends waiting for their frontends). */
  attach(domid: number, specs: InterfaceSpec[] | undefined, opts: { restored?: boolean } = {}): void {
    const list = this.check(specs ?? [], domid);
    this.detach(domid);
    if (list.length === 0) return;
    const vifs = list.map((s, n) => new Vif({ ...this.env, switch: this.switch }, domid, n, s));
    this.vifs.set(domid, vifs);
    for (const v of vifs) v.create(opts);
  }

  /** Disconnect and remove the domain's vifs (idempotent). */
  detach(domid: number): void {
    const vifs = this.vifs.get(domid);
    if (!vifs) return;
    this.vifs.delete(domid);
    for (const v of vifs) v.destroy();
  }

  /**
   * Announce the domain's interfaces on the segment after a restore or a move: one gratuitous
   * ARP per vif (announce.ts), from its MAC, into the switch through the vif's port — now for
   * a connected vif, else as soon as its frontend connects. Every switch and the gateway then
   * learn where the MAC is. One frame per call: the segment drops frames only under congestion
   * (an uplink more than 1 MiB behind), and a caller that wants QEMU's repeated announcements
   * (announce_self sends several, spaced out) calls this again on its own clock.
   * Returns how many interfaces announced now (the rest announce on connect).
   */
  announce(domid: number): number {
    let now = 0;
    for (const v of this.vifs.get(domid) ?? []) if (v.announce()) now++;
    return now;
  }

  interfaces(domid: number): VifInfo[] {
    return (this.vifs.get(domid) ?? []).map((v) => v.info());
  }

  /** Counters carried over by a restore (persist.ts), in interface order. */
  restoreCounters(domid: number, counters: VifCounters[]): void {
    (this.vifs.get(domid) ?? []).forEach((v, i) => {
      if (counters[i]) Object.assign(v.counters, counters[i]);
    });
  }

  totals(domid: number): NetTotals {
    const vifs = this.interfaces(domid);
    return { nets: vifs.length, txBytes: vifs.reduce((a, v) => a + v.counters.txBytes, 0), rxBytes: vifs.reduce((a, v) => a + v.counters.rxBytes, 0), vifs };
  }

  /** A new uplink port on the switch, as a frame link (the in-process gateway, or a stream's far end). */
  uplink(name = `uplink${this.nextUplink++}`): FrameLink {
    let link!: PortFrameLink;
    const port = this.switch.addPort(name, (f) => link.receive(f));
    link = new PortFrameLink(port);
    return link;
  }
}
