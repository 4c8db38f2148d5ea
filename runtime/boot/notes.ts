/**
 * Xen's metadata in a PV kernel image: ELF notes named "Xen"
 * (xen/include/public/elfnote.h) and the legacy `__xen_guest` section string,
 * parsed as libelf does (elf_xen_parse_note(), elf_xen_parse_guest_info() and
 * elf_xen_parse_features() in xen/common/libelf/libelf-dominfo.c). Also home
 * of ElfImageError, the one error class of the boot image loader.
 */

export type ElfImageErrorCode =
  | 'NOT_ELF' | 'NOT_ELF32' | 'NOT_LITTLE_ENDIAN' | 'BAD_ELF_VERSION' | 'NOT_I386' | 'NOT_EXECUTABLE'
  | 'BAD_HEADER' | 'BAD_PHDR_TABLE' | 'BAD_SHDR_TABLE' | 'BAD_SECTION' | 'NO_LOADABLE_SEGMENTS'
  | 'SEGMENT_EXCEEDS_FILE' | 'SEGMENT_FILESZ_GT_MEMSZ' | 'SEGMENT_OVERLAP' | 'SEGMENT_TOO_LARGE'
  | 'IMAGE_TOO_LARGE' | 'ADDRESS_OVERFLOW' | 'NOT_PV_KERNEL' | 'BAD_NOTE' | 'TOO_MANY_NOTES'
  | 'PAE_REQUIRED' | 'BAD_LOADER' | 'BAD_XEN_VERSION' | 'UNKNOWN_FEATURE' | 'DOM0_ONLY'
  | 'PADDR_OFFSET_WITHOUT_VIRT_BASE' | 'ADDRESS_OUT_OF_BOUNDS';

/** A kernel image the loader refuses; `code` is stable, the message names the problem. */
export class ElfImageError extends Error {
  override readonly name = 'ElfImageError';
  constructor(
    readonly code: ElfImageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function refuse(code: ElfImageErrorCode, message: string): never {
  throw new ElfImageError(code, message);
}

/** XEN_ELFNOTE_* types (elfnote.h). */
export const XEN_ELFNOTE = {
  ENTRY: 1,
  HYPERCALL_PAGE: 2,
  VIRT_BASE: 3,
  PADDR_OFFSET: 4,
  XEN_VERSION: 5,
  GUEST_OS: 6,
  GUEST_VERSION: 7,
  LOADER: 8,
  PAE_MODE: 9,
  FEATURES: 10,
  BSD_SYMTAB: 11,
  HV_START_LOW: 12,
  L1_MFN_VALID: 13,
  SUSPEND_CANCEL: 14,
  INIT_P2M: 15,
  MOD_START_PFN: 16,
  SUPPORTED_FEATURES: 17,
  PHYS32_ENTRY: 18,
} as const;

const STRING_NOTES = new Set<number>([
  XEN_ELFNOTE.XEN_VERSION, XEN_ELFNOTE.GUEST_OS, XEN_ELFNOTE.GUEST_VERSION, XEN_ELFNOTE.LOADER,
  XEN_ELFNOTE.PAE_MODE, XEN_ELFNOTE.FEATURES, XEN_ELFNOTE.BSD_SYMTAB,
]);
const NUMERIC_NOTES = new Set<number>([
  XEN_ELFNOTE.ENTRY, XEN_ELFNOTE.HYPERCALL_PAGE, XEN_ELFNOTE.VIRT_BASE, XEN_ELFNOTE.PADDR_OFFSET,
  XEN_ELFNOTE.HV_START_LOW, XEN_ELFNOTE.SUSPEND_CANCEL, XEN_ELFNOTE.INIT_P2M, XEN_ELFNOTE.MOD_START_PFN,
  XEN_ELFNOTE.PHYS32_ENTRY,
]);
const NOTE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(XEN_ELFNOTE).map(([k, v]) => [v, k]));

/** XENFEAT_* bit numbers known to libelf's elf_xen_feature_names[] (xen/include/public/features.h). */
export const XENFEAT: Record<string, number> = {
  writable_page_tables: 0,
  writable_descriptor_tables: 1,
  auto_translated_physmap: 2,
  supervisor_mode_kernel: 3,
  pae_pgdir_above_4gb: 4,
  hvm_callback_vector: 8,
  dom0: 11,
};

/** XEN_PAE_*: libelf's reading of PAE_MODE ("yes" = extended-cr3) and of `PAE=` in __xen_guest. */
export type PaeMode = 'no' | 'yes' | 'extended-cr3' | 'bimodal';

/** What the notes (or the __xen_guest string) said; undefined = not given (libelf's UNSET_ADDR). */
export interface XenGuestParams {
  source: 'notes' | '__xen_guest';
  /** Count of notes named "Xen" (0 for __xen_guest). */
  xenNotes: number;
  entry?: bigint;
  virtBase?: bigint;
  paddrOffset?: bigint;
  hypercallPage?: bigint;
  hvStartLow?: bigint;
  p2mBase?: bigint;
  phys32Entry?: bigint;
  suspendCancel: boolean;
  modStartPfn: boolean;
  bsdSymtab: boolean;
  pae: PaeMode;
  guestOs: string;
  guestVersion: string;
  xenVersion: string;
  loader: string;
  featuresSupported: number;
  featuresRequired: number;
  /** Every Xen note seen, in order (numeric values as bigint). */
  raw: { type: number; name: string; value: bigint | string | Uint8Array }[];
}

export function emptyParams(source: XenGuestParams['source']): XenGuestParams {
  return {
    source, xenNotes: 0, suspendCancel: false, modStartPfn: false, bsdSymtab: false, pae: 'no',
    guestOs: '', guestVersion: '', xenVersion: '', loader: '', featuresSupported: 0, featuresRequired: 0, raw: [],
  };
}

/** ELF_MAX_TOTAL_NOTE_COUNT in libelf-private.h. */
export const MAX_TOTAL_NOTES = 65536;

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x2000) s += String.fromCharCode(...b.subarray(i, i + 0x2000));
  return s;
}
const align4 = (n: number): number => Math.ceil(n / 4) * 4;

