/**
 * A test bench for the CPU's unit tests: machine memory, one Cpu, optionally PAE paging with an
 * identity map, raw machine code at a known address, and an exception hook that records every
 * exception or software interrupt and (by default) halts. A snippet normally ends in INT3, so
 * "ran to the end" is "the last trap is vector 3 at the end of the code".
 *
 * Physical layout with paging (all identity-mapped, 4 KiB pages, P|RW|US|A|D unless a test
 * changes an entry; page 0 is not present so null pointers fault):
 *   0x00010000 CODE       where `exec` puts a snippet
 *   0x00020000 DATA       scratch data (any page up to 8 MiB may be used)
 *   0x00090000 STACK_TOP  initial ESP
 *   0x00700000 PDPT, PD0 (0x701000), PT0–PT3 (0x702000–0x705000), then a pool for more tables
 * Test-only: not imported by the runtime.
 */
import { Cpu, STOP_HALT, type ExceptionInfo } from './cpu.ts';
import * as K from './constants.ts';
import { MachineMemory } from '../mem/machine.ts';

export const CODE = 0x10000;
export const DATA = 0x20000;
export const STACK_TOP = 0x90000;
export const IDENTITY_BYTES = 8 << 20;
export const PDPT = 0x700000;
const PD0 = 0x701000;
const PT0 = 0x702000;
const POOL = 0x710000;
/** Identity-map entry flags: present, writable, user, accessed, dirty. */
export const PTE_DEFAULT = 0x67;
export const PDE_DEFAULT = 0x27;

export const REGS = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
export type Reg = (typeof REGS)[number];

export interface Setup extends Partial<Record<Reg, number>> {
  /** EFLAGS (bit 1 is forced to 1). Default 0x2. */
  flags?: number;
  /** Privilege level: CS and SS get a selector with this RPL. Default 0. */
  cpl?: 0 | 1 | 2 | 3;
  eip?: number;
}

export interface MachineOptions {
  /** PAE paging with the identity map (default true); false: paging off. */
  paging?: boolean;
  /** EFER.NXE (default false). */
  nx?: boolean;
  /** CR0.WP (default true). */
  wp?: boolean;
}

export interface Trap extends ExceptionInfo {
  /** EIP when the hook ran (where execution would resume). */
  eip: number;
  /** CR2 when the hook ran. */
  cr2: number;
}

export interface PortAccess {
  port: number;
  size: number;
  write: boolean;
  value: number;
}

/** Parse machine code written as hex bytes; text after ';' on a line is a comment. */
export function hex(...lines: string[]): Uint8Array {
  const out: number[] = [];
  for (const line of lines.join('\n').split('\n')) {
    for (const tok of line.replace(/;.*$/, '').trim().split(/\s+/)) {
      if (tok === '') continue;
      if (!/^[0-9a-fA-F]{2}$/.test(tok)) throw new Error(`hex: bad byte '${tok}' in '${line}'`);
      out.push(parseInt(tok, 16));
    }
  }
  return Uint8Array.from(out);
}

/** A 32-bit value as little-endian hex bytes, for addresses and immediates inside `hex`. */
export const le32 = (v: number): string =>
  [0, 8, 16, 24].map((s) => ((v >>> s) & 0xff).toString(16).padStart(2, '0')).join(' ');
export const le16 = (v: number): string => [0, 8].map((s) => ((v >>> s) & 0xff).toString(16).padStart(2, '0')).join(' ');

export class TestMachine {
  readonly mem = new MachineMemory(64 << 20);
  readonly cpu: Cpu;
  readonly traps: Trap[] = [];
  readonly ports: PortAccess[] = [];
  /** What RDTSC returns (the injected clock). */
  tsc = 0n;
  /** What IN returns. */
  portValue = 0xffffffff;
  /** Decide what happens after a trap: 'halt' (default) or 'resume' (continue at cpu.eip). */
  onTrap: (t: Trap, m: TestMachine) => 'halt' | 'resume' = () => 'halt';
  /** End of the last snippet loaded by `exec` (its INT3 is there). */
  end = 0;
  private nextTable = POOL;

  constructor(readonly opts: MachineOptions = {}) {
    this.cpu = new Cpu(this.mem, {
      exception: (cpu, info) => {
        const t: Trap = { ...info, eip: cpu.eip, cr2: cpu.cr2 };
        this.traps.push(t);
        if (this.onTrap(t, this) === 'halt') cpu.halt();
      },
      rdtsc: () => this.tsc,
      io: (_cpu, port, size, write, value) => {
        this.ports.push({ port, size, write, value: write ? value : 0 });
        return size === 32 ? this.portValue | 0 : this.portValue & ((1 << size) - 1);
      },
    });
    if (opts.paging !== false) this.identityMap();
    this.set({});
  }

