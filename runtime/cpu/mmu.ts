/**
 * Address translation: PAE paging (SDM Vol. 3 §4.4) with a software TLB, accessed/dirty bits,
 * and the jump cache that maps a linear EIP to its decoded block.
 *
 * The TLB is direct-mapped (1024 entries). Each entry caches one 4 KiB page: the slab view and
 * byte offset of its machine frame, and four tags — read/write × supervisor/user — holding the
 * virtual page number when that access may take the fast path. A write tag is granted only
 * when a write would change nothing else: the PTE's dirty bit is already set and machine
 * memory says the frame holds no code and needs no dirty-log entry. Everything else takes the
 * slow path, which does the architectural work and the bookkeeping.
 */
import { CR0_PG, CR0_WP, CR4_PAE, EFER_NXE, GP, MC, PFEC_I, PFEC_P, PFEC_RSVD, PFEC_U, PFEC_W, PFV } from './constants.ts';
import { CpuFault } from './fault.ts';
import type { Cpu } from './cpu.ts';
import type { Block } from './insn.ts';
import type { MachineMemory, WriteWatcher } from '../mem/machine.ts';

const TLB_SIZE = 1024;
const TLB_MASK = TLB_SIZE - 1;
const JC_SIZE = 4096;
/** Physical-address width (CPUID reports 36 bits, as P6-family PAE processors do). */
const MAXPHY_HI_MASK = 0x0000000f; // bits 32..35 of an entry may be set; 36..51 are reserved
const ACCESS_READ = 0;
const ACCESS_WRITE = 1;
const ACCESS_FETCH = 2;

export class Mmu implements WriteWatcher {
  // Per-entry frame data.
  readonly u8: Uint8Array[] = new Array(TLB_SIZE);
  readonly dv: DataView[] = new Array(TLB_SIZE);
  readonly base = new Int32Array(TLB_SIZE);
  readonly mfn = new Int32Array(TLB_SIZE).fill(-1);
  private readonly supR = new Int32Array(TLB_SIZE).fill(-1);
  private readonly supW = new Int32Array(TLB_SIZE).fill(-1);
  private readonly usrR = new Int32Array(TLB_SIZE).fill(-1);
  private readonly usrW = new Int32Array(TLB_SIZE).fill(-1);
  /** Execute permission (a page may be readable but not executable: NX). */
  private readonly supX = new Int32Array(TLB_SIZE).fill(-1);
  private readonly usrX = new Int32Array(TLB_SIZE).fill(-1);
  private tagX: Int32Array = this.supX;
  /** Tags for the current privilege (user when CPL = 3). */
  tagR: Int32Array = this.supR;
  tagW: Int32Array = this.supW;
  /** Jump cache: linear EIP → block, one per privilege class. */
  private readonly jcSupEip: Float64Array = new Float64Array(JC_SIZE).fill(-1);
  private readonly jcSup: (Block | undefined)[] = new Array(JC_SIZE);
  /** The user-mode jump cache is allocated on first use: many guests never run ring 3. */
  private jcUsrEip: Float64Array | undefined;
  private jcUsr: (Block | undefined)[] | undefined;
  private jcEip: Float64Array = this.jcSupEip;
  private jc = this.jcSup;
  private user = false;
  /** PAE PDPTEs, loaded at MOV CR3 (SDM Vol. 3 §4.4.1). */
  private readonly pdpte = new Float64Array(4);
  /**
   * Where the PDPT is, when the embedder places it beyond what CR3 can address (a hypervisor
   * keeping a guest's L3 above 4 GiB, as Xen's pae_pgdir_above_4gb allows); -1 = from CR3.
   */
  pdptBase = -1;

  constructor(
    private readonly cpu: Cpu,
    readonly mem: MachineMemory,
  ) {
    const dummy = new Uint8Array(0);
    const dummyDv = new DataView(new ArrayBuffer(0));
    this.u8.fill(dummy);
    this.dv.fill(dummyDv);
    mem.addWatcher(this);
  }

  /** Detach from machine memory (the vCPU is gone). */
  dispose(): void {
    this.mem.removeWatcher(this);
  }

  selectPrivilege(user: boolean): void {
    this.user = user;
    this.tagR = user ? this.usrR : this.supR;
    this.tagW = user ? this.usrW : this.supW;
    this.tagX = user ? this.usrX : this.supX;
    if (user && this.jcUsr === undefined) {
      this.jcUsrEip = new Float64Array(JC_SIZE).fill(-1);
      this.jcUsr = new Array(JC_SIZE);
    }
    this.jcEip = user ? this.jcUsrEip! : this.jcSupEip;
    this.jc = user ? this.jcUsr! : this.jcSup;
  }