/**
 * elf_xen_parse_features(): `name|name|!required`; an unknown required
 * feature refuses the image, unknown optional ones are ignored.
 */
export function parseFeatures(s: string, p: XenGuestParams): void {
  for (const raw of s.split('|')) {
    const f = raw.slice(0, 63);
    if (f === '') continue;
    const required = f.startsWith('!');
    const key = required ? f.slice(1) : f;
    if (!Object.hasOwn(XENFEAT, key)) {
      if (required) refuse('UNKNOWN_FEATURE', `kernel requires unknown Xen feature "${key}"`);
      continue;
    }
    const bit = XENFEAT[key];
    p.featuresSupported |= 1 << bit;
    if (required) p.featuresRequired |= 1 << bit;
  }
}

/**
 * Walks the notes in file bytes [start, end) and applies those named "Xen"
 * (elf_xen_parse_notes()). `count` carries the running total across ranges.
 */
export function parseNoteRange(
  file: Uint8Array, start: number, end: number, p: XenGuestParams, count: { n: number },
): void {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let off = start;
  while (end - off >= 12) {
    if (++count.n > MAX_TOTAL_NOTES) refuse('TOO_MANY_NOTES', 'too many ELF notes');
    const namesz = dv.getUint32(off, true);
    const descsz = dv.getUint32(off + 4, true);
    const type = dv.getUint32(off + 8, true);
    const nameOff = off + 12;
    if (namesz > end - nameOff) refuse('BAD_NOTE', `ELF note at file offset ${off} runs past its segment`);
    const descOff = nameOff + align4(namesz);
    if (descsz > 0 && (descOff > end || descsz > end - descOff)) {
      refuse('BAD_NOTE', `ELF note at file offset ${off} runs past its segment`);
    }
    const next = descOff + align4(descsz);
    const name = file.subarray(nameOff, nameOff + namesz);
    const nul = name.indexOf(0);
    if (nul >= 0 && latin1(name.subarray(0, nul)) === 'Xen') {
      applyNote(type, file.subarray(descOff, descOff + descsz), p);
      p.xenNotes++;
    }
    off = next;
  }
}

