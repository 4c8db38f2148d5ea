/**
 * A minimal i386 Linux user-mode environment for the CPU's conformance tests and benchmarks:
 * it loads a static ELF's PT_LOAD segments into fresh machine frames, maps them (and a stack)
 * with 4 KiB PAE page tables, starts the program in ring 3 with the stack Linux would give it,
 * and implements the two system calls the test programs use, write(2) and exit(2), via int 0x80.
 * The very same binary runs natively, so their outputs can be compared byte for byte.
 */
import { readFileSync } from 'node:fs';
import { Cpu, STOP_HALT, X86, type CpuHooks, type ExceptionInfo } from '../../runtime/cpu/index.ts';
import { MachineMemory } from '../../runtime/mem/machine.ts';

export interface RunResult {
  stdout: string;
  exitCode: number | undefined;
  /** Set when the program died of an exception the environment does not handle. */
  fault?: { vector: number; errorCode: number; eip: number; cr2: number };
  instructions: number;
  seconds: number;
}

const STACK_TOP = 0xbfff0000;
const STACK_PAGES = 64;

export class LinuxUser {
  readonly mem = new MachineMemory(1 << 30);
  readonly cpu: Cpu;
  private nextFrame = 0x100; // machine frames handed out bottom-up from 1 MiB
  private pdpt = 0;
  private readonly pds = new Map<number, number>();
  private readonly pts = new Map<number, number>();
  readonly out: number[] = [];
  exitCode: number | undefined;
  fault: RunResult['fault'];

  constructor(elf: Uint8Array) {
    const hooks: CpuHooks = {
      exception: (cpu, info) => this.onException(cpu, info),
      rdtsc: (cpu) => BigInt(cpu.icount),
    };
    this.cpu = new Cpu(this.mem, hooks);
    this.pdpt = this.allocFrame();
    this.load(elf);
  }

  static fromFile(path: string): LinuxUser {
    return new LinuxUser(readFileSync(path));
  }

  private allocFrame(): number {
    return this.nextFrame++;
  }

  private phys(mfn: number): DataView {
    const f = this.mem.frame(mfn);
    return new DataView(f.u8.buffer, f.u8.byteOffset + f.base, 4096);
  }

  /** Map the page at virtual address `va` to a fresh frame (once); returns the frame. */
  private mapPage(va: number, writable: boolean): number {
    const l3 = va >>> 30, l2 = (va >>> 21) & 0x1ff, l1 = (va >>> 12) & 0x1ff;
    let pd = this.pds.get(l3);
    if (pd === undefined) {
      pd = this.allocFrame();
      this.pds.set(l3, pd);
      this.phys(this.pdpt).setUint32(l3 * 8, pd * 4096 + 1, true);
    }
    const ptKey = va >>> 21;
    let pt = this.pts.get(ptKey);
    if (pt === undefined) {
      pt = this.allocFrame();
      this.pts.set(ptKey, pt);
      this.phys(pd).setUint32(l2 * 8, pt * 4096 + 7, true);
    }
    const pte = this.phys(pt).getUint32(l1 * 8, true);
    if (pte & 1) {
      if (writable) this.phys(pt).setUint32(l1 * 8, pte | 2, true);
      return pte >>> 12;
    }
    const frame = this.allocFrame();
    this.phys(pt).setUint32(l1 * 8, frame * 4096 + (writable ? 7 : 5), true);
    return frame;
  }

  private poke(va: number, bytes: Uint8Array, writable: boolean): void {
    for (let n = 0; n < bytes.length; ) {
      const a = va + n;
      const frame = this.mapPage(a, writable);
      const off = a & 0xfff;
      const k = Math.min(bytes.length - n, 4096 - off);
      const f = this.mem.frame(frame);
      f.u8.set(bytes.subarray(n, n + k), f.base + off);
      n += k;
    }
  }

