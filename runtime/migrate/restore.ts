/**
 * xl restore: a domain back from an image (save.ts) under a new domid on new frames. Page
 * tables are uncanonicalized (PFN → the new MFN), pinned tables re-pinned and each vCPU's CR3
 * re-based with setBaseptr; the vCPU state is put back exactly, so a guest that did not suspend
 * simply continues. Domain-0's console and xenstore re-attach to the rings where they stood.
 * Every problem with the image is an ImageError; a host refusal (name taken, no memory) is a
 * HostError.
 */
import type { Host } from '../host.ts';
import type { Domain } from '../hv/domain.ts';
import { grantTablesOf } from '../hv/grant.ts';
import { ECS_INTERDOMAIN, ECS_IPI, ECS_UNBOUND, ECS_VIRQ } from '../hv/evtchn.ts';
import { setSingleshot } from '../hv/hc/timer.ts';
import { m2pOf } from '../mem/m2p.ts';
import { CS } from '../cpu/constants.ts';
import { blockDevicesOf } from '../devices/block/index.ts';
import { restoreVifs } from '../devices/net/persist.ts';
import type { XenstoreDomainRecord } from '../devices/xenstore/persist.ts';
import { binarySection, decodeImage, ImageError, jsonSection, type ImageSection } from './image.ts';
import { checkChannel, checkHeader, checkPageType, checkVcpu, rewriteTable, type DomainHeaderRecord, type VcpuRecord } from './records.ts';
import { checkXsConn, restoreXsConn, type XsConnRecord } from './xs-conn.ts';
import { P2M_DATA, P2M_NONE } from './save.ts';

export interface RestoreOptions {
  paused?: boolean;
  maxBytes?: number;
}

/**
 * Memory a live migration's pre-copy already put in place (migrate/receive.ts): the frames
 * reserved for each pfn (-1: none) and which pfns hold received contents. The final image
 * then carries only the page tables; every other page with data must have been received.
 */
export interface Preloaded {
  domid: number;
  /** the source host, whose image leases pass to this host at the commitment */
  sourceHostId?: string;
  frames: Int32Array;
  received: Uint8Array;
}

interface Parsed {
  header: DomainHeaderRecord;
  p2m: Uint8Array;
  pages: Map<number, Uint8Array>;
  types: Map<number, { type: number; pinned: boolean }>;
  vcpus: VcpuRecord[];
  sharedInfo: Uint8Array;
  channels: ReturnType<typeof checkChannel>[];
  grants: { ref: number; flags: number; domid: number; frame: number }[];
  xenstore: unknown;
  xsConn: XsConnRecord;
  devices: { vbds: unknown[]; vifs: unknown };
  console?: { total: number; tail: Uint8Array };
}

