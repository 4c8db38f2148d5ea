/**
 * Test fixture for the hypervisor's memory code: a host with no run loop (the HostContext
 * interface, minimally) and PV guests laid out the way a builder would leave them — PAE page
 * tables, pinned and loaded into vCPU 0's CR3 with their references taken.
 *
 * Guest layout (pseudo-physical frame n is mapped at virtual address n * 4096, frame 0 is not
 * mapped so a null pointer faults):
 *   pfn 1 L3 · pfn 2 L2 for 0–1 GiB · pfn 3 the slot-3 L2 (Xen's hole) · pfn 4.. the L1s
 *   (one per 2 MiB), all mapped read-only; every other page is mapped read-write.
 * Test-only: not imported by the runtime.
 */
import { MachineMemory } from '../mem/machine.ts';
import { FrameTable } from '../mem/frames.ts';
import { CodeCache, X86 } from '../cpu/index.ts';
import { VirtualClock } from './clock.ts';
import { Domain, type HostContext } from './domain.ts';
import type { EventChannels } from './evtchn.ts';
import { FLAT_RING1_CS, FLAT_RING1_DS, type VCpu } from './vcpu.ts';
import { pageTypesOf, type PageTypes } from '../mem/pagetype.ts';
import { m2pOf } from '../mem/m2p.ts';
import * as P from '../mem/pte.ts';
import { callHypercall } from './hypercall.ts';
import { readU32, writeU32 } from './guestmem.ts';

export class TestHost implements HostContext {
  readonly mem: MachineMemory;
  readonly frames: FrameTable;
  readonly clock = new VirtualClock();
  readonly code: CodeCache;
  readonly domains = new Map<number, Domain>();
  readonly logs: string[] = [];

  constructor(bytes = 64 << 20) {
    this.mem = new MachineMemory(bytes);
    this.frames = new FrameTable(this.mem);
    this.code = new CodeCache(this.mem);
  }

  domain(id: number): Domain | undefined {
    return this.domains.get(id);
  }

  evtchnOf(id: number): EventChannels | undefined {
    return this.domains.get(id)?.evtchn;
  }

  wake(): void {}

  domainStateChanged(): void {}

  timer(): () => void {
    return () => undefined;
  }

  hvConsole(): void {}

  log(d: Domain, message: string): void {
    this.logs.push(`d${d.id}: ${message}`);
  }

  get pt(): PageTypes {
    return pageTypesOf(this);
  }
}

/** PTE flags used by the fixture. */
export const PTE = { P: 1, RW: 2, US: 4, A: 0x20, D: 0x40 } as const;
export const L1_RW = PTE.P | PTE.RW | PTE.A | PTE.D;
export const L1_RO = PTE.P | PTE.A;
export const L2_PROT = PTE.P | PTE.RW | PTE.A | PTE.D | PTE.US;

/** An entry naming `mfn` with `flags`, as [lo, hi]. */
export const entry = (mfn: number, flags: number): [number, number] => [(((mfn % 0x100000) << 12) | flags) >>> 0, Math.floor(mfn / 0x100000)];

export interface Guest {
  host: TestHost;
  d: Domain;
  v: VCpu;
  pt: PageTypes;
  l3: number;
  l2: number;
  xenL2: number;
  l1s: number[];
  /** Machine frame of pseudo-physical frame `pfn`. */
  mfn(pfn: number): number;
  /** The guest virtual address of pseudo-physical frame `pfn`. */
  va(pfn: number): number;
  /** Machine address of the L1 entry that maps pfn's page. */
  pteAddr(pfn: number): number;
  /** Call a hypercall as the guest's vCPU 0. */
  call(nr: number, a1?: number, a2?: number, a3?: number, a4?: number, a5?: number): number;
  w32(va: number, x: number): void;
  r32(va: number): number;
}

export interface GuestOptions {
  id?: number;
  pages?: number;
  maxPages?: number;
  vcpus?: number;
}

/** First pseudo-physical frame free for test data (after the page tables). */
export const FIRST_DATA_PFN = 16;

export function createGuest(host: TestHost, opts: GuestOptions = {}): Guest {
  const id = opts.id ?? 1;
  const pages = opts.pages ?? 512;
  if (pages > 2048 || pages < FIRST_DATA_PFN + 4) throw new Error('fixture supports 20–2048 pages');
  const d = new Domain(host, id, `guest${id}`, { name: `guest${id}`, pages, maxPages: opts.maxPages ?? pages, vcpus: opts.vcpus ?? 1 });
  host.domains.set(id, d);
  const mfns = host.frames.allocate(id, pages);
  const m2p = m2pOf(host.mem);
  mfns.forEach((m, pfn) => {
    d.p2m[pfn] = m;
    m2p.set(m, pfn);
  });
  const nL1 = Math.ceil(pages / 512);
  const l3 = mfns[1]!, l2 = mfns[2]!, xenL2 = mfns[3]!;
  const l1s = mfns.slice(4, 4 + nL1);
  const set = (table: number, index: number, mfn: number, flags: number): void => {
    const [lo, hi] = entry(mfn, flags);
    P.writeEntry(host.mem, table, index, lo, hi);
  };
  set(l3, 0, l2, PTE.P);
  set(l3, 3, xenL2, PTE.P);
  l1s.forEach((l1, k) => set(l2, k, l1, L2_PROT));
  for (let pfn = 1; pfn < pages; pfn++) {
    const table = pfn >= 1 && pfn < 4 + nL1;
    set(l1s[pfn >> 9]!, pfn & 511, mfns[pfn]!, table ? L1_RO : L1_RW);
  }
  const v = d.vcpus[0]!;
  const cpu = v.cpu;
  cpu.efer = X86.EFER_NXE;
  cpu.cr4 = X86.CR4_PAE;
  cpu.setCr0(X86.CR0_PE | X86.CR0_PG | X86.CR0_WP | 0x10);
  cpu.setSegment(X86.CS, FLAT_RING1_CS);
  for (const seg of [X86.DS, X86.ES, X86.FS, X86.GS, X86.SSR]) cpu.setSegment(seg, FLAT_RING1_DS);
  const pt = pageTypesOf(host);
  const pin = pt.pin(d, l3, 3);
  const base = pt.setBaseptr(v, l3);
  if (pin !== 0 || base !== 0) throw new Error(`fixture tables refused: pin ${pin}, baseptr ${base}`);
  return {
    host,
    d,
    v,
    pt,
    l3,
    l2,
    xenL2,
    l1s,
    mfn: (pfn) => mfns[pfn]!,
    va: (pfn) => pfn * 4096,
    pteAddr: (pfn) => l1s[pfn >> 9]! * 4096 + (pfn & 511) * 8,
    call: (nr, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0) => callHypercall(v, nr, a1, a2, a3, a4, a5) as number,
    w32: (va, x) => writeU32(v, va, x),
    r32: (va) => readU32(v, va),
  };
}
