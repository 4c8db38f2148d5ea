/**
 * Reproducer for FINDINGS.md F10: decoded code is cached by content forever, so a guest that
 * keeps producing new code grows the host's heap without bound.
 *
 *   node --expose-gc --import tsx tests/fuzz/decode-cache-growth.ts [blocks]
 *
 * Runs `mov eax, imm32; int3` with a different immediate each time, from one code page that is
 * rewritten between runs (so the old block is invalidated), and prints the heap after a GC.
 * Stays flat once the CPU evicts dead decodes.
 */
import { Cpu, X86 } from '../../runtime/cpu/index.ts';
import { MachineMemory } from '../../runtime/mem/machine.ts';

const blocks = Number(process.argv[2] ?? 200_000);
const mem = new MachineMemory(1 << 20);
const cpu = new Cpu(mem, {
  exception: (c) => c.halt(),
  rdtsc: () => 0n,
});
cpu.setCr0(X86.CR0_PE);
const code = new Uint8Array([0xb8, 0, 0, 0, 0, 0xcc]);
const heap = (): number => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1e6;
};
const before = heap();
for (let n = 1; n <= blocks; n++) {
  new DataView(code.buffer).setUint32(1, n, true);
  mem.writeBytes(0x1000, code);
  cpu.eip = 0x1000;
  cpu.halted = false;
  cpu.run(10);
  if (n % (blocks / 4) === 0) console.log(`${n} distinct blocks run: heap ${(heap() - before).toFixed(1)} MB above the start`);
}
