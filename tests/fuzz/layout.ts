/**
 * The fuzzer's machine layout and wire format, shared by the generator, the native runner and
 * the emulator runner. Every constant here has a twin in harness.c; a disagreement shows up as
 * a mismatch on the very first case.
 *
 * Address map (flat 32-bit, identical natively and in the emulator):
 *   CODE   0x10000000–0x10001fff  RWX; a case's code sits at `codeAddr` (may straddle the page)
 *   DATA   0x10100000–0x10101fff  random bytes at 0x10100c00–0x101013ff (straddles a page), zeros around
 *   RO     0x10102000–0x10102fff  read-only zeros (a write faults after a successful read)
 *   STACK  0x10200000–0x10201fff  random bytes at 0x10200e00–0x102011ff (straddles a page), zeros around
 * Memory operands land in the random buffers; the zero margins catch a stray access (the whole
 * DATA and STACK pages are compared). Everything else is unmapped. With paging, the generator
 * also aims at the page edges on purpose, so faults happen natively and in the emulator alike.
 */

export const CODE_BASE = 0x10000000;
export const CODE_SIZE = 0x2000;
export const DATA_PAGES = 0x10100000;
export const STACK_PAGES = 0x10200000;
export const PAGES_SIZE = 0x2000;
export const RO_PAGE = DATA_PAGES + PAGES_SIZE;
export const RO_SIZE = 0x1000;
export const DATA_BUF = 0x10100c00;
export const DATA_BUF_SIZE = 0x800;
export const STACK_BUF = 0x10200e00;
export const STACK_BUF_SIZE = 0x400;
/** The compared memory: DATA pages then STACK pages, 16 KiB. */
export const SHADOW_SIZE = 2 * PAGES_SIZE;

/** The mapped ranges (natively, and in the emulator with paging). */
export const MAPPED: readonly { start: number; end: number; writable: boolean }[] = [
  { start: CODE_BASE, end: CODE_BASE + CODE_SIZE, writable: true },
  { start: DATA_PAGES, end: DATA_PAGES + PAGES_SIZE, writable: true },
  { start: RO_PAGE, end: RO_PAGE + RO_SIZE, writable: false },
  { start: STACK_PAGES, end: STACK_PAGES + PAGES_SIZE, writable: true },
];

/** Whether every byte of [addr, addr+bytes) is mapped (and writable, for a write). */
export function mapped(addr: number, bytes: number, write: boolean): boolean {
  for (let k = 0; k < bytes; k++) {
    const a = (addr + k) >>> 0;
    if (!MAPPED.some((m) => a >= m.start && a < m.end && (m.writable || !write))) return false;
  }
  return true;
}

/** Boundaries between mapped and unmapped (or read-only) memory, where faults are made. */
export const EDGES = [DATA_PAGES, RO_PAGE, RO_PAGE + RO_SIZE, STACK_PAGES, STACK_PAGES + PAGES_SIZE];

/** Machine memory the emulator needs to hold every address above. */
export const EMU_MEMORY_BYTES = STACK_PAGES + PAGES_SIZE;

/** Values that sit on the edges of arithmetic (sign, carry, width boundaries). */
export const INTERESTING32 = [
  0x00000000, 0x00000001, 0x00000002, 0xffffffff, 0x0000007f, 0x00000080, 0x000000ff, 0x00000100,
  0x00007fff, 0x00008000, 0x0000ffff, 0x00010000, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe,
  0x55555555, 0xaaaaaaaa, 0x00ff00ff, 0x12345678, 0xffffff80, 0xffff8000, 0x0000000f, 0x00000009,
];

/** xorshift32 step (Marsaglia 2003), the generator both sides use to fill memory. */
export function xorshift32(s: number): number {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return s >>> 0;
}

/**
 * Fill `words` from `seed`: three in eight words are interesting values, the rest random.
 * harness.c `fill_words` is the same function.
 */
export function fillWords(seed: number, words: Uint32Array): void {
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  for (let n = 0; n < words.length; n++) {
    s = xorshift32(s);
    if ((s & 7) < 3) words[n] = INTERESTING32[(s >>> 3) % INTERESTING32.length]!;
    else {
      s = xorshift32(s);
      words[n] = s;
    }
  }
}

/** The initial DATA and STACK pages of a case (the shadow image). */
export function initialShadow(memSeed: number, out: Uint8Array = new Uint8Array(SHADOW_SIZE)): Uint8Array {
  out.fill(0);
  const dataOff = DATA_BUF - DATA_PAGES;
  const stackOff = PAGES_SIZE + (STACK_BUF - STACK_PAGES);
  fillWords(memSeed, new Uint32Array(out.buffer, out.byteOffset + dataOff, DATA_BUF_SIZE / 4));
  fillWords((memSeed + 0x51ed) >>> 0, new Uint32Array(out.buffer, out.byteOffset + stackOff, STACK_BUF_SIZE / 4));
  return out;
}

