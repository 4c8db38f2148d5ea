/**
 * A saved domain as versioned records with named fields (CONVENTIONS rule 6), and the
 * canonical form of page-table entries: machine frame numbers replaced by pseudo-physical ones
 * (libxc xc_sr_save_x86_pv.c normalise_pagetable; restore does the reverse). Frames Xen shares
 * with the guest (shared_info, grant frames) have no pfn: they get pseudo-pfns past maxPages.
 */
import { ImageError } from './image.ts';

export const DOMAIN_RECORD_VERSION = 1;
export const VCPU_RECORD_VERSION = 1;

export interface DomainHeaderRecord {
  version: typeof DOMAIN_RECORD_VERSION;
  name: string;
  /** Pages populated at save time, the maximum, vCPUs and scheduler parameters. */
  pages: number;
  maxPages: number;
  vcpus: number;
  weight: number;
  cap: number;
  vmAssist: number;
  cmdline: string | null;
  kernel: string | null;
  startInfoPfn: number;
  consolePfn: number;
  consolePort: number;
  storePfn: number;
  storePort: number;
  /** Grant-table frames the guest had (pseudo-pfns maxPages+1 …). */
  grantFrames: number;
  paused: boolean;
}

export interface VcpuRecord {
  version: typeof VCPU_RECORD_VERSION;
  id: number;
  up: boolean;
  initialised: boolean;
  blocked: boolean;
  halted: boolean;
  pollPorts: number[] | null;
  regs: number[];
  eip: number;
  eflags: number;
  sel: number[];
  segBase: number[];
  cr0: number;
  cr2: number;
  /** CR3 as the pfn of the L3 (or -1). */
  cr3Pfn: number;
  cr4: number;
  efer: number;
  dr: number[];
  gdtPfns: number[];
  gdtEntries: number;
  traps: { vector: number; flags: number; cs: number; eip: number }[];
  eventCs: number;
  eventEip: number;
  failsafeCs: number;
  failsafeEip: number;
  kernelSs: number;
  kernelSp: number;
  /** Timers as time remaining (ns) at save, so they mean the same on another clock; null = off. */
  singleshotInNs: number | null;
  periodNs: number;
  periodicInNs: number;
  cpuTimeNs: number;
}

export interface PageTypeRecord {
  pfn: number;
  type: number;
  pinned: boolean;
}

export interface ChannelRecord {
  port: number;
  state: number;
  vcpu: number;
  remoteDom: number;
  remotePort: number;
  virq: number;
}

/** PAE entry halves → frame number (36-bit physical addresses: bits 12–35). */
export function pteFrame(lo: number, hi: number): number {
  return ((lo >>> 12) | ((hi & 0xf) << 20)) >>> 0;
}

export function withFrame(lo: number, hi: number, frame: number): [number, number] {
  return [((lo & 0xfff) | ((frame & 0xfffff) << 12)) >>> 0, ((hi & ~0xf) | ((frame >>> 20) & 0xf)) >>> 0];
}

/**
 * Rewrite the frame of every present entry of a page-table page (512 PAE entries; an L3 of a
 * 32-bit guest uses 4, the rest are zero). `map` returns the new frame or undefined to refuse.
 */
export function rewriteTable(page: Uint8Array, map: (frame: number) => number | undefined, what: string): void {
  const dv = new DataView(page.buffer, page.byteOffset, 4096);
  for (let i = 0; i < 512; i++) {
    const lo = dv.getUint32(i * 8, true);
    if ((lo & 1) === 0) continue;
    const hi = dv.getUint32(i * 8 + 4, true);
    const to = map(pteFrame(lo, hi));
    if (to === undefined) throw new ImageError('INCONSISTENT', `${what}: entry ${i} maps frame ${pteFrame(lo, hi)}, which is not in the image`);
    const [nlo, nhi] = withFrame(lo, hi, to);
    dv.setUint32(i * 8, nlo, true);
    dv.setUint32(i * 8 + 4, nhi, true);
  }
}

const isInt = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
const U32 = 0xffffffff;

function bad(what: string): never {
  throw new ImageError('MALFORMED', what);
}

