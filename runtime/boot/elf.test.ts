import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ElfImageError, loadXenImage, parseElf32 } from './elf.ts';
import { XEN_ELFNOTE } from './notes.ts';

// ---- a small ELF32 builder for synthetic kernels ----

interface Seg {
  type?: number;
  vaddr: number;
  paddr?: number;
  data: Uint8Array;
  memsz?: number;
  flags?: number;
  /** Override p_offset / p_filesz to build broken files. */
  offset?: number;
  filesz?: number;
}
interface Note {
  type: number;
  desc: Uint8Array;
  name?: string;
}
interface Build {
  segs: Seg[];
  notes?: Note[];
  /** Where the notes go: a PT_NOTE segment (default) or only an SHT_NOTE section. */
  notesIn?: 'segment' | 'section';
  xenGuest?: string;
  entry?: number;
  machine?: number;
  type?: number;
  cls?: number;
}

const u32 = (v: number | bigint, size = 4): Uint8Array => {
  const b = new Uint8Array(size);
  let x = BigInt(v);
  for (let i = 0; i < size; i++, x >>= 8n) b[i] = Number(x & 0xffn);
  return b;
};
const str = (s: string): Uint8Array => new Uint8Array([...Buffer.from(s, 'latin1'), 0]);
const pad4 = (b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(Math.ceil(b.length / 4) * 4);
  out.set(b);
  return out;
};

