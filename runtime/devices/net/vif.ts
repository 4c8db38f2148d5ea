/**
 * One virtual interface: the toolstack's xenstore nodes (libxl__device_nic_add) and the
 * backend's half of the XenbusState handshake (drivers/net/xen-netback/xenbus.c):
 *
 *   frontend /local/domain/<domid>/device/vif/<n>/   perms n<domid>,r0 (the guest owns it)
 *     backend backend-id handle mac state=1, and for the guest kit: ip netmask gateway
 *   backend  /local/domain/0/backend/vif/<domid>/<n>/   perms n0,r<domid>
 *     frontend frontend-id online handle mac ip type bridge script hotplug-status
 *     feature-sg feature-rx-copy feature-rx-flip feature-split-event-channels state=2 (InitWait)
 *
 * When the frontend reaches Initialised or Connected the backend reads tx-ring-ref,
 * rx-ring-ref, event-channel (or event-channel-tx and -rx) and request-rx-copy (must be 1),
 * maps both rings, binds the event channel(s), joins the switch and says Connected. Frontend
 * Closing/Closed (or its nodes vanishing) disconnects; Initialising after Closed starts over.
 */
import type { Xenstored } from '../xenstore/xenstored.ts';
import type { EventChannels } from '../../hv/evtchn.ts';
import type { ForeignMapping } from '../../hv/grant.ts';
import type { MachineMemory } from '../../mem/machine.ts';
import { FramePage } from '../../hv/shared.ts';
import { BackRing } from './ring.ts';
import { Netback, newCounters, type GrantCopier, type VifCounters } from './netback.ts';
import type { SwitchPort, VirtualSwitch } from './switch.ts';
import { GATEWAY_IP, SEGMENT_NETMASK, ipForMac, type InterfaceSpec, type PortMapping } from './addressing.ts';
import { NET_RX_RING_SIZE, NET_TX_RING_SIZE, RING, RX_SLOT, TX_SLOT, XenbusState } from './netif.ts';
import { gratuitousArp } from './announce.ts';

/** What a vif needs from its host: Domain-0's services. */
export interface NetEnv {
  xenstored: Xenstored;
  dom0Evtchn: EventChannels;
  grants: GrantCopier & { mapForeign(domid: number, ref: number, readonly: boolean): ForeignMapping | number };
  mem: MachineMemory;
  switch: VirtualSwitch;
  /** Host time, ns. */
  now(): number;
  log(domid: number, message: string): void;
}

export interface VifInfo {
  handle: number;
  mac: string;
  ip: string;
  /** ports the gateway forwards to this interface (as given) */
  ports?: PortMapping[];
  /** the backend's XenbusState */
  state: number;
  connected: boolean;
  /** why the data path was stopped, if the frontend broke the protocol */
  error?: string;
  counters: VifCounters;
}

interface Connection {
  netback: Netback;
  maps: ForeignMapping[];
  ports: number[];
  switchPort: SwitchPort;
}

export class Vif {
  readonly frontend: string;
  readonly backend: string;
  readonly ip: string;
  readonly counters = newCounters();
  private state: number = XenbusState.Initialising;
  private conn: Connection | undefined;
  private unwatch: (() => void) | undefined;
  private lastError: string | undefined;
  /** an announcement asked for while the data path was down: sent when it comes up */
  private announcePending = false;
  /** gratuitous ARPs put on the switch for this interface */
  announcements = 0;

  constructor(
    private readonly env: NetEnv,
    readonly domid: number,
    readonly handle: number,
    readonly spec: InterfaceSpec,
  ) {
    this.frontend = `/local/domain/${domid}/device/vif/${handle}`;
    this.backend = `/local/domain/0/backend/vif/${domid}/${handle}`;
    this.ip = ipForMac(spec.mac)!;
  }

