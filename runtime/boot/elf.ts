/**
 * The ELF32 loader for i386 PV kernels: validates the container (every
 * header, table and segment bound-checked, since the image is hostile input),
 * reads Xen's metadata (notes.ts) and works out where the kernel goes with
 * libelf's rules (elf_xen_parse(), elf_xen_note_check() and
 * elf_xen_addr_calc_check() in xen/common/libelf/libelf-dominfo.c;
 * elf_parse_binary() and elf_load_binary() in libelf-loader.c).
 *
 * Addresses: libelf loads each PT_LOAD segment by its *physical* address:
 * virt_offset = VIRT_BASE - PADDR_OFFSET and a segment lands at virtual
 * p_paddr + virt_offset. The kernel spans [vstart, vend) = [pstart, pend) +
 * virt_offset, where pstart/pend bound the segments' p_paddr..p_paddr+p_memsz.
 * The domain builder maps that range 1:1 onto pseudo-physical frames from
 * (vaddr - virtBase) >> 12.
 */
import type { ElfImageErrorCode, PaeMode, XenGuestParams } from './notes.ts';
import { ElfImageError, emptyParams, parseGuestInfo, parseNoteRange, refuse } from './notes.ts';

export { ElfImageError } from './notes.ts';
export type { ElfImageErrorCode, PaeMode } from './notes.ts';

const EM_386 = 3;
const EM_X86_64 = 62;
const ET_EXEC = 2;
const PT_LOAD = 1;
const PT_NOTE = 4;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const PF_RWX = 7;
const EHDR_SIZE = 52;
const PHDR_SIZE = 32;
const SHDR_SIZE = 40;
/** Where the Xen hole starts for a PAE guest (MACH2PHYS_VIRT_START, xen-x86_32.h; ../shared/xen-abi.md §2). */
const HYPERVISOR_VIRT_START_PAE = 0xf5800000n;
const U32 = 0x1_0000_0000n;
const U64_MASK = 0xffffffffffffffffn;

export interface ElfProgramHeader {
  index: number;
  type: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  flags: number;
  align: number;
}

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  offset: number;
  size: number;
}

export interface Elf32File {
  bytes: Uint8Array;
  entry: number;
  phdrs: ElfProgramHeader[];
  sections: ElfSection[];
}

export interface XenSegment {
  /** Program header index. */
  index: number;
  /** Virtual address the builder loads the segment at: p_paddr + virt_offset. */
  vaddr: number;
  /** p_paddr as linked. */
  paddr: number;
  /** p_vaddr as linked (informational; loading follows p_paddr, as libelf does). */
  linkVaddr: number;
  memsz: number;
  filesz: number;
  /** PF_X 1, PF_W 2, PF_R 4. */
  flags: number;
  /** The file bytes (a view, length filesz); the rest up to memsz is zero. */
  data: Uint8Array;
}

export interface XenImage {
  entry: number;
  virtBase: number;
  paddrOffset: number;
  /** Virtual address of the hypercall page, or undefined if the kernel asked for none. */
  hypercallPage: number | undefined;
  paeMode: Exclude<PaeMode, 'no'>;
  guestOs: string;
  guestVersion: string;
  xenVersion: string;
  loader: string;
  /** XENFEAT bit maps (submap 0): what the kernel supports and what it requires. */
  features: { supported: number; required: number };
  /** HV_START_LOW, if given: the kernel wants the Xen hole to start here. */
  hvStartLow: number | undefined;
  /** INIT_P2M: virtual address where the kernel wants the P2M list, if given. */
  p2mBase: number | undefined;
  suspendCancel: boolean;
  modStartPfn: boolean;
  /** Where the metadata came from. */
  source: 'notes' | '__xen_guest';
  segments: XenSegment[];
  /** The kernel's virtual extent [vstart, vend). */
  vstart: number;
  vend: number;
  /** Every Xen note, for diagnostics. */
  notes: XenGuestParams['raw'];
}

export interface LoadOptions {
  /** Refuse images whose loaded extent exceeds this many MiB (default 128). */
  maxImageMiB?: number;
}

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

