/**
 * Save and restore of a domain's network devices (CONVENTIONS rule 6). Like Xen's, our vifs
 * keep no connection state across a save: after restore the frontend reconnects (netfront
 * resume: Closed → Initialising → a new handshake, BACK_RING_ATTACH picking up the rings where
 * they stand), and the switch relearns from its traffic and from the gratuitous ARP each vif
 * sends when it comes back (NetworkDevices.announce). What is kept is
 * each interface's identity and its counters, as a versioned record with named fields.
 */
import type { NetworkDevices } from './index.ts';
import { validateInterfaces, type PortMapping } from './addressing.ts';
import { newCounters, type VifCounters } from './netback.ts';

export const VIF_RECORD_VERSION = 1;

export interface VifRecord {
  version: 1;
  handle: number;
  mac: string;
  ports?: PortMapping[];
  counters: VifCounters;
}

export class VifRecordError extends Error {
  readonly code = 'EINVAL';
}

export function saveVifs(net: NetworkDevices, domid: number): VifRecord[] {
  return net.interfaces(domid).map((v) => ({
    version: VIF_RECORD_VERSION,
    handle: v.handle,
    mac: v.mac,
    ...(v.ports ? { ports: v.ports.map((p) => ({ ...p })) } : {}),
    counters: { ...v.counters },
  }));
}

/**
 * Recreate the vifs of a restored domain (its xenstore layout must exist) with their counters.
 * Each then announces the domain once its frontend reconnects, unless `announce` is false: an
 * incoming live migration, whose copy must not pull the MAC from the still-live source before
 * it is activated (activation announces; a migration that is aborted then leaves the segment
 * pointing at the source).
 */
export function restoreVifs(net: NetworkDevices, domid: number, records: unknown, opts: { announce?: boolean } = {}): void {
  if (!Array.isArray(records)) throw new VifRecordError('vif records must be a list');
  const recs = records.map((r, i) => {
    const x = r as Partial<VifRecord>;
    if (!x || x.version !== VIF_RECORD_VERSION) throw new VifRecordError(`vif record ${i}: version ${JSON.stringify(x?.version)} is not ${VIF_RECORD_VERSION}`);
    if (x.handle !== i) throw new VifRecordError(`vif record ${i}: handle ${JSON.stringify(x.handle)} out of order`);
    const counters = newCounters();
    for (const k of Object.keys(counters) as (keyof VifCounters)[]) {
      const v = (x.counters as Record<string, unknown> | undefined)?.[k];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new VifRecordError(`vif record ${i}: counters.${k} must be a non-negative integer`);
      counters[k] = v;
    }
    return { spec: { mac: x.mac, ports: x.ports }, counters };
  });
  const specs = validateInterfaces(recs.map((r) => (r.spec.ports ? r.spec : { mac: r.spec.mac })));
  net.attach(domid, specs, { restored: true });
  net.restoreCounters(domid, recs.map((r) => r.counters));
  // A restored domain, here or on another host, announces itself (as Xen's netfront does
  // after resume): each vif sends a gratuitous ARP once its frontend has reconnected.
  if (opts.announce ?? true) net.announce(domid);
}
