/** The IA-32 CPU: the public surface of runtime/cpu (it knows nothing of Xen). */
export { Cpu, CpuFault, STOP_BUDGET, STOP_HALT, STOP_REQUEST } from './cpu.ts';
export type { CpuHooks, ExceptionInfo } from './cpu.ts';
export { CodeCache, decodeInsn } from './decoder.ts';
export { OPCODES, MAP, HAS_MODRM } from './table.ts';
export type { OpSpec } from './spec.ts';
export * as X86 from './constants.ts';