  flush(): void {
    this.supR.fill(-1);
    this.supW.fill(-1);
    this.usrR.fill(-1);
    this.usrW.fill(-1);
    this.supX.fill(-1);
    this.usrX.fill(-1);
    this.flushJumpCache();
  }

  flushJumpCache(): void {
    this.jcSupEip.fill(-1);
    this.jcUsrEip?.fill(-1);
    this.jcSup.fill(undefined);
    this.jcUsr?.fill(undefined);
  }

  invlpg(addr: number): void {
    const idx = (addr >>> 12) & TLB_MASK;
    this.supR[idx] = this.supW[idx] = this.usrR[idx] = this.usrW[idx] = this.supX[idx] = this.usrX[idx] = -1;
    this.flushJumpCache();
  }

  loadCr3(): void {
    const cpu = this.cpu;
    if (cpu.cr4 & CR4_PAE && cpu.cr0 & CR0_PG) {
      // CR3 bits 31:5 locate the 32-byte-aligned PDPT (SDM Vol. 3 §4.4.1). All four entries are
      // checked before any is committed, so a #GP leaves the old ones in place.
      const base = this.pdptBase >= 0 ? this.pdptBase : (cpu.cr3 & ~0x1f) >>> 0;
      const next = new Float64Array(4);
      for (let n = 0; n < 4; n++) {
        const lo = this.phys32(base + n * 8);
        const hi = this.phys32(base + n * 8 + 4);
        if (lo & 1 && (hi & ~MAXPHY_HI_MASK || lo & 0x1e6)) throw new CpuFault(GP, 0);
        next[n] = hi * 0x100000000 + (lo >>> 0);
      }
      this.pdpte.set(next);
    }
    this.flush();
  }

  // ---- WriteWatcher -------------------------------------------------------------------------

  revokeWrites(mfn: number): void {
    const m = this.mfn;
    for (let idx = 0; idx < TLB_SIZE; idx++) {
      if (m[idx] === mfn) this.supW[idx] = this.usrW[idx] = -1;
    }
  }

  revokeAllWrites(): void {
    this.supW.fill(-1);
    this.usrW.fill(-1);
  }

  // ---- physical helpers for the walker --------------------------------------------------------

  private phys32(addr: number): number {
    const mfn = Math.floor(addr / 4096);
    if (!this.mem.exists(mfn)) throw new CpuFault(MC, -1);
    const f = this.mem.frame(mfn);
    return f.dv.getInt32(f.base + (addr & 0xfff), true);
  }

  private setPhysBits(addr: number, bits: number): void {
    const mfn = Math.floor(addr / 4096);
    const f = this.mem.frame(mfn);
    const off = f.base + (addr & 0xfff);
    const old = f.dv.getInt32(off, true);
    if ((old & bits) === bits) return;
    this.mem.noteWrite(mfn);
    f.dv.setInt32(off, old | bits, true);
  }

  // ---- the walk ---------------------------------------------------------------------------------