/** Parses and validates the ELF32 container (no Xen rules yet). */
export function parseElf32(bytes: Uint8Array, maxImageBytes = 128 * 1024 * 1024): Elf32File {
  const size = bytes.length;
  if (size < 16 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    refuse('NOT_ELF', 'not an ELF file');
  }
  if (bytes[4] !== 1) refuse('NOT_ELF32', bytes[4] === 2 ? 'not i386: a 64-bit ELF file' : 'not a 32-bit ELF file');
  if (bytes[5] !== 1) refuse('NOT_LITTLE_ENDIAN', 'not a little-endian ELF file');
  if (bytes[6] !== 1) refuse('BAD_ELF_VERSION', `unknown ELF version ${bytes[6]}`);
  if (size < EHDR_SIZE) refuse('BAD_HEADER', 'ELF header truncated');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number) => dv.getUint16(o, true);
  const u32 = (o: number) => dv.getUint32(o, true);
  const machine = u16(18);
  if (machine !== EM_386) refuse('NOT_I386', machine === EM_X86_64 ? 'not i386: an x86-64 kernel' : `not i386 (e_machine ${machine})`);
  if (u16(16) !== ET_EXEC) refuse('NOT_EXECUTABLE', `not an executable (e_type ${u16(16)}, want ET_EXEC 2)`);
  if (u16(40) !== EHDR_SIZE) refuse('BAD_HEADER', `bad ELF header size ${u16(40)} (want 52)`);

  const phoff = u32(28);
  const phnum = u16(44);
  if (phnum > 0 && u16(42) !== PHDR_SIZE) refuse('BAD_PHDR_TABLE', `bad program header size ${u16(42)} (want 32)`);
  if (phnum === 0xffff) refuse('BAD_PHDR_TABLE', 'extended program header count is not supported');
  if (phoff + phnum * PHDR_SIZE > size) refuse('BAD_PHDR_TABLE', 'program header table exceeds file');
  const phdrs: ElfProgramHeader[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * PHDR_SIZE;
    phdrs.push({
      index: i, type: u32(o), offset: u32(o + 4), vaddr: u32(o + 8), paddr: u32(o + 12),
      filesz: u32(o + 16), memsz: u32(o + 20), flags: u32(o + 24), align: u32(o + 28),
    });
  }

  const shoff = u32(32);
  const shnum = u16(48);
  const shstrndx = u16(50);
  const sections: ElfSection[] = [];
  if (shnum > 0) {
    if (u16(46) !== SHDR_SIZE) refuse('BAD_SHDR_TABLE', `bad section header size ${u16(46)} (want 40)`);
    if (shoff + shnum * SHDR_SIZE > size) refuse('BAD_SHDR_TABLE', 'section header table exceeds file');
    const raw = Array.from({ length: shnum }, (_, i) => {
      const o = shoff + i * SHDR_SIZE;
      return { index: i, nameOff: u32(o), type: u32(o + 4), offset: u32(o + 16), size: u32(o + 20) };
    });
    const strtab = shstrndx > 0 && shstrndx < shnum ? raw[shstrndx] : undefined;
    if (strtab && strtab.offset + strtab.size > size) refuse('BAD_SECTION', 'section name table exceeds file');
    for (const s of raw) {
      if (s.type !== SHT_NOBITS && s.type !== 0 && s.offset + s.size > size) {
        refuse('BAD_SECTION', `section ${s.index} exceeds file`);
      }
      let name = '';
      if (strtab && s.nameOff < strtab.size) {
        const start = strtab.offset + s.nameOff;
        const end = bytes.subarray(start, strtab.offset + strtab.size).indexOf(0);
        if (end >= 0) name = String.fromCharCode(...bytes.subarray(start, start + Math.min(end, 256)));
      }
      sections.push({ index: s.index, name, type: s.type, offset: s.offset, size: s.size });
    }
  }
  checkSegments(phdrs, size, maxImageBytes);
  return { bytes, entry: u32(24), phdrs, sections };
}

/** elf_phdr_is_loadable(): PT_LOAD with any of R/W/X. */
export function isLoadable(p: ElfProgramHeader): boolean {
  return p.type === PT_LOAD && (p.flags & PF_RWX) !== 0;
}

