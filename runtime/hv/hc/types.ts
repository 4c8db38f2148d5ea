import type { VCpu } from '../vcpu.ts';

/** A handler that set the guest's registers itself (iret) returns this instead of a result. */
export const NO_RESULT = Symbol('no result');
export type HypercallFn = (v: VCpu, a1: number, a2: number, a3: number, a4: number, a5: number) => number | typeof NO_RESULT;
/** One hypercall of a family: number (xen.h __HYPERVISOR_*), name, handler. */
export type HypercallEntry = [nr: number, name: string, fn: HypercallFn];

export const DOMID_SELF = 0x7ff0;
export const DOMID_IO = 0x7ff1;
export const DOMID_XEN = 0x7ff2;

/** Fix a guest-supplied code/stack selector: a guest kernel never runs in ring 0. */
export const fixSelector = (sel: number): number => ((sel & 3) === 0 && (sel & 0xfffc) !== 0 ? sel | 1 : sel) & 0xffff;