export function checkHeader(v: unknown): DomainHeaderRecord {
  const r = v as DomainHeaderRecord;
  if (typeof r !== 'object' || r === null) bad('header is not a record');
  if (r.version !== DOMAIN_RECORD_VERSION) throw new ImageError('BAD_VERSION', `domain record version ${JSON.stringify(r.version)} is not ${DOMAIN_RECORD_VERSION}`);
  if (typeof r.name !== 'string' || r.name.length === 0 || r.name.length > 64) bad('header.name');
  if (!isInt(r.maxPages, 1, 1 << 20) || !isInt(r.pages, 0, r.maxPages)) bad('header pages/maxPages');
  if (!isInt(r.vcpus, 1, 32) || !isInt(r.weight, 1, 65535) || !isInt(r.cap, 0, 6400) || !isInt(r.vmAssist, 0, U32)) bad('header vcpus/weight/cap');
  for (const k of ['startInfoPfn', 'consolePfn', 'storePfn'] as const) if (!isInt(r[k], 0, r.maxPages - 1)) throw new ImageError('INCONSISTENT', `header.${k} ${r[k]} is beyond the domain's ${r.maxPages} pages`);
  if (!isInt(r.consolePort, 1, 1023) || !isInt(r.storePort, 1, 1023) || !isInt(r.grantFrames, 0, 32)) bad('header ports/grantFrames');
  if (r.cmdline !== null && typeof r.cmdline !== 'string') bad('header.cmdline');
  if (r.kernel !== null && typeof r.kernel !== 'string') bad('header.kernel');
  if (typeof r.paused !== 'boolean') bad('header.paused');
  return r;
}

export function checkVcpu(v: unknown, maxPages: number): VcpuRecord {
  const r = v as VcpuRecord;
  if (typeof r !== 'object' || r === null) bad('vcpu is not a record');
  if (r.version !== VCPU_RECORD_VERSION) throw new ImageError('BAD_VERSION', `vcpu record version ${JSON.stringify(r.version)} is not ${VCPU_RECORD_VERSION}`);
  const ints = (a: unknown, n: number, hi: number): boolean => Array.isArray(a) && a.length === n && a.every((x) => isInt(x, 0, hi));
  if (!isInt(r.id, 0, 31) || !ints(r.regs, 8, U32) || !ints(r.sel, 6, 0xffff) || !ints(r.segBase, 6, U32) || !ints(r.dr, 8, U32)) bad(`vcpu registers`);
  for (const k of ['eip', 'eflags', 'cr0', 'cr2', 'cr4', 'efer', 'eventCs', 'eventEip', 'failsafeCs', 'failsafeEip', 'kernelSs', 'kernelSp', 'gdtEntries'] as const) {
    if (!isInt(r[k], 0, U32)) bad(`vcpu.${k}`);
  }
  for (const k of ['up', 'initialised', 'blocked', 'halted'] as const) if (typeof r[k] !== 'boolean') bad(`vcpu.${k}`);
  if (!isInt(r.cr3Pfn, -1, maxPages - 1)) throw new ImageError('INCONSISTENT', `vcpu ${r.id} CR3 pfn ${r.cr3Pfn} is outside the image`);
  if (!Array.isArray(r.gdtPfns) || r.gdtPfns.length > 16 || !r.gdtPfns.every((p) => isInt(p, 0, maxPages - 1))) throw new ImageError('INCONSISTENT', `vcpu ${r.id} GDT frames outside the image`);
  if (!Array.isArray(r.traps) || r.traps.length > 256 || !r.traps.every((t) => t && isInt(t.vector, 0, 255) && isInt(t.flags, 0, U32) && isInt(t.cs, 0, 0xffff) && isInt(t.eip, 0, U32))) bad('vcpu.traps');
  if (r.pollPorts !== null && !(Array.isArray(r.pollPorts) && r.pollPorts.length <= 128 && r.pollPorts.every((p) => isInt(p, 1, 1023)))) bad('vcpu.pollPorts');
  if (!(r.singleshotInNs === null || isInt(r.singleshotInNs, -(2 ** 52), 2 ** 52)) || !isInt(r.periodNs, 0, 2 ** 52) || !isInt(r.periodicInNs, -(2 ** 52), 2 ** 52)) bad('vcpu timers');
  if (typeof r.cpuTimeNs !== 'number' || !(r.cpuTimeNs >= 0)) bad('vcpu.cpuTimeNs');
  return r;
}

export function checkChannel(v: unknown): ChannelRecord {
  const r = v as ChannelRecord;
  if (typeof r !== 'object' || r === null || !isInt(r.port, 1, 1023) || !isInt(r.state, 1, 5) || !isInt(r.vcpu, 0, 31) || !isInt(r.remoteDom, 0, 0x7fff) || !isInt(r.remotePort, 0, 1 << 17) || !isInt(r.virq, 0, 23)) {
    bad(`event channel ${JSON.stringify(r?.port)}`);
  }
  return r;
}

export function checkPageType(v: unknown, maxPages: number): PageTypeRecord {
  const r = v as PageTypeRecord;
  if (typeof r !== 'object' || r === null || !isInt(r.type, 1, 3) || typeof r.pinned !== 'boolean') bad('page type record');
  if (!isInt(r.pfn, 0, maxPages - 1)) throw new ImageError('INCONSISTENT', `page type for pfn ${r.pfn} beyond the domain's ${maxPages} pages`);
  return r;
}