/** Decode and check an image completely before anything is built. */
export function parseDomainImage(bytes: Uint8Array, opts: { maxBytes?: number; received?: Uint8Array } = {}): Parsed {
  const s: ImageSection[] = decodeImage(bytes, opts);
  const header = checkHeader(jsonSection(s, 'header'));
  const max = header.maxPages;
  const p2m = binarySection(s, 'p2m');
  if (p2m.length !== max) throw new ImageError('INCONSISTENT', `p2m has ${p2m.length} entries for ${max} pages`);
  let populated = 0;
  for (const st of p2m) {
    if (st > P2M_DATA) throw new ImageError('MALFORMED', `p2m state ${st}`);
    if (st !== P2M_NONE) populated++;
  }
  if (populated !== header.pages) throw new ImageError('INCONSISTENT', `p2m populates ${populated} pages, the header says ${header.pages}`);
  for (const k of ['startInfoPfn', 'consolePfn', 'storePfn'] as const) {
    if (p2m[header[k]] === P2M_NONE) throw new ImageError('INCONSISTENT', `header.${k} ${header[k]} is not populated`);
  }
  const raw = binarySection(s, 'pages');
  if (raw.length % 4100 !== 0) throw new ImageError('MALFORMED', 'pages section is not whole pages');
  const pages = new Map<number, Uint8Array>();
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let o = 0; o < raw.length; o += 4100) {
    const pfn = dv.getUint32(o, true);
    if (pfn >= max || p2m[pfn] !== P2M_DATA) throw new ImageError('INCONSISTENT', `page for pfn ${pfn}, which the p2m does not hold data for`);
    if (pages.has(pfn)) throw new ImageError('INCONSISTENT', `pfn ${pfn} twice`);
    pages.set(pfn, raw.subarray(o + 4, o + 4100));
  }
  const received = opts.received;
  if (received && received.length !== max) throw new ImageError('INCONSISTENT', `the stream reserved ${received.length} pages, the image has ${max}`);
  for (let pfn = 0; pfn < max; pfn++) {
    if (p2m[pfn] === P2M_DATA && !pages.has(pfn) && !received?.[pfn]) throw new ImageError('INCONSISTENT', `pfn ${pfn} has no contents`);
  }
  const typesRaw = jsonSection(s, 'pagetypes');
  if (!Array.isArray(typesRaw)) throw new ImageError('MALFORMED', 'pagetypes is not a list');
  const types = new Map<number, { type: number; pinned: boolean }>();
  for (const t of typesRaw.map((x) => checkPageType(x, max))) {
    if (!pages.has(t.pfn)) throw new ImageError('INCONSISTENT', `page table at pfn ${t.pfn} has no contents`);
    types.set(t.pfn, { type: t.type, pinned: t.pinned });
  }
  const vraw = jsonSection(s, 'vcpus');
  if (!Array.isArray(vraw) || vraw.length !== header.vcpus) throw new ImageError('INCONSISTENT', `vcpus section does not hold ${header.vcpus} vCPUs`);
  const vcpus = vraw.map((x) => checkVcpu(x, max));
  vcpus.forEach((v, i) => {
    if (v.id !== i) throw new ImageError('INCONSISTENT', `vcpu ${i} is numbered ${v.id}`);
    if (v.cr3Pfn >= 0 && types.get(v.cr3Pfn)?.type !== 3) throw new ImageError('INCONSISTENT', `vcpu ${i} CR3 pfn ${v.cr3Pfn} is not an l3 table in the image`);
    for (const p of v.gdtPfns) if (p2m[p] === P2M_NONE) throw new ImageError('INCONSISTENT', `vcpu ${i} GDT pfn ${p} is not populated`);
  });
  const sharedInfo = binarySection(s, 'shared_info');
  if (sharedInfo.length !== 4096) throw new ImageError('MALFORMED', 'shared_info is not one page');
  const craw = jsonSection(s, 'evtchn');
  if (!Array.isArray(craw) || craw.length > 1023) throw new ImageError('MALFORMED', 'evtchn is not a list');
  const channels = craw.map(checkChannel).sort((a, b) => a.port - b.port);
  channels.forEach((c, i) => {
    if (i > 0 && channels[i - 1]!.port === c.port) throw new ImageError('INCONSISTENT', `port ${c.port} twice`);
    if (c.vcpu >= header.vcpus) throw new ImageError('INCONSISTENT', `port ${c.port} bound to vcpu ${c.vcpu}`);
  });
  const graw = jsonSection(s, 'grants');
  if (!Array.isArray(graw) || graw.length > header.grantFrames * 512) throw new ImageError('MALFORMED', 'grants is not a list within the table');
  const grants = graw.map((g: { ref: number; flags: number; domid: number; frame: number }) => {
    const ok = g && [g.ref, g.flags, g.domid, g.frame].every((x) => Number.isInteger(x) && x >= 0) && g.ref < header.grantFrames * 512 && g.flags <= 0xffff && g.domid <= 0xffff && g.frame <= 0xffffffff;
    if (!ok) throw new ImageError('MALFORMED', `grant entry ${JSON.stringify(g?.ref)}`);
    if (g.flags & 3 && (g.frame >= max || p2m[g.frame] === P2M_NONE)) throw new ImageError('INCONSISTENT', `grant ref ${g.ref} names pfn ${g.frame}, not in the image`);
    return g;
  });
  const xenstore = jsonSection(s, 'xenstore');
  const xsConn = checkXsConn(jsonSection(s, 'xenstore_conn'));
  const dev = jsonSection(s, 'devices') as { version: number; vbds: unknown[]; vifs: unknown };
  if (!dev || dev.version !== 1 || !Array.isArray(dev.vbds) || !Array.isArray(dev.vifs)) throw new ImageError('MALFORMED', 'devices record');
  // console history (absent from older images: the console then starts empty)
  let console: { total: number; tail: Uint8Array } | undefined;
  if (s.some((x) => x.name === 'console')) {
    const c = jsonSection(s, 'console') as { total?: unknown; tail?: unknown };
    const tail = typeof c?.tail === 'string' ? new Uint8Array(Buffer.from(c.tail, 'base64')) : undefined;
    if (!tail || tail.length > 1 << 20 || !Number.isSafeInteger(c.total) || (c.total as number) < tail.length) throw new ImageError('MALFORMED', 'console record');
    console = { total: c.total as number, tail };
  }
  return { header, p2m, pages, types, vcpus, sharedInfo, channels, grants, xenstore, xsConn, devices: dev, console };
}

