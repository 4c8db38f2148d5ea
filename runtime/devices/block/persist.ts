/**
 * Save and restore of a vbd's backend state as a versioned record with named fields
 * (CONVENTIONS rule 6): which disk it is, the backend's XenbusState, and — while a frontend is
 * connected — the ring it serves and the backend's private ring position (req_cons,
 * rsp_prod_pvt), so a restored backend carries on exactly where it stopped. The image's
 * contents are the image file's business; the counters come along for xentop's continuity.
 */
import type { VbdBackend } from './event-handler.ts';
import type { DiskMode, DiskSpec } from './image.ts';
import { zeroCounters, type VbdCounters } from './metrics.ts';
import type { RingState } from './device.ts';
import { readState } from './xenbus.ts';

export const VBD_RECORD_VERSION = 1;

export interface VbdRecord {
  version: typeof VBD_RECORD_VERSION;
  /** the disk as declared */
  source: string;
  target: string;
  mode: DiskMode;
  /** the virtual-device number (devid) */
  devid: number;
  /** the backend's XenbusState when saved */
  state: number;
  /** the connected ring, or null while no frontend is connected */
  ring: RingState | null;
  /** why the ring had been halted, or null */
  failed: string | null;
  counters: VbdCounters;
}

export function saveVbd(b: VbdBackend): VbdRecord {
  const v = b.vbd;
  return {
    version: VBD_RECORD_VERSION,
    source: v.spec.source,
    target: v.spec.target,
    mode: v.spec.mode,
    devid: v.vdev.number,
    state: readState(b.xs, `${b.paths.backend}/state`),
    ring: v.ringState() ?? null,
    failed: v.failed ?? null,
    counters: { ...v.counters },
  };
}

/** A record as loaded from a file: checked field by field; throws on anything else. */
export function checkVbdRecord(v: unknown): VbdRecord {
  const fail = (why: string): never => {
    throw new Error(`vbd record: ${why}`);
  };
  if (typeof v !== 'object' || v === null) fail('not an object');
  const r = v as Record<string, unknown>;
  if (r.version !== VBD_RECORD_VERSION) fail(`version ${JSON.stringify(r.version)} is not ${VBD_RECORD_VERSION}`);
  if (typeof r.source !== 'string' || typeof r.target !== 'string') fail('source and target must be strings');
  if (r.mode !== 'rw' && r.mode !== 'ro') fail('mode must be rw or ro');
  const u32 = (x: unknown, what: string): number => (Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xffffffff ? (x as number) : fail(`${what} must be a u32`));
  u32(r.devid, 'devid');
  u32(r.state, 'state');
  if (r.ring !== null) {
    const ring = r.ring as Record<string, unknown> | undefined;
    if (typeof ring !== 'object' || ring === null) fail('ring must be an object or null');
    for (const k of ['ringRef', 'remotePort', 'reqCons', 'rspProdPvt']) u32(ring![k], `ring.${k}`);
  }
  if (r.failed !== null && typeof r.failed !== 'string') fail('failed must be a string or null');
  const counters = zeroCounters();
  for (const k of Object.keys(counters) as (keyof VbdCounters)[]) {
    const c = (r.counters as Record<string, unknown> | undefined)?.[k];
    counters[k] = Number.isSafeInteger(c) && (c as number) >= 0 ? (c as number) : fail(`counters.${k} must be a count`);
  }
  return { ...(r as unknown as VbdRecord), counters };
}

export function specOf(r: VbdRecord): DiskSpec {
  return { source: r.source, target: r.target, mode: r.mode };
}
