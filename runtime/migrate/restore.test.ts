// Domain images that pass the container checks but lie inside: refused with an ImageError,
// the host left as it was. And the records' round trips (CONVENTIONS rule 6).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Host } from '../host.ts';
import { decodeImage, encodeImage, ImageError, jsonPayload, jsonSection, type ImageErrorCode, type ImageSection } from './image.ts';
import { checkChannel, checkHeader, checkPageType, checkVcpu, rewriteTable, pteFrame, withFrame } from './records.ts';
import { saveDomain } from './save.ts';
import { parseDomainImage, restoreDomain } from './restore.ts';
import { checkXsConn } from './xs-conn.ts';

const TICKER = readFileSync(new URL('../../guests/build/ticker.elf', import.meta.url));

function savedTicker() {
  const host = new Host({ clock: 'virtual', memoryBytes: 256 * 2 ** 20 });
  const d = host.createDomain({ name: 'ticker', kernel: TICKER, memoryMiB: 16 });
  let out = '';
  host.console(d.id)!.subscribe((b) => (out += Buffer.from(b).toString('latin1')));
  host.runFor(60e9, () => out.includes('tick 1\n'));
  return { host, img: saveDomain(host, d.id) };
}

function edit(img: Uint8Array, name: string, f: (v: any) => unknown): Uint8Array {
  const s: ImageSection[] = decodeImage(img).map((x) => (x.name === name ? { name, payload: jsonPayload(f(jsonSection([x], name))) } : x));
  return encodeImage(s);
}

function refusedBy(host: Host, bytes: Uint8Array, code: ImageErrorCode): void {
  const before = { free: host.frames.freeFrames, n: host.list().length };
  let err: unknown;
  try {
    restoreDomain(host, bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ImageError);
  expect((err as ImageError).code).toBe(code);
  expect({ free: host.frames.freeFrames, n: host.list().length }).toEqual(before);
}

describe('hostile domain images', () => {
  it('refuses lies about pages, tables, vCPUs and versions, leaving the host untouched', () => {
    const { host, img } = savedTicker();
    refusedBy(host, edit(img, 'header', (h) => ({ ...h, consolePfn: h.maxPages + 5 })), 'INCONSISTENT');
    refusedBy(host, edit(img, 'header', (h) => ({ ...h, version: 99 })), 'BAD_VERSION');
    refusedBy(host, edit(img, 'header', (h) => ({ ...h, pages: h.pages - 1 })), 'INCONSISTENT');
    refusedBy(host, edit(img, 'vcpus', (v) => [{ ...v[0], cr3Pfn: 1 << 19 }]), 'INCONSISTENT');
    refusedBy(host, edit(img, 'vcpus', (v) => [{ ...v[0], regs: [1, 2, 3] }]), 'MALFORMED');
    refusedBy(host, edit(img, 'pagetypes', (t) => [...t, { pfn: 1 << 30, type: 1, pinned: true }]), 'INCONSISTENT');
    refusedBy(host, edit(img, 'evtchn', (c) => [...c, c[0]]), 'INCONSISTENT');
    refusedBy(host, edit(img, 'xenstore_conn', (x) => ({ ...x, version: 7 })), 'BAD_VERSION');
    const bad = img.slice();
    bad[bad.length >> 1] ^= 0x10;
    refusedBy(host, bad, 'CHECKSUM');
    refusedBy(host, img.subarray(0, img.length - 100), 'TRUNCATED');
    // A page table entry pointing at a frame outside the image.
    const s = decodeImage(img);
    const types = jsonSection(s, 'pagetypes') as { pfn: number; type: number }[];
    const l1 = types.find((t) => t.type === 1)!;
    const pages = s.find((x) => x.name === 'pages')!.payload.slice();
    const dv = new DataView(pages.buffer);
    for (let o = 0; o < pages.length; o += 4100) {
      if (dv.getUint32(o, true) !== l1.pfn) continue;
      dv.setUint32(o + 4, 0x7fff0001, true); // entry 0: present, frame far beyond the domain
    }
    refusedBy(host, encodeImage(s.map((x) => (x.name === 'pages' ? { name: 'pages', payload: pages } : x))), 'INCONSISTENT');
    // The genuine image still restores.
    expect(restoreDomain(host, img).name).toBe('ticker');
  });
});

describe('record round trips', () => {
  it('every record of a saved domain survives JSON and its check unchanged', () => {
    const { img } = savedTicker();
    const p = parseDomainImage(img);
    const h = JSON.parse(JSON.stringify(p.header));
    expect(checkHeader(h)).toEqual(p.header);
    for (const v of p.vcpus) expect(checkVcpu(JSON.parse(JSON.stringify(v)), p.header.maxPages)).toEqual(v);
    for (const c of p.channels) expect(checkChannel(JSON.parse(JSON.stringify(c)))).toEqual(c);
    for (const [pfn, t] of p.types) expect(checkPageType({ pfn, ...t }, p.header.maxPages)).toEqual({ pfn, ...t });
    expect(checkXsConn(JSON.parse(JSON.stringify(p.xsConn)))).toEqual(p.xsConn);
    expect(p.xsConn.watches.some((w) => w.node === '~/control/shutdown')).toBe(true);
    expect(p.vcpus[0]!.cr3Pfn).toBeGreaterThanOrEqual(0);
    expect([...p.types.values()].some((t) => t.type === 3 && t.pinned)).toBe(true);
  });

  it('canonicalize then uncanonicalize gives the table back; flags and NX kept', () => {
    const page = new Uint8Array(4096);
    const dv = new DataView(page.buffer);
    const [lo, hi] = withFrame(0x067, 0x80000000, 0x123456);
    dv.setUint32(8, lo, true);
    dv.setUint32(12, hi, true);
    dv.setUint32(16, 0x5000, true); // not present: left alone
    const orig = page.slice();
    rewriteTable(page, (m) => (m === 0x123456 ? 7 : undefined), 't');
    expect(pteFrame(dv.getUint32(8, true), dv.getUint32(12, true))).toBe(7);
    expect(dv.getUint32(8, true) & 0xfff).toBe(0x067);
    expect(dv.getUint32(12, true) >>> 31).toBe(1);
    rewriteTable(page, (p) => (p === 7 ? 0x123456 : undefined), 't');
    expect(page).toEqual(orig);
  });
});