  private load(elf: Uint8Array): void {
    const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
    if (dv.getUint32(0, false) !== 0x7f454c46 || elf[4] !== 1 || dv.getUint16(18, true) !== 3) throw new Error('not an i386 ELF32 executable');
    const phoff = dv.getUint32(28, true), phentsize = dv.getUint16(42, true), phnum = dv.getUint16(44, true);
    for (let k = 0; k < phnum; k++) {
      const p = phoff + k * phentsize;
      if (dv.getUint32(p, true) !== 1) continue; // PT_LOAD
      const off = dv.getUint32(p + 4, true), va = dv.getUint32(p + 8, true);
      const filesz = dv.getUint32(p + 16, true), memsz = dv.getUint32(p + 20, true), flags = dv.getUint32(p + 24, true);
      const image = new Uint8Array(memsz);
      image.set(elf.subarray(off, off + filesz));
      this.poke(va, image, (flags & 2) !== 0);
    }
    // The stack: argc = 1, argv = {"prog", NULL}, envp = {NULL}, auxv = {AT_NULL}.
    for (let p = 1; p <= STACK_PAGES; p++) this.mapPage(STACK_TOP - p * 4096, true);
    const name = STACK_TOP - 16;
    this.poke(name, new TextEncoder().encode('prog\0'), true);
    const sp = STACK_TOP - 64;
    const words = [1, name, 0, 0, 0, 0];
    const stack = new Uint8Array(words.length * 4);
    words.forEach((w, n) => new DataView(stack.buffer).setUint32(n * 4, w, true));
    this.poke(sp, stack, true);

    const cpu = this.cpu;
    cpu.cr4 = X86.CR4_PAE;
    cpu.cr3 = this.pdpt * 4096;
    cpu.setCr0(X86.CR0_PE | X86.CR0_PG | X86.CR0_WP);
    for (const seg of [X86.ES, X86.SSR, X86.DS, X86.FS, X86.GS]) cpu.setSegment(seg, 0x2b);
    cpu.setSegment(X86.CS, 0x23);
    cpu.r32[X86.ESP] = sp;
    cpu.eip = dv.getUint32(24, true);
    cpu.setFlags(0x202);
  }

  private onException(cpu: Cpu, info: ExceptionInfo): void {
    if (info.soft && info.vector === 0x80) return this.syscall(cpu);
    this.fault = { vector: info.vector, errorCode: info.errorCode, eip: info.faultEip, cr2: cpu.cr2 };
    cpu.halt();
  }

  private syscall(cpu: Cpu): void {
    const nr = cpu.r32[X86.EAX]!;
    const a1 = cpu.r32[X86.EBX]!, a2 = cpu.r32[X86.ECX]!, a3 = cpu.r32[X86.EDX]!;
    switch (nr) {
      case 1: // exit
      case 252: // exit_group
        this.exitCode = a1 & 0xff;
        cpu.halt();
        return;
      case 4: {
        // write(fd, buf, count): stdout and stderr both go to the captured output.
        if (a1 !== 1 && a1 !== 2) {
          cpu.r32[X86.EAX] = -9; // EBADF
          return;
        }
        for (let n = 0; n < a3; n++) this.out.push(cpu.read8((a2 + n) | 0));
        cpu.r32[X86.EAX] = a3;
        return;
      }
      default:
        cpu.r32[X86.EAX] = -38; // ENOSYS
    }
  }

  /** Run to exit (or fault, or the instruction cap). */
  run(maxInstructions = 5e9): RunResult {
    const t0 = process.hrtime.bigint();
    while (this.cpu.icount < maxInstructions) {
      if (this.cpu.run(50_000_000) === STOP_HALT) break;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { stdout: Buffer.from(this.out).toString('latin1'), exitCode: this.exitCode, fault: this.fault, instructions: this.cpu.icount, seconds };
  }
}

export function runLinuxElf(path: string, maxInstructions?: number): RunResult {
  return LinuxUser.fromFile(path).run(maxInstructions);
}
