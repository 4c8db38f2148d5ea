/**
 * Lazy-flag operation kinds. An arithmetic instruction records (kind, a, b, result, sign mask)
 * instead of computing EFLAGS; the flags are derived only when something reads them.
 */
import { PF } from './constants.ts';

export const LF_LOGIC = 0;
export const LF_ADD = 1;
export const LF_ADC1 = 2; // ADC with carry-in 1 (ADC with carry-in 0 is recorded as ADD)
export const LF_SUB = 3;
export const LF_SBB1 = 4; // SBB with borrow-in 1

/** Parity flag of a byte: PF set when the number of 1 bits is even (SDM Vol. 1 §3.4.3.1). */
export const PARITY = new Uint8Array(256);
for (let v = 0; v < 256; v++) {
  let bits = 0;
  for (let b = 0; b < 8; b++) bits += (v >> b) & 1;
  PARITY[v] = bits & 1 ? 0 : PF;
}