  /**
   * Translate `addr` for `access` and fill the TLB entry. Throws #PF on a fault.
   * Returns the TLB index.
   */
  private fill(addr: number, access: number): number {
    const cpu = this.cpu;
    const vpage = addr >>> 12;
    const idx = vpage & TLB_MASK;
    let mfn: number;
    let writable = true;
    let userOk = true;
    let dirty = true;
    let execOk = true;
    if (!(cpu.cr0 & CR0_PG)) {
      mfn = vpage;
    } else if (cpu.cr4 & CR4_PAE) {
      const pdpte = this.pdpte[addr >>> 30]!;
      if (pdpte % 2 === 0) throw this.pageFault(addr, access, 0);
      const pdAddr = Math.floor(pdpte / 4096) % 0x1000000 * 4096 + ((addr >>> 21) & 0x1ff) * 8;
      const pdeLo = this.phys32(pdAddr);
      const pdeHi = this.phys32(pdAddr + 4);
      if (!(pdeLo & 1)) throw this.pageFault(addr, access, 0);
      if (pdeHi & 0x7ffffff0) throw this.pageFault(addr, access, PFEC_P | PFEC_RSVD);
      const nx = pdeHi < 0 && (cpu.efer & EFER_NXE) !== 0;
      if (pdeHi < 0 && !(cpu.efer & EFER_NXE)) throw this.pageFault(addr, access, PFEC_P | PFEC_RSVD);
      writable = (pdeLo & 2) !== 0;
      userOk = (pdeLo & 4) !== 0;
      execOk = !nx;
      if (pdeLo & 0x80) {
        // 2 MiB page: bits 20:13 reserved.
        if (pdeLo & 0x1fe000) throw this.pageFault(addr, access, PFEC_P | PFEC_RSVD);
        this.checkAccess(addr, access, writable, userOk, execOk);
        this.setPhysBits(pdAddr, access === ACCESS_WRITE ? 0x60 : 0x20);
        dirty = access === ACCESS_WRITE || (pdeLo & 0x40) !== 0;
        mfn = (pdeHi & MAXPHY_HI_MASK) * 0x100000 + ((pdeLo >>> 12) & ~0x1ff) + ((addr >>> 12) & 0x1ff);
      } else {
        const ptAddr = (pdeHi & MAXPHY_HI_MASK) * 0x100000000 + ((pdeLo & ~0xfff) >>> 0) + ((addr >>> 12) & 0x1ff) * 8;
        const pteLo = this.phys32(ptAddr);
        const pteHi = this.phys32(ptAddr + 4);
        if (!(pteLo & 1)) throw this.pageFault(addr, access, 0);
        if (pteHi & 0x7ffffff0) throw this.pageFault(addr, access, PFEC_P | PFEC_RSVD);
        if (pteHi < 0) {
          if (!(cpu.efer & EFER_NXE)) throw this.pageFault(addr, access, PFEC_P | PFEC_RSVD);
          execOk = false;
        }
        writable = writable && (pteLo & 2) !== 0;
        userOk = userOk && (pteLo & 4) !== 0;
        this.checkAccess(addr, access, writable, userOk, execOk);
        // Accessed bits on both levels; dirty on the PTE for a write (SDM Vol. 3 §4.8).
        this.setPhysBits(pdAddr, 0x20);
        this.setPhysBits(ptAddr, access === ACCESS_WRITE ? 0x60 : 0x20);
        dirty = access === ACCESS_WRITE || (pteLo & 0x40) !== 0;
        mfn = (pteHi & MAXPHY_HI_MASK) * 0x100000 + (pteLo >>> 12);
      }
    } else {
      // Xenoform's CPU implements PAE paging only (Xen PV guests must use PAE).
      throw new CpuFault(GP, 0);
    }
    if (!this.mem.exists(mfn)) throw new CpuFault(MC, -1);
    const slot = this.mem.slotFor(mfn);
    this.u8[idx] = this.mem.slabU8(slot);
    this.dv[idx] = this.mem.slabDV(slot);
    this.base[idx] = (slot & 0xff) << 12;
    this.mfn[idx] = mfn;
    // Supervisor writes honour R/W only with CR0.WP (SDM Vol. 3 §4.6.1).
    const supWrite = writable || !(cpu.cr0 & CR0_WP);
    const fastWrite = dirty && this.mem.writeFastOk(mfn);
    this.supR[idx] = vpage;
    this.supW[idx] = supWrite && fastWrite ? vpage : -1;
    this.usrR[idx] = userOk ? vpage : -1;
    this.usrW[idx] = userOk && writable && fastWrite ? vpage : -1;
    this.supX[idx] = execOk ? vpage : -1;
    this.usrX[idx] = userOk && execOk ? vpage : -1;
    return idx;
  }

  private checkAccess(addr: number, access: number, writable: boolean, userOk: boolean, execOk: boolean): void {
    const cpu = this.cpu;
    const user = cpu.cpl === 3;
    if (user && !userOk) throw this.pageFault(addr, access, PFEC_P);
    if (access === ACCESS_WRITE && !writable && (user || cpu.cr0 & CR0_WP)) throw this.pageFault(addr, access, PFEC_P);
    if (access === ACCESS_FETCH && !execOk) throw this.pageFault(addr, access, PFEC_P);
  }

  private pageFault(addr: number, access: number, bits: number): CpuFault {
    let code = bits;
    if (access === ACCESS_WRITE) code |= PFEC_W;
    if (this.cpu.cpl === 3) code |= PFEC_U;
    if (access === ACCESS_FETCH && this.cpu.efer & EFER_NXE) code |= PFEC_I;
    return new CpuFault(PFV, code, addr >>> 0);
  }

  /** TLB index valid for reading `addr` at the current privilege. */
  private readEntry(addr: number): number {
    const idx = (addr >>> 12) & TLB_MASK;
    if (this.tagR[idx] === addr >>> 12) return idx;
    this.fill(addr, ACCESS_READ);
    if (this.tagR[idx] !== addr >>> 12) throw new CpuFault(PFV, PFEC_P | (this.user ? PFEC_U : 0), addr >>> 0);
    return idx;
  }