  private identityMap(): void {
    for (let n = 0; n < 4; n++) this.write64(PDPT + n * 8, n === 0 ? PD0 | 1 : 0);
    for (let t = 0; t < IDENTITY_BYTES >>> 21; t++) {
      this.write64(PD0 + t * 8, (PT0 + t * 4096) | PDE_DEFAULT);
      for (let e = 0; e < 512; e++) {
        const pa = t * 0x200000 + e * 4096;
        this.write64(PT0 + t * 4096 + e * 8, pa === 0 ? 0 : pa | PTE_DEFAULT);
      }
    }
    const cpu = this.cpu;
    cpu.cr4 = K.CR4_PAE;
    cpu.cr3 = PDPT;
    if (this.opts.nx) cpu.efer = K.EFER_NXE;
    cpu.setCr0(K.CR0_PE | K.CR0_PG | (this.opts.wp === false ? 0 : K.CR0_WP));
  }

  // ---- physical memory (equal to linear memory below 8 MiB while the identity map stands) ----

  write8(pa: number, v: number): void {
    this.mem.writeBytes(pa, Uint8Array.of(v & 0xff));
  }
  write16(pa: number, v: number): void {
    this.mem.writeBytes(pa, Uint8Array.of(v & 0xff, (v >>> 8) & 0xff));
  }
  write32(pa: number, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.mem.writeBytes(pa, b);
  }
  /** A 64-bit entry as a number (below 2^53) or a bigint. */
  write64(pa: number, v: number | bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.mem.writeBytes(pa, b);
  }
  writeBytes(pa: number, bytes: Uint8Array): void {
    this.mem.writeBytes(pa, bytes);
  }
  read8(pa: number): number {
    return this.mem.readBytes(pa, 1)[0]!;
  }
  read16(pa: number): number {
    const b = this.mem.readBytes(pa, 2);
    return b[0]! | (b[1]! << 8);
  }
  read32(pa: number): number {
    return new DataView(this.mem.readBytes(pa, 4).buffer).getUint32(0, true);
  }
  read64(pa: number): bigint {
    return new DataView(this.mem.readBytes(pa, 8).buffer).getBigUint64(0, true);
  }
  readBytes(pa: number, len: number): Uint8Array {
    return this.mem.readBytes(pa, len);
  }

  // ---- paging ------------------------------------------------------------------------------

  /** A fresh zeroed page-table frame from the pool. */
  allocTable(): number {
    const pa = this.nextTable;
    this.nextTable += 4096;
    this.writeBytes(pa, new Uint8Array(4096));
    return pa;
  }

  /** Physical address of the PDE for `va` (creating the PD for its PDPT slot). */
  pdeAddr(va: number): number {
    const slot = va >>> 30;
    let pdpte = Number(this.read64(PDPT + slot * 8));
    if (!(pdpte & 1)) {
      pdpte = this.allocTable() | 1;
      this.write64(PDPT + slot * 8, pdpte);
      this.cpu.mmu.loadCr3(); // PDPTEs are loaded at MOV CR3 (SDM Vol. 3 §4.4.1)
    }
    return (pdpte & ~0xfff) + ((va >>> 21) & 0x1ff) * 8;
  }

  /** Physical address of the PTE for `va` (creating the page table if the PDE is empty). */
  pteAddr(va: number): number {
    const pdeAt = this.pdeAddr(va);
    let pde = Number(this.read64(pdeAt));
    if (!(pde & 1)) {
      pde = this.allocTable() | PDE_DEFAULT;
      this.write64(pdeAt, pde);
    }
    if (pde & 0x80) throw new Error(`pteAddr: ${va.toString(16)} is in a 2 MiB page`);
    return (pde & 0xfffff000) + ((va >>> 12) & 0x1ff) * 8;
  }

  pte(va: number): bigint {
    return this.read64(this.pteAddr(va));
  }

  setPte(va: number, entry: number | bigint): void {
    this.write64(this.pteAddr(va), entry);
  }

  /** Map the 4 KiB page at `va` to `pa` with `flags` (default P|RW|US|A|D). */
  map(va: number, pa: number, flags = PTE_DEFAULT): void {
    this.setPte(va, (pa & ~0xfff) | flags);
  }