function noteBytes(notes: Note[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const n of notes) {
    const name = str(n.name ?? 'Xen');
    parts.push(u32(name.length), u32(n.desc.length), u32(n.type), pad4(name), pad4(n.desc));
  }
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function buildElf(b: Build): Uint8Array {
  const notes = b.notes ? noteBytes(b.notes) : undefined;
  const withNoteSeg = notes && (b.notesIn ?? 'segment') === 'segment';
  const phnum = b.segs.length + (withNoteSeg ? 1 : 0);
  let off = 52 + phnum * 32;
  const blobs: [number, Uint8Array][] = [];
  const place = (data: Uint8Array): number => {
    off = Math.ceil(off / 16) * 16;
    const at = off;
    blobs.push([at, data]);
    off += data.length;
    return at;
  };
  const phdrs: Uint8Array[] = [];
  for (const s of b.segs) {
    const at = place(s.data);
    phdrs.push(concat([
      u32(s.type ?? 1), u32(s.offset ?? at), u32(s.vaddr), u32(s.paddr ?? s.vaddr),
      u32(s.filesz ?? s.data.length), u32(s.memsz ?? s.data.length), u32(s.flags ?? 5), u32(0x1000),
    ]));
  }
  let noteAt = 0;
  if (notes) noteAt = place(notes);
  if (withNoteSeg) phdrs.push(concat([u32(4), u32(noteAt), u32(0), u32(0), u32(notes!.length), u32(notes!.length), u32(4), u32(4)]));
  // Sections: null, [.note.Xen], [__xen_guest], .shstrtab
  const names = ['', '.shstrtab', '.note.Xen', '__xen_guest'];
  const shstr = concat(names.map(str));
  const nameOff = (n: string) => shstr.indexOf(0, 0) >= 0 ? Buffer.from(shstr).indexOf(Buffer.from(`${n}\0`, 'latin1')) : 0;
  const shstrAt = place(shstr);
  const guestAt = b.xenGuest !== undefined ? place(str(b.xenGuest)) : 0;
  const sh = (name: number, type: number, o: number, size: number) =>
    concat([u32(name), u32(type), u32(0), u32(0), u32(o), u32(size), u32(0), u32(0), u32(1), u32(0)]);
  const shdrs = [sh(0, 0, 0, 0), sh(nameOff('.shstrtab'), 3, shstrAt, shstr.length)];
  if (notes) shdrs.push(sh(nameOff('.note.Xen'), 7, noteAt, notes.length));
  if (b.xenGuest !== undefined) shdrs.push(sh(nameOff('__xen_guest'), 1, guestAt, b.xenGuest.length + 1));
  off = Math.ceil(off / 4) * 4;
  const shoff = off;
  const ehdr = concat([
    new Uint8Array([0x7f, 0x45, 0x4c, 0x46, b.cls ?? 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    u32(b.type ?? 2, 2), u32(b.machine ?? 3, 2), u32(1), u32(b.entry ?? b.segs[0]?.vaddr ?? 0), u32(52), u32(shoff), u32(0),
    u32(52, 2), u32(32, 2), u32(phnum, 2), u32(40, 2), u32(shdrs.length, 2), u32(1, 2),
  ]);
  const file = new Uint8Array(shoff + shdrs.length * 40);
  file.set(ehdr, 0);
  phdrs.forEach((p, i) => file.set(p, 52 + i * 32));
  for (const [at, d] of blobs) file.set(d, at);
  shdrs.forEach((s, i) => file.set(s, shoff + i * 40));
  return file;
}

const N = XEN_ELFNOTE;
const num = (type: number, v: number | bigint, size = 4): Note => ({ type, desc: u32(v, size) });
const text = (type: number, s: string): Note => ({ type, desc: str(s) });

/** Notes as a kernel linked at 0xC0000000 would carry them (the guests/ kit does this). */
function stdNotes(extra: Note[] = [], omit: number[] = []): Note[] {
  return [
    text(N.GUEST_OS, 'xenoform-kit'), text(N.XEN_VERSION, 'xen-3.0'), text(N.LOADER, 'generic'),
    num(N.VIRT_BASE, 0xc0000000), num(N.PADDR_OFFSET, 0xc0000000), num(N.ENTRY, 0xc0000000),
    num(N.HYPERCALL_PAGE, 0xc0001000), text(N.PAE_MODE, 'yes'), text(N.FEATURES, 'pae_pgdir_above_4gb'),
    num(N.SUSPEND_CANCEL, 1),
  ].filter((n) => !omit.includes(n.type)).concat(extra);
}

const code = new Uint8Array(0x3000).fill(0x90);
const stdSegs = (): Seg[] => [
  { vaddr: 0xc0000000, data: code, flags: 5 },
  { vaddr: 0xc0003000, data: new Uint8Array(8), memsz: 0x4000, flags: 6 },
];

function refusal(bytes: Uint8Array): { code: string; message: string } {
  try {
    loadXenImage(bytes);
  } catch (e) {
    if (e instanceof ElfImageError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('image was accepted');
}

describe('ELF loader: Xen notes', () => {
  it('reads every note and lays the kernel out by libelf rules', () => {
    const img = loadXenImage(buildElf({ segs: stdSegs(), notes: stdNotes() }));
    expect(img).toMatchObject({
      entry: 0xc0000000, virtBase: 0xc0000000, paddrOffset: 0xc0000000, hypercallPage: 0xc0001000,
      paeMode: 'extended-cr3', guestOs: 'xenoform-kit', xenVersion: 'xen-3.0', loader: 'generic',
      suspendCancel: true, source: 'notes', vstart: 0xc0000000, vend: 0xc0007000,
    });
    expect(img.features.supported).toBe(1 << 4);
    expect(img.features.required).toBe(0);
    expect(img.segments.map((s) => [s.vaddr, s.filesz, s.memsz, s.flags])).toEqual([
      [0xc0000000, 0x3000, 0x3000, 5], [0xc0003000, 8, 0x4000, 6],
    ]);
    expect(img.segments[0].data[0]).toBe(0x90);
    expect(img.notes.map((n) => n.name)).toContain('HYPERCALL_PAGE');
  });

  it('loads by physical address plus VIRT_BASE - PADDR_OFFSET (Linux style)', () => {
    const segs: Seg[] = [{ vaddr: 0xc0100000, paddr: 0x100000, data: code }];
    const img = loadXenImage(buildElf({
      segs,
      notes: stdNotes([num(N.PADDR_OFFSET, 0), num(N.ENTRY, 0xc0100000), num(N.HYPERCALL_PAGE, 0xc0101000)], [N.PADDR_OFFSET, N.ENTRY, N.HYPERCALL_PAGE]),
    }));
    expect([img.vstart, img.vend, img.segments[0].vaddr, img.segments[0].paddr]).toEqual([0xc0100000, 0xc0103000, 0xc0100000, 0x100000]);
  });

  it('accepts an ENTRY note of 0 and 8-byte numeric notes; falls back to e_entry', () => {
    const segs: Seg[] = [{ vaddr: 0, data: code }];
    const base = [text(N.XEN_VERSION, 'xen-3.0'), text(N.LOADER, 'generic'), text(N.PAE_MODE, 'yes')];
    const img = loadXenImage(buildElf({ segs, entry: 0x40, notes: [...base, num(N.VIRT_BASE, 0, 8), num(N.ENTRY, 0, 8)] }));
    expect([img.entry, img.virtBase, img.paddrOffset, img.hypercallPage]).toEqual([0, 0, 0, undefined]);
    const img2 = loadXenImage(buildElf({ segs, entry: 0x40, notes: base }));
    expect(img2.entry).toBe(0x40);
  });

  it('reads notes from SHT_NOTE sections when there is no PT_NOTE segment', () => {
    const img = loadXenImage(buildElf({ segs: stdSegs(), notes: stdNotes(), notesIn: 'section' }));
    expect(img.hypercallPage).toBe(0xc0001000);
  });

  it('ignores notes owned by others and unknown Xen note types', () => {
    const img = loadXenImage(buildElf({
      segs: stdSegs(),
      notes: [{ type: 3, name: 'GNU', desc: new Uint8Array(20) }, { type: 99, desc: new Uint8Array(3) }, ...stdNotes()],
    }));
    expect(img.entry).toBe(0xc0000000);
  });

  it('parses the legacy __xen_guest string (Mini-OS)', () => {
    const img = loadXenImage(buildElf({
      segs: [{ vaddr: 0, data: code }],
      xenGuest: 'GUEST_OS=Mini-OS,XEN_VER=xen-3.0,VIRT_BASE=0x0,ELF_PADDR_OFFSET=0x0,HYPERCALL_PAGE=0x2,PAE=yes[extended-cr3],LOADER=generic',
    }));
    expect(img).toMatchObject({
      source: '__xen_guest', guestOs: 'Mini-OS', xenVersion: 'xen-3.0', virtBase: 0, paddrOffset: 0,
      hypercallPage: 0x2000, paeMode: 'extended-cr3', loader: 'generic', entry: 0,
    });
    // HYPERCALL_PAGE is a PFN relative to VIRT_BASE; ELF_PADDR_OFFSET defaults to VIRT_BASE here.
    const img2 = loadXenImage(buildElf({
      segs: [{ vaddr: 0xc0000000, data: code }],
      xenGuest: 'GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0xC0000000,HYPERCALL_PAGE=0x1,PAE=yes',
    }));
    expect([img2.hypercallPage, img2.paddrOffset, img2.paeMode, img2.vstart]).toEqual([0xc0001000, 0xc0000000, 'yes', 0xc0000000]);
  });
});

describe('ELF loader: refusals', () => {
  const good = () => buildElf({ segs: stdSegs(), notes: stdNotes() });

  it('refuses what is not an i386 executable ELF', () => {
    expect(refusal(new Uint8Array(0))).toEqual({ code: 'NOT_ELF', message: 'not an ELF file' });
    expect(refusal(Buffer.from('#!/bin/sh\necho hi\n'))).toMatchObject({ code: 'NOT_ELF' });
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes(), machine: 62 }))).toMatchObject({ code: 'NOT_I386', message: 'not i386: an x86-64 kernel' });
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes(), machine: 40 })).message).toBe('not i386 (e_machine 40)');
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes(), cls: 2 })).code).toBe('NOT_ELF32');
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes(), type: 3 })).code).toBe('NOT_EXECUTABLE');
    expect(refusal(good().subarray(0, 40)).code).toBe('BAD_HEADER');
  });

  it('refuses bad tables and segments', () => {
    const f = good();
    const dv = new DataView(f.buffer);
    const bad1 = f.slice();
    new DataView(bad1.buffer).setUint32(28, f.length - 10, true); // e_phoff
    expect(refusal(bad1)).toMatchObject({ code: 'BAD_PHDR_TABLE', message: 'program header table exceeds file' });
    const bad2 = f.slice();
    new DataView(bad2.buffer).setUint32(32, f.length, true); // e_shoff
    expect(refusal(bad2).code).toBe('BAD_SHDR_TABLE');
    expect(dv.getUint16(44, true)).toBe(3);

    expect(refusal(buildElf({ segs: [{ vaddr: 0xc0000000, data: code, offset: 0x7fffff00 }], notes: stdNotes() })))
      .toEqual({ code: 'SEGMENT_EXCEEDS_FILE', message: 'segment 0 exceeds file' });
    expect(refusal(buildElf({ segs: [{ vaddr: 0xc0000000, data: code, memsz: 16 }], notes: stdNotes() })).code)
      .toBe('SEGMENT_FILESZ_GT_MEMSZ');
    const overlap = [
      { vaddr: 0xc0000000, data: code },
      { vaddr: 0xc0004000, data: code },
      { vaddr: 0xc0002000, data: code },
    ];
    expect(refusal(buildElf({ segs: overlap, notes: stdNotes() }))).toEqual({ code: 'SEGMENT_OVERLAP', message: 'segment 2 overlaps segment 0' });
    expect(refusal(buildElf({ segs: [{ vaddr: 0xc0000000, data: code, memsz: 0x20000000 }], notes: stdNotes() })))
      .toEqual({ code: 'SEGMENT_TOO_LARGE', message: 'segment 0 larger than 128 MiB' });
    expect(refusal(buildElf({ segs: [{ vaddr: 0xc0000000, data: code }, { vaddr: 0xc9000000, data: code }], notes: stdNotes() })))
      .toEqual({ code: 'IMAGE_TOO_LARGE', message: 'image larger than 128 MiB' });
    expect(refusal(buildElf({ segs: [{ vaddr: 0xc0000000, data: code, flags: 0 }], notes: stdNotes() })).code)
      .toBe('NO_LOADABLE_SEGMENTS');
    expect(refusal(buildElf({ segs: [{ vaddr: 0xfffff000, data: code }], notes: stdNotes() })).code).toBe('ADDRESS_OVERFLOW');
  });

  it('refuses a kernel without Xen metadata', () => {
    expect(refusal(buildElf({ segs: stdSegs() }))).toEqual({
      code: 'NOT_PV_KERNEL', message: 'no Xen notes and no __xen_guest section: not a PV kernel',
    });
    expect(refusal(buildElf({ segs: stdSegs(), notes: [{ type: 1, name: 'GNU', desc: new Uint8Array(16) }] })).code)
      .toBe('NOT_PV_KERNEL');
  });

  it('refuses non-PAE, wrong loader, wrong Xen version, dom0-only and unknown required features', () => {
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes([], [N.PAE_MODE]) }))).toEqual({
      code: 'PAE_REQUIRED', message: 'PAE_MODE must be yes (32-bit PV guests need PAE)',
    });
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes([text(N.PAE_MODE, 'no')], [N.PAE_MODE]) })).code).toBe('PAE_REQUIRED');
    expect(refusal(buildElf({ segs: [{ vaddr: 0, data: code }], xenGuest: 'XEN_VER=xen-3.0,LOADER=generic,PAE=no' })).code).toBe('PAE_REQUIRED');
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes([], [N.LOADER]) })).code).toBe('BAD_LOADER');
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes([text(N.XEN_VERSION, 'xen-2.0')], [N.XEN_VERSION]) })).code).toBe('BAD_XEN_VERSION');
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes([text(N.FEATURES, '!dom0')], [N.FEATURES]) })).code).toBe('DOM0_ONLY');
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes([text(N.FEATURES, 'x|!warp_drive')], [N.FEATURES]) }))).toEqual({
      code: 'UNKNOWN_FEATURE', message: 'kernel requires unknown Xen feature "warp_drive"',
    });
    const img = loadXenImage(buildElf({ segs: stdSegs(), notes: stdNotes([text(N.PAE_MODE, 'bimodal')], [N.PAE_MODE]) }));
    expect(img.paeMode).toBe('bimodal');
  });

  it('refuses broken notes and impossible addresses', () => {
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes([{ type: N.VIRT_BASE, desc: new Uint8Array(3) }], [N.VIRT_BASE]) })).code).toBe('BAD_NOTE');
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes([{ type: N.LOADER, desc: Buffer.from('generic') }], [N.LOADER]) })).code).toBe('BAD_NOTE');
    const truncated = buildElf({ segs: stdSegs(), notes: stdNotes() });
    const ph = 52 + 2 * 32; // the PT_NOTE header
    const dv = new DataView(truncated.buffer);
    const noteOff = dv.getUint32(ph + 4, true);
    dv.setUint32(noteOff + 4, 0x7fffffff, true); // first note's descsz
    expect(refusal(truncated).code).toBe('BAD_NOTE');
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes([num(N.ENTRY, 0xd0000000)], [N.ENTRY]) })).code).toBe('ADDRESS_OUT_OF_BOUNDS');
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes([num(N.VIRT_BASE, 0xc8000000)], [N.VIRT_BASE]) })).code).toBe('ADDRESS_OUT_OF_BOUNDS');
    expect(refusal(buildElf({ segs: stdSegs(), notes: stdNotes([], [N.VIRT_BASE]) })).code).toBe('PADDR_OFFSET_WITHOUT_VIRT_BASE');
    expect(refusal(buildElf({ segs: [{ vaddr: 0xf6000000, data: code }], notes: stdNotes([num(N.ENTRY, 0xf6000000)], [N.ENTRY]) })).code).toBe('ADDRESS_OUT_OF_BOUNDS');
  });

  it('never throws anything but ElfImageError on mangled images', () => {
    let s = 99991;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const base = good();
    for (let i = 0; i < 3000; i++) {
      const f = base.slice(0, i % 5 === 0 ? Math.floor(rnd() * base.length) : base.length);
      const flips = 1 + Math.floor(rnd() * 8);
      for (let k = 0; k < flips; k++) {
        // Aim at the headers and notes most of the time.
        const at = rnd() < 0.7 ? Math.floor(rnd() * Math.min(f.length, 400)) : Math.floor(rnd() * f.length);
        f[at] = Math.floor(rnd() * 256);
      }
      try {
        loadXenImage(f);
      } catch (e) {
        expect(e).toBeInstanceOf(ElfImageError);
      }
    }
  });
});

describe('ELF loader: built guests', () => {
  const dir = join(import.meta.dirname, '../../guests/build');
  const elves = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.elf')) : [];
  it.skipIf(elves.length === 0)('parses every guests/build/*.elf', () => {
    for (const f of elves) {
      const bytes = new Uint8Array(readFileSync(join(dir, f)));
      const img = loadXenImage(bytes);
      expect(img.paeMode, f).not.toBe('no');
      expect(img.entry, f).toBeGreaterThanOrEqual(img.vstart);
      expect(img.entry, f).toBeLessThan(img.vend);
      expect(img.segments.length, f).toBeGreaterThan(0);
      expect(parseElf32(bytes).phdrs.length, f).toBeGreaterThan(0);
    }
  });
});
