/**
 * Emulated side of the CPU fuzzer: one MachineMemory and one Cpu, reused for every case.
 *
 * The CPU runs in ring 3 with the native process's flat selectors, at the same addresses as
 * harness.c. Without paging (CR0.PG = 0) linear = physical. With paging, PAE tables map exactly
 * the harness's pages (identity, user, writable; EFER.NXE on as in a 64-bit host kernel), so an
 * access or a fetch beyond them raises #PF with the same CR2 and error code as natively. Each case rewrites the code
 * through `mem.writeBytes` (which invalidates decoded blocks of the code frames) and the DATA
 * and STACK pages, loads registers and EFLAGS, and runs until the exception hook sees the
 * closing int3 or a fault; the hook records the vector and EIP and halts the CPU.
 */
import { CodeCache, Cpu, STOP_HALT, X86, type ExceptionInfo } from '../../runtime/cpu/index.ts';
import type { Block } from '../../runtime/cpu/insn.ts';
import { translate } from '../../runtime/cpu/translate.ts';
import { MachineMemory } from '../../runtime/mem/machine.ts';
import {
  CODE_BASE, CODE_SIZE, DATA_PAGES, EMU_MEMORY_BYTES, HAS_ERROR_CODE, MAPPED, PAGES_SIZE, SHADOW_SIZE, STACK_PAGES,
  type CaseInput, type EmulatedResult,
} from './layout.ts';

/**
 * A code cache that translates every block as soon as it is decoded, so a case that runs once
 * exercises the translation tier (runtime/cpu/translate.ts) instead of the interpreter.
 */
class TranslateAtOnce extends CodeCache {
  /** Blocks translated, and blocks the tier declined (an instruction without template source). */
  translated = 0;
  declined = 0;

  override add(block: Block): void {
    super.add(block);
    block.jit ??= translate(block);
    if (block.jit) this.translated++;
    else this.declined++;
  }
}

/** Instructions a case may retire before it counts as a hang (cases are at most a few dozen). */
const BUDGET = 100_000;
/** EFLAGS.IF: set in a Linux process, and POPF in ring 3 with IOPL 0 cannot clear it. */
const USER_FLAGS = X86.IF;

export class EmulatorRunner {
  readonly mem = new MachineMemory(EMU_MEMORY_BYTES);
  readonly cpu: Cpu;
  private readonly tier: TranslateAtOnce | undefined;
  private exception: ExceptionInfo | undefined;
  private exceptionEip = 0;
  private readonly filler = new Uint8Array(CODE_SIZE).fill(0xcc);

  /**
   * `selectors`: ES CS SS DS FS GS as the native harness reported them. `jit`: run every block
   * through the translation tier (else the interpreter only).
   */
  constructor(selectors: readonly number[], readonly paging = false, readonly jit = false) {
    const hooks = {
      exception: (cpu: Cpu, info: ExceptionInfo) => {
        this.exception = info;
        this.exceptionEip = cpu.eip;
        cpu.halt();
      },
      rdtsc: () => 0n,
    };
    this.tier = jit ? new TranslateAtOnce(this.mem) : undefined;
    this.cpu = new Cpu(this.mem, hooks, this.tier);
    this.cpu.translate = false; // no hotness-driven translation: each runner is one tier
    const cpu = this.cpu;
    if (paging) {
      cpu.efer = X86.EFER_NXE;
      cpu.cr4 = X86.CR4_PAE;
      cpu.cr3 = this.buildPageTables();
      cpu.setCr0(X86.CR0_PE | X86.CR0_PG | X86.CR0_WP);
    } else cpu.setCr0(X86.CR0_PE); // protected mode, paging off: linear = physical
    for (const seg of [X86.ES, X86.CS, X86.SSR, X86.DS, X86.FS, X86.GS]) cpu.setSegment(seg, selectors[seg] ?? 0);
    this.mem.writeBytes(CODE_BASE, this.filler);
  }

  /** Blocks run through the translation tier so far, and blocks it declined. */
  get translation(): { translated: number; declined: number } {
    return { translated: this.tier?.translated ?? 0, declined: this.tier?.declined ?? 0 };
  }

  /**
   * PAE tables (SDM Vol. 3 §4.4) at physical 1 MiB: PDPT, one page directory, one page table
   * per 2 MiB region, identity-mapping layout.ts MAPPED (P | US, and RW where writable).
   */
  private buildPageTables(): number {
    const PDPT = 0x100000, PD = 0x101000;
    let nextTable = 0x102000;
    const w64 = (addr: number, lo: number): void => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setUint32(0, lo >>> 0, true);
      this.mem.writeBytes(addr, b);
    };
    w64(PDPT + 8 * (CODE_BASE >>> 30), PD | 1);
    const tables = new Map<number, number>();
    for (const { start, end, writable } of MAPPED) {
      for (let va = start; va < end; va += 0x1000) {
        const l2 = (va >>> 21) & 0x1ff;
        let pt = tables.get(l2);
        if (pt === undefined) {
          pt = nextTable;
          nextTable += 0x1000;
          tables.set(l2, pt);
          w64(PD + 8 * l2, pt | 7);
        }
        w64(pt + 8 * ((va >>> 12) & 0x1ff), va | (writable ? 7 : 5));
      }
    }
    return PDPT;
  }

  /** Run one case from the initial shadow image `initial` (layout.ts initialShadow). */
  run(c: CaseInput, initial: Uint8Array): EmulatedResult {
    const { cpu, mem } = this;
    mem.writeBytes(DATA_PAGES, initial.subarray(0, PAGES_SIZE));
    mem.writeBytes(STACK_PAGES, initial.subarray(PAGES_SIZE));
    mem.writeBytes(c.codeAddr, c.code);
    for (let r = 0; r < 8; r++) cpu.r32[r] = c.regs[r]!;
    cpu.setFlags(c.eflags | USER_FLAGS);
    cpu.eip = c.codeAddr;
    cpu.halted = false;
    this.exception = undefined;
    let hostError: string | undefined;
    try {
      const stop = cpu.run(BUDGET);
      if (stop !== STOP_HALT) cpu.run(BUDGET);
    } catch (x) {
      // Not a guest fault: the emulator itself failed. Reported as such, never as a result.
      hostError = x instanceof Error ? x.message.split('\n')[0]! : String(x);
    }
    // (Set by the exception hook during run(); the cast undoes TypeScript's narrowing.)
    const info = this.exception as ExceptionInfo | undefined;
    const memory = new Uint8Array(SHADOW_SIZE);
    mem.readBytes(DATA_PAGES, PAGES_SIZE, memory.subarray(0, PAGES_SIZE));
    mem.readBytes(STACK_PAGES, PAGES_SIZE, memory.subarray(PAGES_SIZE));
    const regs = new Uint32Array(8);
    for (let r = 0; r < 8; r++) regs[r] = cpu.r32[r]!;
    // Restore the filler so the next case's stale bytes are the same as natively (int3s).
    mem.writeBytes(c.codeAddr, this.filler.subarray(0, c.code.length));
    return {
      vector: info ? info.vector : -1, // -1: ran out of budget without trapping
      errorCode: info && HAS_ERROR_CODE.has(info.vector) ? info.errorCode : -1,
      cr2: info?.vector === 14 ? cpu.cr2 >>> 0 : 0,
      eip: info ? this.exceptionEip >>> 0 : cpu.eip >>> 0,
      regs,
      eflags: cpu.getFlags() >>> 0,
      memory,
      hostError,
    };
  }
}