/** Shadow offset of a linear address, or -1 outside the compared pages. */
export function shadowOffset(addr: number): number {
  if (addr >= DATA_PAGES && addr < DATA_PAGES + PAGES_SIZE) return addr - DATA_PAGES;
  if (addr >= STACK_PAGES && addr < STACK_PAGES + PAGES_SIZE) return PAGES_SIZE + addr - STACK_PAGES;
  return -1;
}

/** Linear address of a shadow offset. */
export function shadowAddress(off: number): number {
  return off < PAGES_SIZE ? DATA_PAGES + off : STACK_PAGES + off - PAGES_SIZE;
}

// ---- one case, as sent to both machines ------------------------------------------------------

/** Register order of the wire format and of results: EAX ECX EDX EBX ESP EBP ESI EDI. */
export const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

export interface CaseInput {
  codeAddr: number;
  /** Code bytes, ending with the int3 (0xCC) that closes the case. */
  code: Uint8Array;
  regs: Uint32Array;
  eflags: number;
  memSeed: number;
  /**
   * Emulator only: run with PAE paging mapping exactly the harness's pages (user, RW; NX on),
   * so accesses beyond them fault as natively; else paging off (linear = physical).
   */
  paging: boolean;
  /** Emulator only: run the blocks through the translation tier instead of the interpreter. */
  jit: boolean;
}

/** Encoded size of a case: codeAddr, 8 regs, eflags, memSeed (u32 each), u16 length, code. */
export const caseBytes = (c: CaseInput): number => 4 * 11 + 2 + c.code.length;

export function encodeCases(cases: readonly CaseInput[]): Buffer {
  let total = 0;
  for (const c of cases) total += caseBytes(c);
  const buf = Buffer.alloc(total);
  let p = 0;
  for (const c of cases) {
    buf.writeUInt32LE(c.codeAddr >>> 0, p);
    for (let r = 0; r < 8; r++) buf.writeUInt32LE(c.regs[r]! >>> 0, p + 4 + r * 4);
    buf.writeUInt32LE(c.eflags >>> 0, p + 36);
    buf.writeUInt32LE(c.memSeed >>> 0, p + 40);
    buf.writeUInt16LE(c.code.length, p + 44);
    buf.set(c.code, p + 46);
    p += caseBytes(c);
  }
  return buf;
}

// ---- one result -------------------------------------------------------------------------------

/** How a case ended: the vector (3 for the closing int3) and where execution stood. */
export interface CaseEnd {
  vector: number;
  /** Error code for vectors that push one, else -1. */
  errorCode: number;
  /** CR2 for a page fault, else 0. */
  cr2: number;
  /** EIP at the exception: the next instruction for traps (int3, INTO), the faulting one for faults. */
  eip: number;
  regs: Uint32Array;
  eflags: number;
}

/** The native result: memory as the runs of shadow bytes that differ from the initial image. */
export interface NativeResult extends CaseEnd {
  changes: MemoryChange[];
}

/** The emulated result: the final shadow image. */
export interface EmulatedResult extends CaseEnd {
  memory: Uint8Array;
  /** The emulator threw (a host-side error, not a guest exception). */
  hostError?: string;
}

/** The final shadow image from the initial one and a list of changes. */
export function applyChanges(initial: Uint8Array, changes: readonly MemoryChange[], out: Uint8Array = new Uint8Array(initial.length)): Uint8Array {
  out.set(initial);
  for (const c of changes) out.set(c.bytes, c.off);
  return out;
}

/** A run of changed shadow bytes. */
export interface MemoryChange {
  off: number;
  bytes: Uint8Array;
}

/** The runs of `now` that differ from `before` (compared a page at a time, then by bytes). */
export function diffShadow(before: Uint8Array, now: Uint8Array): MemoryChange[] {
  const out: MemoryChange[] = [];
  for (let page = 0; page < now.length; page += 4096) {
    if (Buffer.compare(before.subarray(page, page + 4096), now.subarray(page, page + 4096)) === 0) continue;
    for (let k = page; k < page + 4096; ) {
      if (before[k] === now[k]) {
        k++;
        continue;
      }
      const start = k;
      while (k < page + 4096 && before[k] !== now[k]) k++;
      out.push({ off: start, bytes: now.slice(start, k) });
    }
  }
  return out;
}

/** Vectors that push an error code (SDM Vol. 3 §6.15). */
export const HAS_ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17]);

/** The harness's greeting: magic, then its segment selectors (ES CS SS DS FS GS). */
export const HELLO_MAGIC = 0x315a4658; // "XFZ1"
export const HELLO_BYTES = 4 + 6 * 2;
