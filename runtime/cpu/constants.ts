/** Architectural constants (Intel SDM Vol. 1 §3.4.3 EFLAGS, Vol. 3 §2.5 CRs, §6.15 vectors). */

export const CF = 0x1;
export const PF = 0x4;
export const AF = 0x10;
export const ZF = 0x40;
export const SF = 0x80;
export const TF = 0x100;
export const IF = 0x200;
export const DF = 0x400;
export const OF = 0x800;
export const IOPL = 0x3000;
export const NT = 0x4000;
export const RF = 0x10000;
export const VM = 0x20000;
export const AC = 0x40000;
export const ID = 0x200000;
/** The six arithmetic flags, computed lazily. */
export const ARITH = CF | PF | AF | ZF | SF | OF;
/** Bits POPF/IRET may ever change on an i686 (no VIF/VIP; VM only by IRET from ring 0). */
export const FLAGS_WRITABLE = ARITH | TF | IF | DF | IOPL | NT | AC | ID;

export const CR0_PE = 1 << 0;
export const CR0_TS = 1 << 3;
export const CR0_WP = 1 << 16;
export const CR0_PG = 1 << 31;
export const CR4_PSE = 1 << 4;
export const CR4_PAE = 1 << 5;
export const CR4_PGE = 1 << 7;
export const EFER_NXE = 1 << 11;

export const MSR_EFER = 0xc0000080;
export const MSR_TSC = 0x10;

/** Exception vectors. */
export const DE = 0;
export const DB = 1;
export const BP = 3;
export const OFV = 4;
export const BR = 5;
export const UD = 6;
export const NM = 7;
export const DFV = 8;
export const TS = 10;
export const NP = 11;
export const SS = 12;
export const GP = 13;
export const PFV = 14;
export const MF = 16;
export const ACV = 17;
export const MC = 18;

/** Page-fault error code bits (SDM Vol. 3 §4.7). */
export const PFEC_P = 1;
export const PFEC_W = 2;
export const PFEC_U = 4;
export const PFEC_RSVD = 8;
export const PFEC_I = 16;

/** General registers, in encoding order. Slot 8 of the register file always holds 0. */
export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7, ZERO = 8;
/** Segment registers, in encoding order. */
export const ES = 0, CS = 1, SSR = 2, DS = 3, FS = 4, GS = 5;
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
