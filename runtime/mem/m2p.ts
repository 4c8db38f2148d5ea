/**
 * The machine-to-physical table (Xen's machine_to_phys_mapping, the "M2P"): for every machine
 * frame, the pseudo-physical frame its owner uses for it. Host-wide, like Xen's. PV guests keep
 * their own P2M; Xen only records what the guest or the toolstack tells it
 * (MMU_MACHPHYS_UPDATE, the domain builder, populate_physmap — xen/common/memory.c
 * set_gpfn_from_mfn) and invalidates the entry when the frame is freed.
 *
 * A compat (32-bit) guest's M2P entries are 32 bits wide; INVALID_M2P_ENTRY is ~0.
 * Storage is two-level (1024 entries per chunk, allocated on first write), so a large, mostly
 * idle host pays only for frames that were ever given a pseudo-physical number.
 */
import type { MachineMemory } from './machine.ts';

export const INVALID_M2P_ENTRY = 0xffffffff;
const CHUNK_SHIFT = 10;
const CHUNK = 1 << CHUNK_SHIFT;

export class M2P {
  private readonly dir: (Uint32Array | undefined)[];

  constructor(readonly totalFrames: number) {
    this.dir = new Array(Math.ceil(totalFrames / CHUNK));
  }

  /** The pseudo-physical frame recorded for `mfn`, or INVALID_M2P_ENTRY. */
  get(mfn: number): number {
    if (!(mfn >= 0 && mfn < this.totalFrames)) return INVALID_M2P_ENTRY;
    const chunk = this.dir[mfn >>> CHUNK_SHIFT];
    return chunk === undefined ? INVALID_M2P_ENTRY : chunk[mfn & (CHUNK - 1)]!;
  }

  /** Record `pfn` (taken as a u32, as a compat guest's entry is) for `mfn`. Out-of-range mfns are ignored. */
  set(mfn: number, pfn: number): void {
    if (!(mfn >= 0 && mfn < this.totalFrames)) return;
    const ci = mfn >>> CHUNK_SHIFT;
    let chunk = this.dir[ci];
    if (chunk === undefined) {
      if (pfn >>> 0 === INVALID_M2P_ENTRY) return;
      chunk = this.dir[ci] = new Uint32Array(CHUNK).fill(INVALID_M2P_ENTRY);
    }
    chunk[mfn & (CHUNK - 1)] = pfn >>> 0;
  }

  clear(mfn: number): void {
    this.set(mfn, INVALID_M2P_ENTRY);
  }
}

const tables = new WeakMap<MachineMemory, M2P>();

/** The host's M2P (one per machine memory). */
export function m2pOf(mem: MachineMemory): M2P {
  let t = tables.get(mem);
  if (!t) tables.set(mem, (t = new M2P(mem.totalFrames)));
  return t;
}