  /**
   * Write both directories (libxl), move the backend to InitWait (netback_probe), watch the
   * frontend. `restored`: the domain came back from an image with its frontend directory, and
   * a guest that did not suspend still has its rings connected — its state is left as it is,
   * so the backend sees a connected frontend and re-attaches to the rings where they stand.
   */
  create(opts: { restored?: boolean } = {}): void {
    const xs = this.env.xenstored;
    const { domid, handle, spec } = this;
    const saved = opts.restored ? xs.readString(`${this.frontend}/state`) : undefined;
    xs.write(this.frontend, '');
    xs.setPerms(this.frontend, [`n${domid}`, 'r0']);
    const fe: [string, string | number][] = [
      ['backend', this.backend], ['backend-id', 0], ['handle', handle], ['mac', spec.mac],
      ['state', saved !== undefined && /^[34]$/.test(saved) ? saved : XenbusState.Initialising],
      ['ip', this.ip], ['netmask', SEGMENT_NETMASK], ['gateway', GATEWAY_IP],
    ];
    for (const [k, v] of fe) xs.write(`${this.frontend}/${k}`, String(v));
    xs.write(this.backend, '');
    xs.setPerms(this.backend, ['n0', `r${domid}`]);
    const be: [string, string | number][] = [
      ['frontend', this.frontend], ['frontend-id', domid], ['online', 1], ['handle', handle], ['mac', spec.mac],
      ['ip', this.ip], ['type', 'vif'], ['bridge', 'xenoform0'], ['script', 'vif-bridge'], ['hotplug-status', 'connected'],
      ['feature-sg', 1], ['feature-rx-copy', 1], ['feature-rx-flip', 0], ['feature-split-event-channels', 1],
      ['state', XenbusState.Initialising],
    ];
    for (const [k, v] of be) xs.write(`${this.backend}/${k}`, String(v));
    this.setState(XenbusState.InitWait);
    this.unwatch = xs.watch(`${this.frontend}/state`, () => this.guarded(() => this.frontendChanged()));
  }

  /** Domain teardown: stop watching, disconnect, remove the backend directory. */
  destroy(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    this.disconnect();
    try {
      this.env.xenstored.rm(this.backend);
    } catch {
      /* already gone */
    }
  }

  /**
   * Announce this interface on the segment (announce.ts): a gratuitous ARP from its MAC, put
   * on the switch through its own port as if the guest had sent it, so the MAC is learned
   * behind this host wherever frames for it come from. Sent now if the data path is up,
   * otherwise once, as soon as the frontend connects (a restored domain's frontend reconnects
   * after its vifs are recreated). Returns whether it was sent now.
   */
  announce(): boolean {
    const c = this.conn;
    if (!c || c.netback.isDisabled) {
      this.announcePending = true;
      return false;
    }
    this.announcePending = false;
    this.announcements++;
    c.switchPort.send(gratuitousArp(this.spec.mac));
    return true;
  }

  info(): VifInfo {
    const error = this.conn?.netback.fatalReason ?? this.lastError;
    return { handle: this.handle, mac: this.spec.mac, ip: this.ip, ...(this.spec.ports ? { ports: this.spec.ports } : {}), state: this.state, connected: this.conn !== undefined && !this.conn.netback.isDisabled, ...(error ? { error } : {}), counters: { ...this.counters } };
  }