function noteNumber(type: number, desc: Uint8Array): bigint {
  if (![1, 2, 4, 8].includes(desc.length)) {
    refuse('BAD_NOTE', `Xen note ${NOTE_NAMES[type]} has a ${desc.length}-byte value (want 4 or 8)`);
  }
  let v = 0n;
  for (let i = desc.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(desc[i]);
  return v;
}

function noteString(type: number, desc: Uint8Array): string {
  const nul = desc.indexOf(0);
  if (nul < 0) refuse('BAD_NOTE', `Xen note ${NOTE_NAMES[type]} is not a NUL-terminated string`);
  return latin1(desc.subarray(0, nul));
}

/** elf_xen_parse_note(). Unknown types are skipped, as libelf does. */
function applyNote(type: number, desc: Uint8Array, p: XenGuestParams): void {
  const name = NOTE_NAMES[type] ?? `UNKNOWN_${type}`;
  if (STRING_NOTES.has(type)) {
    const s = noteString(type, desc);
    p.raw.push({ type, name, value: s });
    switch (type) {
      case XEN_ELFNOTE.XEN_VERSION: p.xenVersion = s; break;
      case XEN_ELFNOTE.GUEST_OS: p.guestOs = s; break;
      case XEN_ELFNOTE.GUEST_VERSION: p.guestVersion = s; break;
      case XEN_ELFNOTE.LOADER: p.loader = s; break;
      case XEN_ELFNOTE.PAE_MODE:
        if (s === 'yes') p.pae = 'extended-cr3';
        if (s.includes('bimodal')) p.pae = 'bimodal';
        break;
      case XEN_ELFNOTE.FEATURES: parseFeatures(s, p); break;
      case XEN_ELFNOTE.BSD_SYMTAB: if (s === 'yes') p.bsdSymtab = true; break;
    }
    return;
  }
  if (NUMERIC_NOTES.has(type)) {
    const v = noteNumber(type, desc);
    p.raw.push({ type, name, value: v });
    switch (type) {
      case XEN_ELFNOTE.ENTRY: p.entry = v; break;
      case XEN_ELFNOTE.HYPERCALL_PAGE: p.hypercallPage = v; break;
      case XEN_ELFNOTE.VIRT_BASE: p.virtBase = v; break;
      case XEN_ELFNOTE.PADDR_OFFSET: p.paddrOffset = v; break;
      case XEN_ELFNOTE.HV_START_LOW: p.hvStartLow = v; break;
      case XEN_ELFNOTE.INIT_P2M: p.p2mBase = v; break;
      case XEN_ELFNOTE.SUSPEND_CANCEL: p.suspendCancel = v !== 0n; break;
      case XEN_ELFNOTE.MOD_START_PFN: p.modStartPfn = v !== 0n; break;
      case XEN_ELFNOTE.PHYS32_ENTRY: p.phys32Entry = v; break;
    }
    return;
  }
  if (type === XEN_ELFNOTE.SUPPORTED_FEATURES) {
    // An array of u32 feature submaps; submap 0 is the one that exists.
    if (desc.length >= 4) p.featuresSupported |= desc[0] | (desc[1] << 8) | (desc[2] << 16) | (desc[3] << 24);
  }
  p.raw.push({ type, name, value: desc.slice() });
}

/** C strtoull(s, NULL, 0): optional 0x/0 prefix, leading digits only, 0 if none. */
function strtoull0(s: string): bigint {
  const t = s.trimStart();
  const m = /^0[xX]([0-9a-fA-F]+)/.exec(t) ?? /^(0[0-7]*)/.exec(t) ?? /^([1-9][0-9]*)/.exec(t);
  if (!m) return 0n;
  if (/^0[xX]/.test(t)) return BigInt(`0x${m[1]}`) & 0xffffffffffffffffn;
  if (m[1].startsWith('0')) return BigInt(`0o${m[1].slice(1) || '0'}`) & 0xffffffffffffffffn;
  return BigInt(m[1]) & 0xffffffffffffffffn;
}

/**
 * elf_xen_parse_guest_info(): `NAME=VALUE,NAME=VALUE,...` with names cut at
 * 31 and values at 127 characters. HYPERCALL_PAGE is a page number relative
 * to VIRT_BASE (Mini-OS: HYPERCALL_PAGE=0x2 means VIRT_BASE + 0x2000).
 */
export function parseGuestInfo(text: string): XenGuestParams {
  const p = emptyParams('__xen_guest');
  let h = 0;
  while (h < text.length && text[h] !== '\0') {
    let name = '';
    let value = '';
    for (;;) {
      if (name.length >= 31) break;
      const c = text[h];
      if (c === undefined || c === '\0') break;
      h++;
      if (c === ',') break;
      if (c === '=') {
        for (;;) {
          if (value.length >= 127) break;
          const d = text[h];
          if (d === undefined || d === '\0') break;
          h++;
          if (d === ',') break;
          value += d;
        }
        break;
      }
      name += c;
    }
    switch (name) {
      case 'LOADER': p.loader = value; break;
      case 'GUEST_OS': p.guestOs = value; break;
      case 'GUEST_VER': p.guestVersion = value; break;
      case 'XEN_VER': p.xenVersion = value; break;
      case 'PAE':
        if (value === 'yes[extended-cr3]') p.pae = 'extended-cr3';
        else if (value.startsWith('yes')) p.pae = 'yes';
        break;
      case 'BSD_SYMTAB': p.bsdSymtab = true; break;
      case 'VIRT_BASE': p.virtBase = strtoull0(value); break;
      case 'VIRT_ENTRY': p.entry = strtoull0(value); break;
      case 'ELF_PADDR_OFFSET': p.paddrOffset = strtoull0(value); break;
      case 'HYPERCALL_PAGE': p.hypercallPage = (strtoull0(value) << 12n) & 0xffffffffffffffffn; break;
      case 'FEATURES': parseFeatures(value, p); break;
    }
  }
  if (p.virtBase !== undefined && p.hypercallPage !== undefined) {
    p.hypercallPage = (p.hypercallPage + p.virtBase) & 0xffffffffffffffffn;
  }
  return p;
}
