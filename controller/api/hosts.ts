// The controller API's view across hosts: Host objects, and `xl list` / xentop samples of every
// host (the local one first), each row tagged with its host.
import type { Controller } from '../controller.ts';
import type { DomainRow, HostInfo, HostStats } from '../hypervisor.ts';

export const HOSTS_PREFIX = '/apis/xenoform.dev/v1alpha1/hosts';

export type HostRow = DomainRow & { host: string };

/** Every host's `xl list`: `items` are the rows (each with its host), `hosts` what each host answered. */
export async function xlListAll(c: Controller): Promise<{ items: HostRow[]; hosts: { host: string; error?: string }[] }> {
  const lists = await c.hosts.listAll();
  return {
    items: lists.flatMap((l) => (l.rows ?? []).map((r) => ({ ...r, host: l.host }))),
    hosts: lists.map((l) => ({ host: l.host, ...(l.error ? { error: l.error } : {}) })),
  };
}

export interface HostSample {
  host: string;
  info?: HostInfo;
  stats?: HostStats;
  error?: string;
}

/** One xentop sample per host. */
export async function xlTopAll(c: Controller): Promise<HostSample[]> {
  return Promise.all(c.hosts.names().map(async (host) => {
    const hv = c.hosts.hvFor(host);
    if (!hv) return { host, error: 'not connected' };
    try {
      const [info, stats] = await Promise.all([hv.info(), hv.stats()]);
      return { host, info, stats };
    } catch (e) {
      return { host, error: (e as Error).message };
    }
  }));
}