function checkSegments(phdrs: ElfProgramHeader[], size: number, maxImageBytes: number): void {
  const max = `${Math.floor(maxImageBytes / (1024 * 1024))} MiB`;
  const loads = phdrs.filter(isLoadable);
  if (loads.length === 0) refuse('NO_LOADABLE_SEGMENTS', 'no loadable segments');
  for (const p of loads) {
    if (p.offset + p.filesz > size) refuse('SEGMENT_EXCEEDS_FILE', `segment ${p.index} exceeds file`);
    if (p.filesz > p.memsz) refuse('SEGMENT_FILESZ_GT_MEMSZ', `segment ${p.index} has p_filesz > p_memsz`);
    if (p.memsz > maxImageBytes) refuse('SEGMENT_TOO_LARGE', `segment ${p.index} larger than ${max}`);
    if (p.paddr + p.memsz > 2 ** 32) refuse('ADDRESS_OVERFLOW', `segment ${p.index} wraps past 4 GiB`);
  }
  for (const p of phdrs) {
    if (p.type === PT_NOTE && p.offset + p.filesz > size) refuse('SEGMENT_EXCEEDS_FILE', `segment ${p.index} exceeds file`);
  }
  const sorted = loads.filter((p) => p.memsz > 0).sort((a, b) => a.paddr - b.paddr || a.index - b.index);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (a.paddr + a.memsz > b.paddr) {
      refuse('SEGMENT_OVERLAP', `segment ${Math.max(a.index, b.index)} overlaps segment ${Math.min(a.index, b.index)}`);
    }
  }
  const pstart = Math.min(...loads.map((p) => p.paddr));
  const pend = Math.max(...loads.map((p) => p.paddr + p.memsz));
  if (pend - pstart > maxImageBytes) refuse('IMAGE_TOO_LARGE', `image larger than ${max}`);
}

/** elf_xen_parse(): PT_NOTE segments, else SHT_NOTE sections, else the __xen_guest section. */
function readXenParams(elf: Elf32File): XenGuestParams {
  const p = emptyParams('notes');
  const count = { n: 0 };
  for (const ph of elf.phdrs) {
    // "Some versions of binutils do not correctly set p_offset for note segments."
    if (ph.type === PT_NOTE && ph.offset !== 0) parseNoteRange(elf.bytes, ph.offset, ph.offset + ph.filesz, p, count);
  }
  if (p.xenNotes === 0) {
    for (const s of elf.sections) {
      if (s.index > 0 && s.type === SHT_NOTE) parseNoteRange(elf.bytes, s.offset, s.offset + s.size, p, count);
    }
  }
  if (p.xenNotes > 0) return p;
  const guest = elf.sections.find((s) => s.name === '__xen_guest');
  if (!guest) refuse('NOT_PV_KERNEL', 'no Xen notes and no __xen_guest section: not a PV kernel');
  const text = elf.bytes.subarray(guest.offset, guest.offset + Math.min(guest.size, 4096));
  return parseGuestInfo(String.fromCharCode(...text));
}

function addr32(what: string, v: bigint, code: ElfImageErrorCode = 'ADDRESS_OUT_OF_BOUNDS'): number {
  if (v >= U32) refuse(code, `${what} ${hex(v)} is beyond 4 GiB`);
  return Number(v);
}

