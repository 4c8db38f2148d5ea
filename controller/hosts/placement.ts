// Placement: which host a Domain without spec.host runs on. A pure function of the hosts'
// capacity and what is placed on them, so it is tested without hosts.
//
// The rule is Kubernetes' default scoring, NodeResourcesFit with the LeastAllocated strategy
// (kube-scheduler, pkg/scheduler/framework/plugins/noderesources/least_allocated.go): among the
// hosts where the domain fits, prefer the one with the largest share of its capacity still
// free. It spreads domains, so one host failing takes down as few as possible, and leaves the
// packing of many domains onto few hosts to an explicit ConsolidationPlan (DESIGN.md) rather than
// to every placement. Ties go to the host with more free MiB, then to the name (deterministic).

export interface HostCapacity {
  name: string;
  /** Ready: heartbeats answer and its event stream is live */
  ready: boolean;
  /** memory for domains, MiB (spec.capacity.memoryMiB, else the host's total) */
  capacityMiB: number;
  /** sum of spec.memory of the domains placed there, MiB */
  allocatedMiB: number;
  /** what the host itself reports free (a domain it does not know of may use memory too) */
  reportedFreeMiB?: number;
}

export type PlacementResult =
  | { ok: true; host: string }
  | { ok: false; reason: 'NoReadyHost' | 'InsufficientMemory'; message: string };

/** MiB a host can still take: its capacity minus what is placed, and never more than it reports free. */
export function freeMiB(h: HostCapacity): number {
  const byCapacity = h.capacityMiB - h.allocatedMiB;
  return Math.max(0, h.reportedFreeMiB === undefined ? byCapacity : Math.min(byCapacity, h.reportedFreeMiB));
}

/** The Ready host where `memoryMiB` fits with the most capacity left free (LeastAllocated). */
export function placeDomain(memoryMiB: number, hosts: readonly HostCapacity[]): PlacementResult {
  const ready = hosts.filter((h) => h.ready);
  if (ready.length === 0) {
    const names = hosts.map((h) => h.name).join(', ');
    return { ok: false, reason: 'NoReadyHost', message: hosts.length ? `no host is Ready (${names})` : 'no hosts' };
  }
  const fits = ready.filter((h) => freeMiB(h) >= memoryMiB);
  if (fits.length === 0) {
    const detail = ready.map((h) => `${h.name}: ${freeMiB(h)} MiB free`).join(', ');
    return { ok: false, reason: 'InsufficientMemory', message: `no Ready host has ${memoryMiB} MiB free (${detail})` };
  }
  const score = (h: HostCapacity) => (h.capacityMiB > 0 ? (freeMiB(h) - memoryMiB) / h.capacityMiB : 0);
  fits.sort((a, b) => score(b) - score(a) || freeMiB(b) - freeMiB(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ok: true, host: fits[0]!.name };
}
