// Which host a Domain's reconcile acts on (../shared/DESIGN.md §3 `host`, §6), in this order:
//   1. a domain of that name observed running on a host is there: adopted (a restarted
//      controller, or a migration that moved it) — placement never moves a running domain;
//   2. the host it last ran on cannot be asked (NotReady): nothing is decided — the domain may
//      still run there, and starting it elsewhere would run it twice (KubeVirt cannot tell a
//      dead node from a partitioned one either, and does not fail over: kubevirt#2443). A Host
//      removed from the manifests is forgotten with what it ran, as deleting a Node is in
//      Kubernetes: its domains are placed again (stop them first to avoid a second copy);
//   3. spec.host names the host: it must exist and be Ready, else the domain stays Pending and
//      its Scheduled condition says why (Kubernetes' PodScheduled=False, Unschedulable);
//   4. the host it was placed on before, if still Ready (a restart stays where it was);
//   5. placeDomain(): the Ready host with the most capacity left free (LeastAllocated).
import type { Condition } from '../../crds/index.ts';
import { HostUnavailableError } from '../../runtime/api.ts';
import type { HypervisorApi, ObservedDomains } from '../hypervisor.ts';
import { placeDomain } from './placement.ts';
import type { HostRegistry } from './registry.ts';

/** Where a reconcile acts: the host's name, API and `xl list` cache. */
export interface Site {
  ok: true;
  host: string;
  hv: HypervisorApi;
  observed: ObservedDomains;
}

export interface Unschedulable {
  ok: false;
  /** HostNotFound, HostNotReady, NoReadyHost, InsufficientMemory */
  reason: string;
  message: string;
}

export interface PlacementRequest {
  /** spec.host */
  host?: string;
  /** spec.memory, MiB */
  memoryMiB: number;
  /** the host it was running on at the last pass (status.host with a domid) */
  runningOn?: string;
}

/** The reconciler's view of the hosts (tests give it one host; the controller, the registry). */
export interface DomainHosts {
  where(name: string, req: PlacementRequest): Promise<Site | Unschedulable>;
  /** after a pass: the domain holds `memoryMiB` on `host`, or (undefined) nothing anywhere */
  settle(name: string, host: string | undefined, memoryMiB: number): void;
}

export class HostScheduler implements DomainHosts {
  constructor(private readonly reg: HostRegistry) {}

  private site(host: string): Site | undefined {
    const hv = this.reg.hvFor(host);
    const observed = this.reg.observedFor(host);
    return hv && observed ? { ok: true, host, hv, observed } : undefined;
  }

  async where(name: string, req: PlacementRequest): Promise<Site | Unschedulable> {
    const { found, unknown } = await this.reg.locate(name);
    if (found) {
      this.reg.place(name, found.host, req.memoryMiB);
      return this.site(found.host)!;
    }
    if (req.runningOn && unknown.includes(req.runningOn) && this.reg.has(req.runningOn)) {
      const r = this.reg.readiness(req.runningOn);
      throw new HostUnavailableError(`Domain ${name} ran on host ${req.runningOn}, which is not Ready (${r?.reason}: ${r?.message}); waiting for it to answer`);
    }
    // a host still connecting may run it (unless we know where it ran, and it is not there):
    // deciding now could start it twice
    const connecting = this.reg.connecting();
    if (connecting.length && req.runningOn === undefined) throw new HostUnavailableError(`waiting for host${connecting.length > 1 ? 's' : ''} ${connecting.join(', ')} to answer before placing Domain ${name}`);
    let host: string | undefined;
    if (req.host !== undefined) {
      if (!this.reg.has(req.host)) {
        return { ok: false, reason: 'HostNotFound', message: `spec.host: no Host named "${req.host}" (hosts: ${this.reg.names().join(', ')})` };
      }
      if (!this.reg.isReady(req.host)) {
        const r = this.reg.readiness(req.host)!;
        return { ok: false, reason: 'HostNotReady', message: `Host ${req.host} is not Ready (${r.reason}: ${r.message})` };
      }
      host = req.host;
    } else {
      const before = this.reg.placementOf(name)?.host;
      if (before && this.reg.isReady(before)) host = before;
      else {
        const p = placeDomain(req.memoryMiB, this.reg.capacities(name));
        if (!p.ok) return { ok: false, reason: p.reason, message: p.message };
        host = p.host;
      }
    }
    const site = this.site(host);
    if (!site) return { ok: false, reason: 'HostNotReady', message: `Host ${host} is not connected yet` };
    this.reg.place(name, host, req.memoryMiB);
    return site;
  }

  settle(name: string, host: string | undefined, memoryMiB: number): void {
    if (host === undefined) this.reg.release(name);
    else this.reg.place(name, host, memoryMiB);
  }
}

/**
 * The Domain's Scheduled condition (Kubernetes' PodScheduled): True with the host it is placed
 * on, or False with why it cannot be (reason HostNotFound, HostNotReady, NoReadyHost,
 * InsufficientMemory). lastTransitionTime moves only when the status does.
 */
export function scheduledCondition(conditions: Condition[], previous: Condition[], wanted: Site | Unschedulable, runningOn: string | undefined, now: number, generation: number): Condition[] {
  const was = previous.find((c) => c.type === 'Scheduled');
  const c: Condition = wanted.ok
    ? { type: 'Scheduled', status: 'True', reason: 'Scheduled', message: `${runningOn ? 'running' : 'placed'} on host ${wanted.host}` }
    : { type: 'Scheduled', status: 'False', reason: wanted.reason, message: wanted.message };
  c.lastTransitionTime = was && was.status === c.status ? was.lastTransitionTime : new Date(now).toISOString();
  c.observedGeneration = generation;
  return [...conditions.filter((x) => x.type !== 'Scheduled'), c];
}
