/**
 * Access to guest virtual memory from hypercall handlers (Xen's copy_from_guest /
 * copy_to_guest): through the calling vCPU's page tables with its privileges, so a bad
 * pointer is a fault we turn into -EFAULT, never a host exception.
 */
import { CpuFault } from '../cpu/index.ts';
import type { VCpu } from './vcpu.ts';
import { EFAULT } from './errno.ts';

export class GuestFault extends Error {
  constructor(readonly va: number) {
    super(`guest address 0x${(va >>> 0).toString(16)} is not accessible`);
  }
}

function guard<T>(va: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CpuFault) throw new GuestFault(va);
    throw e;
  }
}

export const readU8 = (v: VCpu, va: number): number => guard(va, () => v.cpu.read8(va | 0));
export const readU16 = (v: VCpu, va: number): number => guard(va, () => v.cpu.read16(va | 0));
export const readU32 = (v: VCpu, va: number): number => guard(va, () => v.cpu.read32(va | 0) >>> 0);
export const readI32 = (v: VCpu, va: number): number => guard(va, () => v.cpu.read32(va | 0));
/** A 64-bit little-endian value as a number (exact below 2^53). */
export const readU64 = (v: VCpu, va: number): number => readU32(v, va) + readU32(v, va + 4) * 0x100000000;
export const writeU8 = (v: VCpu, va: number, x: number): void => guard(va, () => v.cpu.write8(va | 0, x));
export const writeU16 = (v: VCpu, va: number, x: number): void => guard(va, () => v.cpu.write16(va | 0, x));
export const writeU32 = (v: VCpu, va: number, x: number): void => guard(va, () => v.cpu.write32(va | 0, x | 0));
export const writeU64 = (v: VCpu, va: number, x: number): void => {
  writeU32(v, va, x % 0x100000000);
  writeU32(v, va + 4, Math.floor(x / 0x100000000));
};

export function readBytes(v: VCpu, va: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let k = 0; k < n; k++) out[k] = readU8(v, va + k);
  return out;
}

export function writeBytes(v: VCpu, va: number, data: Uint8Array): void {
  for (let k = 0; k < data.length; k++) writeU8(v, va + k, data[k]!);
}

/** Run a handler body; a guest fault inside becomes -EFAULT. */
export function guestCall(fn: () => number): number {
  try {
    return fn();
  } catch (e) {
    if (e instanceof GuestFault) return -EFAULT;
    throw e;
  }
}
