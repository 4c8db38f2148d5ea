/**
 * Emulated side of the CPU fuzzer: one MachineMemory and one Cpu, reused for every case.
 *
 * Paging is off (CR0.PG = 0, linear = physical) and the CPU runs in ring 3 with the native
 * process's flat selectors, at the same addresses as harness.c. Each case rewrites the code
 * through `mem.writeBytes` (which invalidates decoded blocks of the code frames) and the DATA
 * and STACK pages, loads registers and EFLAGS, and runs until the exception hook sees the
 * closing int3 or a fault; the hook records the vector and EIP and halts the CPU.
 */
import { Cpu, STOP_HALT, X86, type ExceptionInfo } from '../../runtime/cpu/index.ts';
import { MachineMemory } from '../../runtime/mem/machine.ts';
import {
  CODE_BASE, CODE_SIZE, DATA_PAGES, EMU_MEMORY_BYTES, HAS_ERROR_CODE, PAGES_SIZE, SHADOW_SIZE, STACK_PAGES,
  type CaseInput, type EmulatedResult,
} from './layout.ts';

/** Instructions a case may retire before it counts as a hang (cases are at most a few dozen). */
const BUDGET = 100_000;
/** EFLAGS.IF: set in a Linux process, and POPF in ring 3 with IOPL 0 cannot clear it. */
const USER_FLAGS = X86.IF;

export class EmulatorRunner {
  readonly mem = new MachineMemory(EMU_MEMORY_BYTES);
  readonly cpu: Cpu;
  private exception: ExceptionInfo | undefined;
  private exceptionEip = 0;
  private readonly filler = new Uint8Array(CODE_SIZE).fill(0xcc);

  /** `selectors`: ES CS SS DS FS GS as the native harness reported them. */
  constructor(selectors: readonly number[]) {
    this.cpu = new Cpu(this.mem, {
      exception: (cpu, info) => {
        this.exception = info;
        this.exceptionEip = cpu.eip;
        cpu.halt();
      },
      rdtsc: () => 0n,
    });
    const cpu = this.cpu;
    cpu.setCr0(X86.CR0_PE); // protected mode, paging off: linear = physical
    for (const seg of [X86.ES, X86.CS, X86.SSR, X86.DS, X86.FS, X86.GS]) cpu.setSegment(seg, selectors[seg] ?? 0);
    this.mem.writeBytes(CODE_BASE, this.filler);
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
      eip: info ? this.exceptionEip >>> 0 : cpu.eip >>> 0,
      regs,
      eflags: cpu.getFlags() >>> 0,
      memory,
      hostError,
    };
  }
}