/** Parses a PV kernel image and returns what the domain builder needs. Throws only ElfImageError. */
export function loadXenImage(bytes: Uint8Array, opts: LoadOptions = {}): XenImage {
  const elf = parseElf32(bytes, (opts.maxImageMiB ?? 128) * 1024 * 1024);
  const p = readXenParams(elf);

  // elf_xen_note_check()
  if (!p.loader.startsWith('generic') && !p.guestOs.startsWith('linux')) {
    refuse('BAD_LOADER', `will only load images built for the generic loader or Linux (LOADER "${p.loader}", GUEST_OS "${p.guestOs}")`);
  }
  if (!p.xenVersion.startsWith('xen-3.0')) refuse('BAD_XEN_VERSION', `XEN_VERSION must be xen-3.0 (got "${p.xenVersion}")`);
  // xc_dom_guest_type(): only the PAE flavour, xen-3.0-x86_32p, exists on 64-bit Xen (xen-abi.md).
  if (p.pae === 'no') refuse('PAE_REQUIRED', 'PAE_MODE must be yes (32-bit PV guests need PAE)');
  if (p.featuresRequired & (1 << 11)) refuse('DOM0_ONLY', 'kernel requires XENFEAT_dom0: it cannot run as a domU');

  // elf_xen_addr_calc_check()
  if (p.paddrOffset !== undefined && p.virtBase === undefined) {
    refuse('PADDR_OFFSET_WITHOUT_VIRT_BASE', 'ELF_PADDR_OFFSET set, VIRT_BASE unset');
  }
  const virtBase = p.virtBase ?? 0n;
  const paddrOffset = p.paddrOffset ?? (p.source === 'notes' ? 0n : virtBase);
  const virtOffset = (virtBase - paddrOffset) & U64_MASK;
  const loads = elf.phdrs.filter(isLoadable);
  const pstart = BigInt(Math.min(...loads.map((s) => s.paddr)));
  const pend = BigInt(Math.max(...loads.map((s) => s.paddr + s.memsz)));
  const kstart = (pstart + virtOffset) & U64_MASK;
  const kend = (pend + virtOffset) & U64_MASK;
  const entry = p.entry ?? BigInt(elf.entry);
  if (kstart > kend || entry < kstart || entry > kend || virtBase > kstart) {
    refuse('ADDRESS_OUT_OF_BOUNDS', `ELF start or entry out of bounds (kernel ${hex(kstart)}-${hex(kend)}, entry ${hex(entry)}, VIRT_BASE ${hex(virtBase)})`);
  }
  if (p.p2mBase !== undefined && p.p2mBase >= kstart && p.p2mBase < kend) {
    refuse('ADDRESS_OUT_OF_BOUNDS', `INIT_P2M ${hex(p.p2mBase)} lies inside the kernel`);
  }
  const holeStart = p.hvStartLow ?? HYPERVISOR_VIRT_START_PAE;
  if (kend > holeStart) refuse('ADDRESS_OUT_OF_BOUNDS', `kernel ends at ${hex(kend)}, inside the Xen hole at ${hex(holeStart)}`);
  if (p.hypercallPage !== undefined && (p.hypercallPage < virtBase || p.hypercallPage >= holeStart)) {
    refuse('ADDRESS_OUT_OF_BOUNDS', `HYPERCALL_PAGE ${hex(p.hypercallPage)} is outside the guest's address space`);
  }

  const off = Number(virtOffset & (U32 - 1n));
  const segments: XenSegment[] = loads.map((s) => ({
    index: s.index,
    vaddr: (s.paddr + off) % 2 ** 32,
    paddr: s.paddr,
    linkVaddr: s.vaddr,
    memsz: s.memsz,
    filesz: s.filesz,
    flags: s.flags,
    data: bytes.subarray(s.offset, s.offset + s.filesz),
  }));
  return {
    entry: addr32('entry', entry),
    virtBase: addr32('VIRT_BASE', virtBase),
    paddrOffset: addr32('PADDR_OFFSET', paddrOffset),
    hypercallPage: p.hypercallPage === undefined ? undefined : addr32('HYPERCALL_PAGE', p.hypercallPage),
    paeMode: p.pae,
    guestOs: p.guestOs,
    guestVersion: p.guestVersion,
    xenVersion: p.xenVersion,
    loader: p.loader,
    features: { supported: p.featuresSupported >>> 0, required: p.featuresRequired >>> 0 },
    hvStartLow: p.hvStartLow === undefined ? undefined : addr32('HV_START_LOW', p.hvStartLow),
    p2mBase: p.p2mBase === undefined ? undefined : addr32('INIT_P2M', p.p2mBase),
    suspendCancel: p.suspendCancel,
    modStartPfn: p.modStartPfn,
    source: p.source,
    segments,
    vstart: addr32('kernel start', kstart),
    vend: addr32('kernel end', kend),
    notes: p.raw,
  };
}

/** True if `e` is the loader's refusal (for callers mapping it to exit code 2). */
export function isElfImageError(e: unknown): e is ElfImageError {
  return e instanceof ElfImageError;
}
