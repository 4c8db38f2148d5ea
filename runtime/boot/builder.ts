/**
 * The PV domain builder (libxenguest's xc_dom_* for x86_32 PAE: xg_dom_x86.c, xg_dom_core.c):
 * lays a kernel image out in a new domain's memory exactly as Xen's toolstack does and sets
 * up vCPU 0's entry state (xen-abi.md §2).
 *
 * Virtual layout from VIRT_BASE, each piece page-aligned, in this order:
 *   kernel · P2M list · start_info · xenstore page · console page · bootstrap page tables ·
 *   boot stack · ≥ 512 KiB padding, the mapped region ending on a 4 MiB boundary.
 * It maps 1:1 onto the first pseudo-physical frames; the page tables are mapped read-only.
 */
import { CR0_PE, CR0_PG, CR0_WP, CR4_PAE, CS, DS, EFER_NXE, ES, ESI, ESP, FS, GS, SSR } from '../cpu/constants.ts';
import type { Domain } from '../hv/domain.ts';
import { FramePage, START } from '../hv/shared.ts';
import { FLAT_RING1_CS, FLAT_RING1_DS } from '../hv/vcpu.ts';
import { HYPERVISOR_VIRT_START } from '../hv/hc/version.ts';
import type { XenImage } from './elf.ts';

const PAGE = 4096;
const MB4 = 4 << 20;
const PADDING = 512 << 10;
/** Page-table entry bits (SDM Vol. 3 §4.4; xg_dom_x86.c L1_PROT/L2_PROT/L3_PROT for x86_32 PAE). */
const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40;
const L1_PROT = P | RW | A;
const L2_PROT = P | RW | A | D | US;
const L3_PROT = P;

export class BuildError extends Error {
  constructor(
    readonly code: 'TOO_SMALL' | 'LAYOUT' | 'HOLE',
    message: string,
  ) {
    super(message);
  }
}

export interface BuildOptions {
  cmdline?: string;
  /** Event channel ports (in the guest) for the console and xenstore, allocated by the caller. */
  consolePort: number;
  storePort: number;
}

export interface BootLayout {
  virtBase: number;
  p2mVa: number;
  startInfoVa: number;
  storeVa: number;
  consoleVa: number;
  ptVa: number;
  nrPtFrames: number;
  stackVa: number;
  mapEnd: number;
  l3Mfn: number;
}

const roundUp = (v: number, a: number): number => Math.ceil(v / a) * a;

/**
 * Page tables (L3 + L2s + L1s) needed to map [base, end) with PAE (xg_dom_x86.c
 * count_pgtables). Xen requires the L2 of L3 slot 3 (it holds the hypervisor's mappings
 * above HYPERVISOR_VIRT_START), so there is always one, mapped or not.
 */
function tablesFor(base: number, end: number): number {
  const l2 = Math.floor((end - 1) / 2 ** 30) - Math.floor(base / 2 ** 30) + 1;
  const slot3 = Math.floor((end - 1) / 2 ** 30) < 3 ? 1 : 0;
  const l1 = Math.floor((end - 1) / 2 ** 21) - Math.floor(base / 2 ** 21) + 1;
  return 1 + l2 + slot3 + l1;
}

/** Compute the bootstrap layout for a kernel of `image` in `nrPages` pages. */
export function planLayout(image: XenImage, nrPages: number): Omit<BootLayout, 'l3Mfn'> {
  const virtBase = image.virtBase >>> 0;
  let cursor = roundUp(image.vend, PAGE);
  const p2mVa = cursor;
  cursor += roundUp(nrPages * 4, PAGE);
  const startInfoVa = cursor;
  cursor += PAGE;
  const storeVa = cursor;
  cursor += PAGE;
  const consoleVa = cursor;
  cursor += PAGE;
  const ptVa = cursor;
  // The tables map themselves, so their number and the mapped extent are found by iteration.
  let nrPtFrames = 1;
  let mapEnd = 0;
  for (;;) {
    mapEnd = roundUp(ptVa + nrPtFrames * PAGE + PAGE + PADDING, MB4);
    const need = tablesFor(virtBase, mapEnd);
    if (need <= nrPtFrames) break;
    nrPtFrames = need;
  }
  const stackVa = ptVa + nrPtFrames * PAGE;
  return { virtBase, p2mVa, startInfoVa, storeVa, consoleVa, ptVa, nrPtFrames, stackVa, mapEnd };
}