  // A watch callback runs inside whatever xenstore operation fired it (often a guest's
  // hypercall): it must never throw.
  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.env.log(this.domid, `vif${this.domid}.${this.handle}: ${(e as Error).message}`);
    }
  }

  private setState(s: number): void {
    this.state = s;
    this.env.xenstored.write(`${this.backend}/state`, String(s));
  }

  private read(key: string): string | undefined {
    return this.env.xenstored.readString(`${this.frontend}/${key}`);
  }

  /** frontend_changed() */
  private frontendChanged(): void {
    const raw = this.read('state');
    const fe = raw === undefined ? XenbusState.Unknown : Number(raw);
    switch (fe) {
      case XenbusState.Initialising:
        if (this.state === XenbusState.Closed || this.state === XenbusState.Closing || this.state === XenbusState.Connected) {
          this.disconnect();
          this.setState(XenbusState.InitWait);
        }
        break;
      case XenbusState.Initialised:
      case XenbusState.Connected:
        if (this.state === XenbusState.Connected || this.state === XenbusState.Closing) break;
        this.connect();
        break;
      case XenbusState.Closing:
        this.disconnect();
        if (this.state !== XenbusState.Closed) this.setState(XenbusState.Closing);
        break;
      case XenbusState.Closed:
      case XenbusState.Unknown:
        this.disconnect();
        if (raw !== undefined) this.setState(XenbusState.Closed);
        break;
      default:
        break; // InitWait, Reconfiguring…: nothing for a netback to do
    }
  }

  /** xenbus_dev_fatal: say why, and go to Closing. */
  private fail(why: string): void {
    this.lastError = why;
    this.env.log(this.domid, `vif${this.domid}.${this.handle}: ${why}`);
    this.env.xenstored.write(`${this.backend}/error`, why);
    this.setState(XenbusState.Closing);
  }

  private readU32(key: string): number | undefined {
    const v = this.read(key);
    if (v === undefined || !/^\d{1,10}$/.test(v)) return undefined;
    const n = Number(v);
    return n <= 0xffffffff ? n : undefined;
  }

  /** connect_data_rings() + xenvif_connect_data() */
  private connect(): void {
    const txRef = this.readU32('tx-ring-ref');
    const rxRef = this.readU32('rx-ring-ref');
    if (txRef === undefined || rxRef === undefined) return this.fail('reading tx-ring-ref/rx-ring-ref: missing or not a number');
    if (this.read('request-rx-copy') !== '1') return this.fail('request-rx-copy must be 1: this backend only copies (feature-rx-flip 0)');
    const queues = this.read('multi-queue-num-queues');
    if (queues !== undefined && queues !== '1') return this.fail(`multi-queue-num-queues ${queues}: this backend offers one queue`);
    let txPort = this.readU32('event-channel-tx');
    let rxPort = this.readU32('event-channel-rx');
    if (txPort === undefined || rxPort === undefined) txPort = rxPort = this.readU32('event-channel');
    if (txPort === undefined || rxPort === undefined) return this.fail('reading event-channel: missing or not a number');

    const maps: ForeignMapping[] = [];
    const ports: number[] = [];
    const undo = (why: string): void => {
      for (const p of ports) this.env.dom0Evtchn.close(p);
      for (const m of maps) m.release();
      this.fail(why);
    };
    const pages: FramePage[] = [];
    for (const [name, ref] of [['tx', txRef], ['rx', rxRef]] as const) {
      const m = this.env.grants.mapForeign(this.domid, ref, false);
      if (typeof m === 'number') return undo(`mapping ${name} ring grant ${ref}: GNTST ${m}`);
      maps.push(m);
      pages.push(new FramePage(this.env.mem, m.mfn));
    }
    const txRing = new BackRing(pages[0]!, NET_TX_RING_SIZE, TX_SLOT);
    const rxRing = new BackRing(pages[1]!, NET_RX_RING_SIZE, RX_SLOT);
    // BACK_RING_ATTACH (xenvif_map_data_rings): take up where the rings stand.
    for (const r of [txRing, rxRing]) {
      r.syncFromPage();
      if (r.unconsumed() < 0) return undo(`a ring's req_prod ${r.reqProd()} is more than a ring ahead of rsp_prod ${r.page.u32(RING.RSP_PROD)}`);
    }
    for (const p of txPort === rxPort ? [txPort] : [txPort, rxPort]) {
      const local = this.env.dom0Evtchn.bindInterdomain(this.domid, p);
      if (local < 0) return undo(`binding event channel ${p}: errno ${-local}`);
      ports.push(local);
    }
    const [txLocal, rxLocal = txLocal] = ports as [number, number?];
    const name = `vif${this.domid}.${this.handle}`;
    let netback!: Netback;
    const switchPort = this.env.switch.addPort(name, (f) => netback.deliver(f), { mac: this.spec.mac });
    netback = new Netback({
      domid: this.domid,
      txRing,
      rxRing,
      grants: this.env.grants,
      counters: this.counters,
      now: () => this.env.now(),
      notifyTx: () => void this.env.dom0Evtchn.send(txLocal!),
      notifyRx: () => void this.env.dom0Evtchn.send(rxLocal!),
      output: (f) => switchPort.send(f),
      onFatal: (why) => {
        this.lastError = why;
        this.env.log(this.domid, `${name}: fatal error, vif disabled: ${why}`);
        switchPort.close();
      },
    });
    this.conn = { netback, maps, ports, switchPort };
    for (const p of ports) this.env.dom0Evtchn.listen(p, () => netback.handleEvent());
    this.lastError = undefined;
    this.setState(XenbusState.Connected);
    netback.handleEvent(); // anything queued before we listened
    if (this.announcePending) this.announce();
  }

  private disconnect(): void {
    const c = this.conn;
    if (!c) return;
    this.conn = undefined;
    c.netback.stop();
    c.switchPort.close();
    for (const p of c.ports) this.env.dom0Evtchn.close(p);
    for (const m of c.maps) m.release();
  }
}
