/**
 * xl save: snapshot a paused domain into an image (image.ts) of records (records.ts).
 * Memory is copied as pseudo-physical frames, only those ever touched (MachineMemory.isBacked);
 * page tables are canonicalized (MFN → PFN) as libxc's save does, so restore can put the
 * domain on any frames.
 */
import type { Host } from '../host.ts';
import type { Domain } from '../hv/domain.ts';
import { grantTablesOf } from '../hv/grant.ts';
import { PGT_l1, PGT_l3 } from '../mem/pagetype.ts';
import { m2pOf } from '../mem/m2p.ts';
import { blockDevicesOf } from '../devices/block/index.ts';
import { saveVifs } from '../devices/net/persist.ts';
import { saveXsConn } from './xs-conn.ts';
import { encodeImage, jsonPayload, type ImageSection } from './image.ts';
import {
  DOMAIN_RECORD_VERSION, VCPU_RECORD_VERSION, rewriteTable,
  type ChannelRecord, type DomainHeaderRecord, type PageTypeRecord, type VcpuRecord,
} from './records.ts';

export class SaveError extends Error {
  constructor(readonly code: 'ENOENT' | 'EINVAL' | 'UNSAVEABLE', message: string) {
    super(message);
    this.name = 'SaveError';
  }
}

export interface SaveOptions {
  /** Keep the domain running afterwards (xl save -c). */
  checkpoint?: boolean;
  /** Extra header facts the toolstack knows (kernel path, cmdline). */
  kernel?: string;
  cmdline?: string;
  maxBytes?: number;
  /**
   * Which touched pages the image carries: all (xl save), or only the page tables — live
   * migration's FINAL record, whose other pages the pre-copy rounds already sent.
   */
  pages?: 'all' | 'tables';
}

/** Page states in the p2m section: none, populated but never touched, contents in the image. */
export const P2M_NONE = 0;
export const P2M_ZERO = 1;
export const P2M_DATA = 2;

/**
 * Reverse lookup of the domain's frames: machine frame → pfn, with Xen-shared pages after
 * maxPages. The M2P answers first (checked against the p2m, since the guest writes its own
 * M2P entries); only a frame it gets wrong costs a full reverse map, built once.
 */
export function frameIndex(host: Host, d: Domain): (mfn: number) => number | undefined {
  const m2p = m2pOf(host.mem);
  const grantFrames = grantTablesOf(host).tableOf(d).frames;
  let slow: Map<number, number> | undefined;
  return (mfn) => {
    const p = m2p.get(mfn);
    if (p < d.maxPages && d.p2m[p] === mfn) return p;
    if (mfn === d.sharedInfo.mfn) return d.maxPages;
    const g = grantFrames.indexOf(mfn);
    if (g >= 0) return d.maxPages + 1 + g;
    if (!slow) {
      slow = new Map();
      for (let pfn = 0; pfn < d.p2m.length; pfn++) if (d.p2m[pfn]! >= 0) slow.set(d.p2m[pfn]!, pfn);
    }
    return slow.get(mfn);
  };
}