/** Build `image` into `domain`, whose P2M already holds `nrPages` frames. Sets up vCPU 0. */
export function buildDomain(domain: Domain, image: XenImage, opts: BuildOptions): BootLayout {
  const nrPages = domain.p2m.reduce((n, m) => n + (m >= 0 ? 1 : 0), 0);
  const plan = planLayout(image, nrPages);
  const mappedPages = (plan.mapEnd - plan.virtBase) / PAGE;
  if (mappedPages > nrPages) {
    throw new BuildError('TOO_SMALL', `the kernel needs ${Math.ceil((mappedPages * PAGE) / 2 ** 20)} MiB of bootstrap mappings but the domain has only ${Math.floor((nrPages * PAGE) / 2 ** 20)} MiB`);
  }
  if (plan.mapEnd > HYPERVISOR_VIRT_START) {
    throw new BuildError('HOLE', `the bootstrap mappings reach into the hypervisor hole at 0x${HYPERVISOR_VIRT_START.toString(16)}`);
  }
  const mem = domain.host.mem;
  const pfnOf = (va: number): number => (va - plan.virtBase) / PAGE;
  const pages = new Map<number, FramePage>();
  const framePage = (pfn: number): FramePage => {
    let p = pages.get(pfn);
    if (!p) pages.set(pfn, (p = new FramePage(mem, domain.mfnOf(pfn))));
    return p;
  };
  const page = (va: number): FramePage => framePage(pfnOf(va));

  // 1. Kernel segments (zero-filled beyond filesz: fresh frames are zero).
  for (const seg of image.segments) {
    for (let off = 0; off < seg.filesz; ) {
      const va = seg.vaddr + off;
      const n = Math.min(seg.filesz - off, PAGE - (va % PAGE));
      page(va - (va % PAGE)).setBytes(va % PAGE, seg.data.subarray(off, off + n));
      off += n;
    }
  }

  // 2. Hypercall page: 128 stubs of 32 bytes (pv_ring1_init_hypercall_page).
  if (image.hypercallPage !== undefined) {
    const hp = page(image.hypercallPage);
    hp.setBytes(0, new Uint8Array(PAGE).fill(0xcc));
    for (let nr = 0; nr < 128; nr++) {
      const stub = nr === 23
        ? [0x50, 0xb8, nr, 0, 0, 0, 0xcd, 0x82] // push %eax; mov $__HYPERVISOR_iret,%eax; int $0x82
        : [0xb8, nr, 0, 0, 0, 0xcd, 0x82, 0xc3]; // mov $nr,%eax; int $0x82; ret
      hp.setBytes(nr * 32, Uint8Array.from(stub));
    }
  }

  // 3. P2M list: pfn → mfn for every page of the reservation, a page at a time.
  for (let first = 0; first < nrPages; first += 1024) {
    const n = Math.min(1024, nrPages - first);
    const chunk = new Uint8Array(n * 4);
    const dv = new DataView(chunk.buffer);
    for (let k = 0; k < n; k++) dv.setUint32(k * 4, domain.mfnOf(first + k), true);
    page(plan.p2mVa + first * 4).setBytes(0, chunk);
  }

  // 4. Bootstrap page tables: L3, then an L2 per GiB, then an L1 per 2 MiB of [virtBase, mapEnd).
  const ptPfn = pfnOf(plan.ptVa);
  let next = ptPfn;
  const l3 = next++;
  const l2s = new Map<number, number>();
  const l1s = new Map<number, number>();
  for (let va = plan.virtBase; va < plan.mapEnd; va += 2 ** 21) {
    const g = Math.floor(va / 2 ** 30);
    if (!l2s.has(g)) l2s.set(g, next++);
  }
  if (!l2s.has(3)) l2s.set(3, next++); // the slot-3 L2 Xen insists on (empty below the hole)
  for (let va = plan.virtBase; va < plan.mapEnd; va += 2 ** 21) l1s.set(Math.floor(va / 2 ** 21), next++);
  const setEntry = (tablePfn: number, index: number, mfn: number, flags: number): void => {
    const t = framePage(tablePfn);
    t.setU32(index * 8, ((mfn % 0x100000) * PAGE + flags) >>> 0);
    t.setU32(index * 8 + 4, Math.floor(mfn / 0x100000));
  };
  for (const [g, l2] of l2s) setEntry(l3, g, domain.mfnOf(l2), L3_PROT);
  for (const [m, l1] of l1s) setEntry(l2s.get(Math.floor(m / 512))!, m % 512, domain.mfnOf(l1), L2_PROT);
  const ptEnd = plan.ptVa + plan.nrPtFrames * PAGE;
  for (let va = plan.virtBase; va < plan.mapEnd; va += PAGE) {
    const readOnly = va >= plan.ptVa && va < ptEnd;
    setEntry(l1s.get(Math.floor(va / 2 ** 21))!, (va / PAGE) % 512, domain.mfnOf(pfnOf(va)), readOnly ? L1_PROT & ~RW : L1_PROT);
  }

  // 5. start_info.
  const si = page(plan.startInfoVa);
  si.setBytes(START.MAGIC, new TextEncoder().encode('xen-3.0-x86_32p'));
  si.setU32(START.NR_PAGES, nrPages);
  si.setU32(START.SHARED_INFO, domain.sharedInfo.mfn * PAGE);
  si.setU32(START.FLAGS, 0);
  si.setU32(START.STORE_MFN, domain.mfnOf(pfnOf(plan.storeVa)));
  si.setU32(START.STORE_EVTCHN, opts.storePort);
  si.setU32(START.CONSOLE_MFN, domain.mfnOf(pfnOf(plan.consoleVa)));
  si.setU32(START.CONSOLE_EVTCHN, opts.consolePort);
  si.setU32(START.PT_BASE, plan.ptVa);
  si.setU32(START.NR_PT_FRAMES, plan.nrPtFrames);
  si.setU32(START.MFN_LIST, plan.p2mVa);
  const cmd = new TextEncoder().encode(opts.cmdline ?? '').subarray(0, START.CMD_LINE_SIZE - 1);
  si.setBytes(START.CMD_LINE, cmd);
  domain.startInfoMfn = domain.mfnOf(pfnOf(plan.startInfoVa));
  domain.storeMfn = domain.mfnOf(pfnOf(plan.storeVa));
  domain.consoleMfn = domain.mfnOf(pfnOf(plan.consoleVa));
  domain.storePort = opts.storePort;
  domain.consolePort = opts.consolePort;

  // 6. vCPU 0 entry state (xg_dom_x86.c vcpu_x86_32).
  const l3Mfn = domain.mfnOf(l3);
  const cpu = domain.vcpus[0]!.cpu;
  cpu.efer = EFER_NXE;
  cpu.cr4 = CR4_PAE;
  cpu.mmu.pdptBase = l3Mfn * PAGE;
  cpu.cr3 = ((l3Mfn << 12) | (l3Mfn >>> 20)) >>> 0; // xen_pfn_to_cr3
  cpu.setCr0(CR0_PE | CR0_PG | CR0_WP | 0x10 /* ET */);
  cpu.setSegment(CS, FLAT_RING1_CS);
  for (const seg of [DS, ES, FS, GS, SSR]) cpu.setSegment(seg, FLAT_RING1_DS);
  cpu.eip = image.entry >>> 0;
  cpu.r32[ESP] = plan.stackVa + PAGE;
  cpu.r32[ESI] = plan.startInfoVa;
  cpu.setFlags(0x200);
  return { ...plan, l3Mfn };
}