/** Build the restored domain's memory, tables, vCPUs and channels (Host.restoreDomain's populate). */
function populate(host: Host, d: Domain, img: Parsed, pre?: Preloaded): void {
  const { header, p2m } = img;
  const m2p = m2pOf(host.mem);
  if (pre) {
    // The reserved frames, with their M2P entries already set when they were reserved
    // (receive.ts), become the p2m in one copy — this runs inside the migration's downtime.
    // Then the exceptions: frames the domain no longer populates (ballooned out during
    // pre-copy) go back, pages untouched again lose their contents, new pfns get frames.
    d.p2m.set(pre.frames);
    const missing: number[] = [];
    const frames = pre.frames;
    for (let pfn = 0; pfn < header.maxPages; pfn++) {
      const st = p2m[pfn];
      const mfn = frames[pfn]!;
      if (mfn < 0) {
        if (st !== P2M_NONE) missing.push(pfn);
      } else if (st === P2M_NONE) {
        d.p2m[pfn] = -1;
        m2p.clear(mfn);
        host.frames.release(mfn);
      } else if (st !== P2M_DATA && pre.received[pfn]) host.mem.release(mfn);
    }
    const extra = host.frames.allocate(d.id, missing.length);
    missing.forEach((pfn, i) => {
      d.p2m[pfn] = extra[i]!;
      m2p.set(extra[i]!, pfn);
    });
  } else {
    const pfns: number[] = [];
    for (let pfn = 0; pfn < header.maxPages; pfn++) if (p2m[pfn] !== P2M_NONE) pfns.push(pfn);
    const mfns = host.frames.allocate(d.id, pfns.length);
    pfns.forEach((pfn, i) => {
      d.p2m[pfn] = mfns[i]!;
      m2p.set(mfns[i]!, pfn);
    });
  }
  const grants = grantTablesOf(host);
  if (header.grantFrames > 0 && !grants.grow(d, header.grantFrames)) throw new ImageError('INCONSISTENT', `cannot grow the grant table to ${header.grantFrames} frames`);
  const gframes = grants.tableOf(d).frames;
  const mfnOf = (pfn: number): number | undefined => {
    if (pfn < header.maxPages) return d.p2m[pfn]! >= 0 ? d.p2m[pfn]! : undefined;
    if (pfn === header.maxPages) return d.sharedInfo.mfn;
    return gframes[pfn - header.maxPages - 1];
  };
  for (const [pfn, page] of img.pages) {
    const f = host.mem.frame(d.p2m[pfn]!);
    const dst = f.u8.subarray(f.base, f.base + 4096);
    dst.set(page);
    const t = img.types.get(pfn);
    if (t) rewriteTable(dst, mfnOf, `pfn ${pfn} (l${t.type})`);
  }
  d.startInfoMfn = d.p2m[header.startInfoPfn]!;
  d.consoleMfn = d.p2m[header.consolePfn]!;
  d.storeMfn = d.p2m[header.storePfn]!;
  d.consolePort = header.consolePort;
  d.storePort = header.storePort;
  d.vmAssist = header.vmAssist;
  for (const mfn of [d.sharedInfo.mfn, d.consoleMfn, d.storeMfn]) {
    if (!host.pageTypes.shareXenPage(d, mfn)) throw new ImageError('INCONSISTENT', `cannot share frame ${mfn} with domain ${d.id}`);
  }
  for (const g of img.grants) {
    const frame = g.flags & 3 ? mfnOf(g.frame)! : g.frame;
    grants.seed(d, g.ref, g.domid, frame, g.flags);
  }
  // Re-pin: validation takes the type references the tables had (L3s pull in their L2s and L1s).
  for (const level of [1, 2, 3]) {
    for (const [pfn, t] of img.types) {
      if (t.type !== level || !t.pinned) continue;
      const rc = host.pageTypes.pin(d, d.p2m[pfn]!, level);
      if (rc !== 0) throw new ImageError('INCONSISTENT', `l${level} table at pfn ${pfn} does not validate (errno ${-rc})`);
    }
  }
  restoreChannels(host, d, img);
  img.vcpus.forEach((r, i) => restoreVcpu(host, d, i, r));
  // shared_info last: pending and mask bits, vcpu_info (upcall mask/pending), time, as saved.
  const si = host.mem.frame(d.sharedInfo.mfn);
  si.u8.set(img.sharedInfo, si.base);
}