  // ---- state -------------------------------------------------------------------------------

  set(s: Setup): this {
    const cpu = this.cpu;
    REGS.forEach((r, n) => {
      const v = s[r];
      if (v !== undefined) cpu.r32[n] = v;
    });
    if (s.esp === undefined && cpu.r32[K.ESP] === 0) cpu.r32[K.ESP] = STACK_TOP;
    if (s.flags !== undefined) cpu.setFlags(s.flags);
    if (s.cpl !== undefined || cpu.sel[K.CS] === 0) {
      const cpl = s.cpl ?? 0;
      cpu.setSegment(K.CS, 0x08 | cpl);
      for (const seg of [K.ES, K.SSR, K.DS]) cpu.setSegment(seg, 0x10 | cpl);
    }
    if (s.eip !== undefined) cpu.eip = s.eip;
    return this;
  }

  /** Load machine code at a linear address inside the identity map (physical = linear). */
  load(addr: number, code: Uint8Array | string): this {
    this.writeBytes(addr, typeof code === 'string' ? hex(code) : code);
    return this;
  }

  reg(r: Reg): number {
    return this.cpu.r32[REGS.indexOf(r)]! >>> 0;
  }
  get eax(): number { return this.reg('eax'); }
  get ecx(): number { return this.reg('ecx'); }
  get edx(): number { return this.reg('edx'); }
  get ebx(): number { return this.reg('ebx'); }
  get esp(): number { return this.reg('esp'); }
  get ebp(): number { return this.reg('ebp'); }
  get esi(): number { return this.reg('esi'); }
  get edi(): number { return this.reg('edi'); }
  get eip(): number { return this.cpu.eip >>> 0; }
  /** EFLAGS with every lazy flag computed. */
  get flags(): number { return this.cpu.getFlags() >>> 0; }
  /** The six arithmetic flags only. */
  get arith(): number { return this.flags & K.ARITH; }

  /** The last trap (the one that stopped the run, unless the hook resumed). */
  get trap(): Trap | undefined {
    return this.traps[this.traps.length - 1];
  }

  /** Whether the run stopped at the INT3 that `exec` appended after the snippet. */
  get completed(): boolean {
    const t = this.trap;
    return t !== undefined && t.vector === K.BP && t.soft && t.faultEip === this.end;
  }

  /** Registers, EIP and EFLAGS, for "nothing changed" checks. */
  snapshot(): { regs: number[]; eip: number; flags: number } {
    return { regs: REGS.map((r) => this.reg(r)), eip: this.eip, flags: this.flags };
  }

  /** Run until the CPU halts (a trap with the default hook, or HLT) or `max` instructions retire. */
  run(max = 1_000_000): this {
    const cpu = this.cpu;
    cpu.halted = false;
    const limit = cpu.icount + max;
    while (cpu.icount < limit) {
      if (cpu.run(limit - cpu.icount) === STOP_HALT) return this;
    }
    throw new Error(`TestMachine.run: no halt within ${max} instructions (EIP ${cpu.eip.toString(16)})`);
  }
}

/**
 * Run a snippet: load `code` (hex, see `hex`) at CODE followed by INT3, apply `setup`, run until
 * the first trap. `m.completed` says it reached the INT3; `m.trap` is the trap that stopped it.
 */
export function exec(code: string | string[], setup: Setup = {}, opts: MachineOptions = {}, prepare?: (m: TestMachine) => void): TestMachine {
  const m = new TestMachine(opts);
  const bytes = hex(...(Array.isArray(code) ? code : [code]), 'cc');
  m.load(CODE, bytes);
  m.end = CODE + bytes.length - 1;
  m.set({ eip: CODE, ...setup });
  prepare?.(m);
  return m.run();
}

/** EFLAGS bits by name, e.g. `fl('CF ZF')`. */
const FLAG_BITS: Record<string, number> = {
  CF: K.CF, PF: K.PF, AF: K.AF, ZF: K.ZF, SF: K.SF, TF: K.TF, IF: K.IF, DF: K.DF, OF: K.OF, NT: K.NT, AC: K.AC, ID: K.ID,
};
export function fl(names: string): number {
  let v = 0;
  for (const n of names.split(/\s+/)) {
    if (n === '') continue;
    const bit = FLAG_BITS[n];
    if (bit === undefined) throw new Error(`fl: unknown flag ${n}`);
    v |= bit;
  }
  return v;
}
