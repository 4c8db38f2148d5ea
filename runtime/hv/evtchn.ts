/**
 * Event channels, 2-level ABI (xen/include/public/event_channel.h; xen/common/event_channel.c,
 * event_2l.c; semantics in xen-abi.md §4). A port's pending and mask bits live in the guest's
 * shared_info page; raising an unmasked port sets its word's bit in the target vCPU's
 * evtchn_pending_sel and upcall_pending, and kicks that vCPU.
 *
 * Domain-0 is the TypeScript toolstack: it has no shared_info, so its ports deliver to
 * listeners instead (the console and xenstore backends listen on theirs).
 */
import { SI, VI, type FramePage } from './shared.ts';
import * as E from './errno.ts';

export const NR_EVENT_CHANNELS = 1024; // 32 words × 32 bits, for a 32-bit guest

export const ECS_FREE = 0;
export const ECS_UNBOUND = 1;
export const ECS_INTERDOMAIN = 2;
export const ECS_PIRQ = 3;
export const ECS_VIRQ = 4;
export const ECS_IPI = 5;

export const VIRQ_TIMER = 0;
export const VIRQ_DEBUG = 1;
export const VIRQ_CONSOLE = 2;
export const VIRQ_DOM_EXC = 3;
export const NR_VIRQS = 24;
/** VIRQs bound per vCPU (the others are global: bound on vCPU 0 only). */
const PER_VCPU_VIRQ = new Set([VIRQ_TIMER, VIRQ_DEBUG, 6 /* DEBUGGER */, 7 /* XENOPROF */, 13 /* XENPMU */]);

export interface Channel {
  state: number;
  /** vCPU notified when the port is raised. */
  vcpu: number;
  remoteDom: number;
  remotePort: number;
  virq: number;
}

/** What event channels need from their domain and the host. */
export interface EvtchnHost {
  readonly domid: number;
  /** The domain's shared_info page, or undefined for Domain-0. */
  readonly sharedInfo: FramePage | undefined;
  readonly nrVcpus: number;
  /** Wake (or interrupt) a vCPU because an event arrived for it. */
  kick(vcpu: number): void;
  /** The event channels of another domain, or undefined if it does not exist. */
  peer(domid: number): EventChannels | undefined;
  /**
   * Port limit: 1,024 for a guest's 2-level ABI; Domain-0, which serves every guest's console
   * and xenstore, gets as many as Xen's FIFO ABI allows (2^17).
   */
  readonly maxPorts?: number;
}

export class EventChannels {
  private readonly ports: (Channel | undefined)[] = [];
  /** virq → port, per vCPU. */
  private readonly virqs: Int32Array[];
  /** Domain-0 only: listeners per local port. */
  private readonly listeners = new Map<number, (port: number) => void>();

  constructor(readonly host: EvtchnHost) {
    this.maxPorts = host.maxPorts ?? NR_EVENT_CHANNELS;
    this.virqs = Array.from({ length: Math.max(1, host.nrVcpus) }, () => new Int32Array(NR_VIRQS));
    // Port 0 is reserved (never allocated), as in Xen.
    this.ports[0] = { state: ECS_FREE, vcpu: 0, remoteDom: 0, remotePort: 0, virq: 0 };
  }

  private readonly maxPorts: number;
  /** Lowest port that may be free (allocation starts its search here). */
  private freeHint = 1;

  channel(port: number): Channel | undefined {
    if (port <= 0 || port >= this.maxPorts) return undefined;
    const c = this.ports[port];
    return c && c.state !== ECS_FREE ? c : undefined;
  }

  /** The lowest free port, or -ENOSPC. */
  private allocPort(): number {
    for (let p = this.freeHint; p < this.maxPorts; p++) {
      const c = this.ports[p];
      if (c === undefined || c.state === ECS_FREE) {
        this.ports[p] = { state: ECS_FREE, vcpu: 0, remoteDom: 0, remotePort: 0, virq: 0 };
        this.freeHint = p + 1;
        return p;
      }
    }
    return -E.ENOSPC;
  }

  allocUnbound(remoteDom: number): number {
    const p = this.allocPort();
    if (p < 0) return p;
    Object.assign(this.ports[p]!, { state: ECS_UNBOUND, vcpu: 0, remoteDom, remotePort: 0 });
    return p;
  }

  /** Bind to `remotePort` of `remoteDom`, which must be unbound and offered to us. */
  bindInterdomain(remoteDom: number, remotePort: number): number {
    const peer = remoteDom === this.host.domid ? this : this.host.peer(remoteDom);
    if (!peer) return -E.ESRCH;
    const rc = peer.channel(remotePort);
    if (!rc || rc.state !== ECS_UNBOUND || rc.remoteDom !== this.host.domid) return -E.EINVAL;
    const p = this.allocPort();
    if (p < 0) return p;
    Object.assign(this.ports[p]!, { state: ECS_INTERDOMAIN, vcpu: 0, remoteDom, remotePort });
    rc.state = ECS_INTERDOMAIN;
    rc.remotePort = p;
    // Binding raises the port on our side, as Xen does, so a waiting peer notices.
    this.setPending(p);
    return p;
  }

  bindVirq(virq: number, vcpu: number): number {
    if (virq < 0 || virq >= NR_VIRQS) return -E.EINVAL;
    if (vcpu < 0 || vcpu >= this.host.nrVcpus) return -E.ENOENT;
    if (!PER_VCPU_VIRQ.has(virq) && vcpu !== 0) return -E.EINVAL;
    if (this.virqs[vcpu]![virq] !== 0) return -E.EEXIST;
    const p = this.allocPort();
    if (p < 0) return p;
    Object.assign(this.ports[p]!, { state: ECS_VIRQ, vcpu, virq });
    this.virqs[vcpu]![virq] = p;
    return p;
  }