/** Snapshot a domain (which the caller has paused) into image bytes. */
export function snapshotDomain(host: Host, d: Domain, opts: SaveOptions = {}): Uint8Array {
  const pt = host.pageTypes;
  const index = frameIndex(host, d);
  const pfnOf = (mfn: number): number => {
    const p = index(mfn);
    if (p === undefined || p >= d.maxPages) throw new SaveError('UNSAVEABLE', `domain ${d.id}: frame ${mfn} is not one of its pages`);
    return p;
  };
  const grants = grantTablesOf(host).tableOf(d);

  const header: DomainHeaderRecord = {
    version: DOMAIN_RECORD_VERSION,
    name: d.name,
    pages: d.currentPages,
    maxPages: d.maxPages,
    vcpus: d.vcpus.length,
    weight: d.weight,
    cap: d.cap,
    vmAssist: d.vmAssist,
    cmdline: opts.cmdline ?? null,
    kernel: opts.kernel ?? null,
    startInfoPfn: pfnOf(d.startInfoMfn),
    consolePfn: pfnOf(d.consoleMfn),
    consolePort: d.consolePort,
    storePfn: pfnOf(d.storeMfn),
    storePort: d.storePort,
    grantFrames: grants.frames.length,
    paused: d.pauseCount > 1,
  };

  // Memory: the p2m, then touched pages (tables canonicalized).
  const p2m = new Uint8Array(d.maxPages);
  const types: PageTypeRecord[] = [];
  const touched: number[] = [];
  const tablesOnly = opts.pages === 'tables';
  for (let pfn = 0; pfn < d.maxPages; pfn++) {
    const mfn = d.p2m[pfn]!;
    if (mfn < 0) continue;
    if (!host.mem.isBacked(mfn)) {
      p2m[pfn] = P2M_ZERO;
      continue;
    }
    p2m[pfn] = P2M_DATA;
    if (!tablesOnly) touched.push(pfn);
    const type = pt.typeOf(mfn);
    if (type >= PGT_l1 && type <= PGT_l3 && pt.isValidated(mfn)) types.push({ pfn, type, pinned: pt.isPinned(mfn) });
  }
  const tableType = new Map(types.map((t) => [t.pfn, t.type]));
  if (tablesOnly) for (const t of types) touched.push(t.pfn);
  const pages = new Uint8Array(touched.length * (4 + 4096));
  const pdv = new DataView(pages.buffer);
  touched.forEach((pfn, i) => {
    const o = i * 4100;
    pdv.setUint32(o, pfn, true);
    const f = host.mem.frame(d.p2m[pfn]!);
    const page = pages.subarray(o + 4, o + 4100);
    page.set(f.u8.subarray(f.base, f.base + 4096));
    if (tableType.has(pfn)) {
      rewriteTable(page, index, `pfn ${pfn} (l${tableType.get(pfn)})`);
    }
  });

  const now = host.clock.now();
  const vcpus: VcpuRecord[] = d.vcpus.map((v) => {
    const c = v.cpu;
    const base = pt.baseptrOf(v);
    return {
      version: VCPU_RECORD_VERSION,
      id: v.id,
      up: v.up,
      initialised: v.initialised,
      blocked: v.blocked,
      halted: c.halted,
      pollPorts: v.pollPorts ? [...v.pollPorts] : null,
      regs: [...c.r32.subarray(0, 8)].map((x) => x >>> 0),
      eip: c.eip >>> 0,
      eflags: c.getFlags() >>> 0,
      sel: [...c.sel.subarray(0, 6)],
      segBase: [...c.segBase.subarray(0, 6)].map((x) => x >>> 0),
      cr0: c.cr0 >>> 0,
      cr2: c.cr2 >>> 0,
      cr3Pfn: base >= 0 ? pfnOf(base) : -1,
      cr4: c.cr4 >>> 0,
      efer: c.efer >>> 0,
      dr: [...c.dr].map((x) => x >>> 0),
      gdtPfns: v.gdtFrames.map(pfnOf),
      gdtEntries: v.gdtEntries,
      traps: v.traps.flatMap((t, vector) => (t ? [{ vector, flags: t.flags >>> 0, cs: t.cs & 0xffff, eip: t.eip >>> 0 }] : [])),
      eventCs: v.eventCs, eventEip: v.eventEip >>> 0,
      failsafeCs: v.failsafeCs, failsafeEip: v.failsafeEip >>> 0,
      kernelSs: v.kernelSs, kernelSp: v.kernelSp >>> 0,
      singleshotInNs: v.singleshot ? Math.round(v.singleshot - now) : null,
      periodNs: v.periodNs,
      periodicInNs: Math.round(v.periodicNext - now),
      cpuTimeNs: v.cpuTimeNs,
    };
  });

  const channels: ChannelRecord[] = d.evtchn.entries().map(([port, c]) => ({ port, state: c.state, vcpu: c.vcpu, remoteDom: c.remoteDom, remotePort: c.remotePort, virq: c.virq }));
  // Grant entries hold machine frames in a PV guest's table: canonicalize those too.
  const grantEntries: { ref: number; flags: number; domid: number; frame: number }[] = [];
  for (let ref = 0; ref < grants.frames.length * 512; ref++) {
    const e = grants.entry(ref);
    if (e.flags === 0 && e.domid === 0 && e.frame === 0) continue;
    const pfn = e.flags & 3 ? index(e.frame) : e.frame;
    if (pfn === undefined) throw new SaveError('UNSAVEABLE', `grant ref ${ref} names frame ${e.frame}, not the domain's`);
    grantEntries.push({ ref, flags: e.flags, domid: e.domid, frame: pfn });
  }
  // Grants mapped by Domain-0's backends right now (the rings) are not carried as mappings: the
  // backends are destroyed with the domain and map the restored entries again on restore.

  const si = host.mem.frame(d.sharedInfo.mfn);
  const sections: ImageSection[] = [
    { name: 'header', payload: jsonPayload(header) },
    { name: 'p2m', payload: p2m },
    { name: 'pages', payload: pages },
    { name: 'pagetypes', payload: jsonPayload(types) },
    { name: 'vcpus', payload: jsonPayload(vcpus) },
    { name: 'shared_info', payload: si.u8.slice(si.base, si.base + 4096) },
    { name: 'evtchn', payload: jsonPayload(channels) },
    { name: 'grants', payload: jsonPayload(grantEntries) },
    { name: 'xenstore', payload: jsonPayload(host.xenstored.exportDomain(d.id)) },
    { name: 'xenstore_conn', payload: jsonPayload(saveXsConn(host.xenstored, d.id)) },
    { name: 'devices', payload: jsonPayload({ version: 1, vbds: blockDevicesOf(host).save(d.id), vifs: saveVifs(host.net, d.id) }) },
    consoleSection(host, d),
  ];
  return encodeImage(sections, { maxBytes: opts.maxBytes });
}

/** Console history kept with the domain (not Xen's: its console log is the toolstack's). */
export const CONSOLE_TAIL_BYTES = 64 * 1024;

/** The console's recent output and total, so `logs` and stream positions carry on after a move. */
function consoleSection(host: Host, d: Domain): ImageSection {
  const log = host.console(d.id);
  const all = log?.contents() ?? new Uint8Array(0);
  const tail = all.subarray(Math.max(0, all.length - CONSOLE_TAIL_BYTES));
  return { name: 'console', payload: jsonPayload({ total: log?.total ?? 0, tail: Buffer.from(tail).toString('base64') }) };
}

/** xl save: pause, snapshot, then destroy (or unpause with checkpoint). */
export function saveDomain(host: Host, domid: number, opts: SaveOptions = {}): Uint8Array {
  const d = host.domain(domid);
  if (!d || d.dying) throw new SaveError('ENOENT', `no domain with id ${domid}`);
  if (d.isShutdown) throw new SaveError('EINVAL', `domain ${domid} has shut down; there is nothing to save`);
  d.pause();
  let bytes: Uint8Array;
  try {
    bytes = snapshotDomain(host, d, opts);
  } catch (e) {
    d.unpause();
    throw e;
  }
  if (opts.checkpoint) d.unpause();
  else host.destroy(domid);
  return bytes;
}