/** Recreate ports at their numbers: allocation takes the lowest free port, so fill gaps and close them. */
function restoreChannels(host: Host, d: Domain, img: Parsed): void {
  const ev = d.evtchn;
  const fillers: number[] = [];
  for (const c of img.channels) {
    for (;;) {
      let p: number;
      switch (c.state) {
        case ECS_VIRQ: p = ev.bindVirq(c.virq, c.vcpu); break;
        case ECS_IPI: p = ev.bindIpi(c.vcpu); break;
        // Interdomain ports come back unbound, offered to their peer: Domain-0's console,
        // xenstore and device backends bind them again; another domain's end is gone.
        case ECS_UNBOUND: case ECS_INTERDOMAIN: p = ev.allocUnbound(c.remoteDom); break;
        default: throw new ImageError('INCONSISTENT', `port ${c.port}: state ${c.state} cannot be restored`);
      }
      if (p < 0) throw new ImageError('INCONSISTENT', `port ${c.port} cannot be restored (errno ${-p})`);
      if (p === c.port) break;
      if (p > c.port) throw new ImageError('INCONSISTENT', `port ${c.port} came back as ${p}`);
      if (c.state === ECS_VIRQ) {
        ev.close(p);
        fillers.push(ev.allocUnbound(0));
        continue;
      }
      fillers.push(p);
    }
    if (c.state !== ECS_VIRQ && c.state !== ECS_IPI && c.vcpu !== 0) ev.bindVcpu(c.port, c.vcpu);
  }
  for (const p of fillers) ev.close(p);
}

function restoreVcpu(host: Host, d: Domain, i: number, r: VcpuRecord): void {
  const v = d.vcpus[i]!;
  const c = v.cpu;
  c.cr0 = r.cr0 | 0;
  c.cr4 = r.cr4 | 0;
  c.efer = r.efer | 0;
  if (r.cr3Pfn >= 0) {
    const rc = host.pageTypes.setBaseptr(v, d.p2m[r.cr3Pfn]!);
    if (rc !== 0) throw new ImageError('INCONSISTENT', `vcpu ${i}: CR3 table does not validate (errno ${-rc})`);
  }
  c.cr2 = r.cr2 | 0;
  r.regs.forEach((x, k) => (c.r32[k] = x | 0));
  for (let s = 0; s < 6; s++) c.setSegment(s, r.sel[s]!, r.segBase[s]! | 0);
  c.setSegment(CS, r.sel[CS]!, r.segBase[CS]! | 0);
  c.setFlags(r.eflags);
  c.eip = r.eip >>> 0;
  r.dr.forEach((x, k) => (c.dr[k] = x | 0));
  c.halted = r.halted;
  v.traps.fill(undefined);
  for (const t of r.traps) v.traps[t.vector] = { flags: t.flags, cs: t.cs, eip: t.eip };
  v.eventCs = r.eventCs;
  v.eventEip = r.eventEip;
  v.failsafeCs = r.failsafeCs;
  v.failsafeEip = r.failsafeEip;
  v.kernelSs = r.kernelSs;
  v.kernelSp = r.kernelSp;
  v.gdtFrames = r.gdtPfns.map((p) => d.p2m[p]!);
  v.gdtEntries = r.gdtEntries;
  v.up = r.up;
  v.initialised = r.initialised;
  v.blocked = r.blocked;
  v.pollPorts = r.pollPorts ? [...r.pollPorts] : undefined;
  v.cpuTimeNs = r.cpuTimeNs;
  const now = host.clock.now();
  v.periodNs = r.periodNs;
  v.periodicNext = now + r.periodicInNs;
  if (r.singleshotInNs !== null) setSingleshot(v, now + Math.max(1, r.singleshotInNs));
}

/** xl restore: a new domain from image bytes. */
export function restoreDomain(host: Host, bytes: Uint8Array, opts: RestoreOptions & { preloaded?: Preloaded; name?: string } = {}): Domain {
  const pre = opts.preloaded;
  const img = parseDomainImage(bytes, { maxBytes: opts.maxBytes, received: pre?.received });
  const h = img.header;
  return host.restoreDomain(
    { name: opts.name ?? h.name, pages: h.pages, maxPages: h.maxPages, vcpus: h.vcpus, weight: h.weight, cap: h.cap },
    {
      paused: opts.paused ?? false,
      ...(pre ? { domid: pre.domid } : {}),
      populate: (d) => populate(host, d, img, pre),
      importStore: (d) => {
        if (img.console) host.console(d.id)?.seed(img.console.tail, img.console.total);
        host.xenstored.importDomain(img.xenstore as XenstoreDomainRecord, d.id);
        restoreXsConn(host.xenstored, d.id, img.xsConn);
      },
      attachDevices: (d) => {
        blockDevicesOf(host).restore(d, h.name, img.devices.vbds, { handoffFrom: pre?.sourceHostId });
        // A guest that did not suspend still has its vifs connected: restoreVifs keeps the
        // frontend's state, and each backend re-attaches to the rings where they stand.
        restoreVifs(host.net, d.id, img.devices.vifs, { announce: !pre }); // a migration announces at activation
      },
    },
  );
}