  bindIpi(vcpu: number): number {
    if (vcpu < 0 || vcpu >= this.host.nrVcpus) return -E.ENOENT;
    const p = this.allocPort();
    if (p < 0) return p;
    Object.assign(this.ports[p]!, { state: ECS_IPI, vcpu });
    return p;
  }

  /** EVTCHNOP_bind_vcpu: notify another vCPU for this port. */
  bindVcpu(port: number, vcpu: number): number {
    const c = this.channel(port);
    if (!c) return -E.EINVAL;
    if (vcpu < 0 || vcpu >= this.host.nrVcpus) return -E.ENOENT;
    if (c.state === ECS_VIRQ && PER_VCPU_VIRQ.has(c.virq)) return -E.EINVAL;
    c.vcpu = vcpu;
    return 0;
  }

  close(port: number): number {
    const c = this.channel(port);
    if (!c) return -E.EINVAL;
    if (c.state === ECS_INTERDOMAIN) {
      // The peer's end goes back to unbound, offered to us again.
      const peer = c.remoteDom === this.host.domid ? this : this.host.peer(c.remoteDom);
      const rc = peer?.channel(c.remotePort);
      if (rc && rc.state === ECS_INTERDOMAIN && rc.remoteDom === this.host.domid && rc.remotePort === port) {
        rc.state = ECS_UNBOUND;
        rc.remotePort = 0;
      }
    } else if (c.state === ECS_VIRQ) {
      this.virqs[c.vcpu]![c.virq] = 0;
    }
    c.state = ECS_FREE;
    if (port < this.freeHint) this.freeHint = port;
    this.listeners.delete(port);
    const si = this.host.sharedInfo;
    if (si) si.clearBit(SI.EVTCHN_PENDING + (port >> 5) * 4, port & 31);
    return 0;
  }

  /** EVTCHNOP_send. */
  send(port: number): number {
    const c = this.channel(port);
    if (!c) return -E.EINVAL;
    switch (c.state) {
      case ECS_INTERDOMAIN: {
        const peer = c.remoteDom === this.host.domid ? this : this.host.peer(c.remoteDom);
        peer?.setPending(c.remotePort);
        return 0;
      }
      case ECS_IPI:
        this.setPending(port);
        return 0;
      case ECS_UNBOUND:
        return 0; // silently dropped, as Xen does
      default:
        return -E.EINVAL;
    }
  }

  /** Raise a VIRQ on a vCPU (global VIRQs live on vCPU 0). */
  sendVirq(virq: number, vcpu = 0): void {
    const port = this.virqs[PER_VCPU_VIRQ.has(virq) ? vcpu : 0]?.[virq] ?? 0;
    if (port) this.setPending(port);
  }

  virqPort(virq: number, vcpu = 0): number {
    return this.virqs[vcpu]?.[virq] ?? 0;
  }

  /** Mark a port pending and, if it is unmasked, notify its vCPU (event_2l.c evtchn_2l_set_pending). */
  setPending(port: number): void {
    const c = this.channel(port);
    if (!c) return;
    const si = this.host.sharedInfo;
    if (!si) {
      this.listeners.get(port)?.(port);
      return;
    }
    const word = port >> 5, bit = port & 31;
    if (si.testAndSet(SI.EVTCHN_PENDING + word * 4, bit)) return;
    if (si.testBit(SI.EVTCHN_MASK + word * 4, bit)) return;
    this.notifyVcpu(c.vcpu, word);
  }

  private notifyVcpu(vcpu: number, word: number): void {
    const si = this.host.sharedInfo!;
    const vi = SI.VCPU_INFO + vcpu * SI.VCPU_INFO_SIZE;
    if (!si.testAndSet(vi + VI.PENDING_SEL, word)) si.setU8(vi + VI.UPCALL_PENDING, 1);
    this.host.kick(vcpu);
  }

  /** EVTCHNOP_unmask: clear the mask bit and deliver a pending event that was held back. */
  unmask(port: number): number {
    const c = this.channel(port);
    if (!c) return -E.EINVAL;
    const si = this.host.sharedInfo;
    if (!si) return 0;
    const word = port >> 5, bit = port & 31;
    si.clearBit(SI.EVTCHN_MASK + word * 4, bit);
    if (si.testBit(SI.EVTCHN_PENDING + word * 4, bit)) this.notifyVcpu(c.vcpu, word);
    return 0;
  }

  isPending(port: number): boolean {
    const si = this.host.sharedInfo;
    return !!si && si.testBit(SI.EVTCHN_PENDING + (port >> 5) * 4, port & 31);
  }

  /** Domain-0: call `fn` when the port is raised. */
  listen(port: number, fn: (port: number) => void): void {
    this.listeners.set(port, fn);
  }

  /** EVTCHNOP_reset / domain teardown: close every port. */
  closeAll(): void {
    for (let p = 1; p < this.ports.length; p++) if (this.channel(p)) this.close(p);
  }

  /** Every open port with its state, for save/restore and status. */
  entries(): [number, Channel][] {
    const out: [number, Channel][] = [];
    for (let p = 1; p < this.ports.length; p++) {
      const c = this.channel(p);
      if (c) out.push([p, { ...c }]);
    }
    return out;
  }
}
