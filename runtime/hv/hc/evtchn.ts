/**
 * event_channel_op 32 and event_channel_op_compat 16 (event_channel.h; xen-abi.md §4 gives
 * the i386 argument layouts). Arguments are copied in once, validated, then acted on.
 */
import { DOMID_SELF, type HypercallEntry } from './types.ts';
import type { VCpu } from '../vcpu.ts';
import { readU16, readU32, writeU16, writeU32 } from '../guestmem.ts';
import { ECS_INTERDOMAIN, ECS_UNBOUND, ECS_VIRQ } from '../evtchn.ts';
import * as E from '../errno.ts';

const OP = {
  bind_interdomain: 0,
  bind_virq: 1,
  bind_pirq: 2,
  close: 3,
  send: 4,
  status: 5,
  alloc_unbound: 6,
  bind_ipi: 7,
  bind_vcpu: 8,
  unmask: 9,
  reset: 10,
} as const;

/** DOMID_SELF or our own id means us; any other domain needs privilege a domU lacks. */
function selfOnly(v: VCpu, dom: number): boolean {
  return dom === DOMID_SELF || dom === v.domain.id;
}

function evtchnOp(v: VCpu, cmd: number, a: number): number {
  const ev = v.domain.evtchn;
  switch (cmd) {
    case OP.alloc_unbound: {
      const dom = readU16(v, a), remote = readU16(v, a + 2);
      if (!selfOnly(v, dom)) return -E.EPERM;
      const remoteDom = remote === DOMID_SELF ? v.domain.id : remote;
      // Domain-0 (the TypeScript toolstack, with its backends) has no Domain object: ask for its event channels.
      if (remoteDom !== v.domain.id && !v.domain.host.evtchnOf(remoteDom)) return -E.ESRCH;
      const p = ev.allocUnbound(remoteDom);
      if (p < 0) return p;
      writeU32(v, a + 4, p);
      return 0;
    }
    case OP.bind_interdomain: {
      const remote = readU16(v, a), remotePort = readU32(v, a + 4);
      const p = ev.bindInterdomain(remote === DOMID_SELF ? v.domain.id : remote, remotePort);
      if (p < 0) return p;
      writeU32(v, a + 8, p);
      return 0;
    }
    case OP.bind_virq: {
      const virq = readU32(v, a), vcpu = readU32(v, a + 4);
      const p = ev.bindVirq(virq, vcpu);
      if (p < 0) return p;
      writeU32(v, a + 8, p);
      return 0;
    }
    case OP.bind_ipi: {
      const p = ev.bindIpi(readU32(v, a));
      if (p < 0) return p;
      writeU32(v, a + 4, p);
      return 0;
    }
    case OP.bind_pirq:
      return -E.EPERM; // no physical IRQs are given to guests
    case OP.close:
      return ev.close(readU32(v, a));
    case OP.send:
      return ev.send(readU32(v, a));
    case OP.unmask:
      return ev.unmask(readU32(v, a));
    case OP.bind_vcpu:
      return ev.bindVcpu(readU32(v, a), readU32(v, a + 4));
    case OP.status: {
      // {u16 dom; u32 port@4; OUT u32 status@8, vcpu@12, union@16}
      const dom = readU16(v, a), port = readU32(v, a + 4);
      if (!selfOnly(v, dom)) return -E.EPERM;
      if (port >= 1024) return -E.EINVAL;
      const c = ev.channel(port);
      writeU32(v, a + 8, c ? c.state : 0);
      writeU32(v, a + 12, c ? c.vcpu : 0);
      if (c?.state === ECS_UNBOUND) writeU16(v, a + 16, c.remoteDom);
      else if (c?.state === ECS_INTERDOMAIN) {
        writeU16(v, a + 16, c.remoteDom);
        writeU32(v, a + 20, c.remotePort);
      } else if (c?.state === ECS_VIRQ) writeU32(v, a + 16, c.virq);
      return 0;
    }
    case OP.reset: {
      const dom = readU16(v, a);
      if (!selfOnly(v, dom)) return -E.EPERM;
      ev.closeAll();
      return 0;
    }
    default:
      return -E.ENOSYS;
  }
}

export const EVTCHN_HYPERCALLS: HypercallEntry[] = [
  [32, 'event_channel_op', (v, cmd, arg) => evtchnOp(v, cmd, arg)],
  // The compat form passes struct evtchn_op { u32 cmd; union u; } (the union at offset 4).
  [16, 'event_channel_op_compat', (v, arg) => evtchnOp(v, readU32(v, arg), arg + 4)],
];