  /** TLB index valid for writing `addr`, with all write bookkeeping done. */
  private writeEntry(addr: number): number {
    const idx = (addr >>> 12) & TLB_MASK;
    if (this.tagW[idx] === addr >>> 12) return idx;
    this.fill(addr, ACCESS_WRITE);
    const mfn = this.mfn[idx]!;
    if (this.mem.isCode(mfn)) this.cpu.stopBlock = true;
    this.mem.noteWrite(mfn);
    // Now that the marks are up to date, later writes may take the fast path.
    if (this.mem.writeFastOk(mfn)) {
      if (this.user) this.usrW[idx] = addr >>> 12;
      else this.supW[idx] = addr >>> 12;
    }
    return idx;
  }

  read8Slow(addr: number): number {
    const idx = this.readEntry(addr);
    return this.u8[idx]![this.base[idx]! + (addr & 0xfff)]!;
  }

  read16Slow(addr: number): number {
    if ((addr & 0xfff) === 0xfff) return this.readSplit(addr, 2);
    const idx = this.readEntry(addr);
    return this.dv[idx]!.getUint16(this.base[idx]! + (addr & 0xfff), true);
  }

  read32Slow(addr: number): number {
    if ((addr & 0xfff) > 0xffc) return this.readSplit(addr, 4);
    const idx = this.readEntry(addr);
    return this.dv[idx]!.getInt32(this.base[idx]! + (addr & 0xfff), true);
  }

  /**
   * A read crossing a page boundary: both pages are checked first, the lower one first, so a
   * fault reports the lowest inaccessible address (the access's first byte, or the second page's).
   */
  private readSplit(addr: number, size: number): number {
    this.readEntry(addr);
    this.readEntry(((addr | 0xfff) + 1) | 0);
    let v = 0;
    for (let n = size - 1; n >= 0; n--) v = (v << 8) | this.read8Slow((addr + n) | 0);
    return size === 4 ? v | 0 : v;
  }

  write8Slow(addr: number, v: number): void {
    const idx = this.writeEntry(addr);
    this.u8[idx]![this.base[idx]! + (addr & 0xfff)] = v;
  }

  write16Slow(addr: number, v: number): void {
    if ((addr & 0xfff) === 0xfff) return this.writeSplit(addr, v, 2);
    const idx = this.writeEntry(addr);
    this.dv[idx]!.setUint16(this.base[idx]! + (addr & 0xfff), v, true);
  }

  write32Slow(addr: number, v: number): void {
    if ((addr & 0xfff) > 0xffc) return this.writeSplit(addr, v, 4);
    const idx = this.writeEntry(addr);
    this.dv[idx]!.setInt32(this.base[idx]! + (addr & 0xfff), v, true);
  }

  /** A write crossing a page boundary: check both pages before writing either (restartable). */
  private writeSplit(addr: number, v: number, size: number): void {
    this.writeEntry(addr);
    this.writeEntry(((addr | 0xfff) + 1) | 0);
    for (let n = 0; n < size; n++) {
      const a = (addr + n) | 0;
      const idx = this.writeEntry(a);
      this.u8[idx]![this.base[idx]! + (a & 0xfff)] = (v >>> (n * 8)) & 0xff;
    }
  }

  /** One instruction byte, fetched with execute permission (instructions crossing a page). */
  fetch8(addr: number): number {
    const idx = this.fill(addr, ACCESS_FETCH);
    return this.u8[idx]![this.base[idx]! + (addr & 0xfff)]!;
  }

  /** Check that `addr` is writable now (no side effects but TLB fill); for multi-part stores. */
  probeWrite(addr: number): void {
    this.writeEntry(addr);
  }

  // ---- code ---------------------------------------------------------------------------------

  /** The decoded block at linear `eip` for the current privilege. */
  lookupBlock(eip: number): Block {
    const j = (eip ^ (eip >>> 12)) & (JC_SIZE - 1);
    const b = this.jc[j];
    if (b !== undefined && this.jcEip[j] === eip && b.valid) return b;
    return this.lookupBlockSlow(eip, j);
  }

  private lookupBlockSlow(eip: number, j: number): Block {
    let idx = (eip >>> 12) & TLB_MASK;
    if (this.tagX[idx] !== eip >>> 12) idx = this.fill(eip, ACCESS_FETCH);
    const mfn = this.mfn[idx]!;
    const phys = mfn * 4096 + (eip & 0xfff);
    let b = this.cpu.code.get(phys);
    if (b === undefined || !b.valid) {
      b = this.cpu.decodeAt(eip, phys, this.u8[idx]!, this.base[idx]!);
    }
    if (b.size > 0 && b.phys >= 0) {
      this.jc[j] = b;
      this.jcEip[j] = eip;
    }
    return b;
  }
}
