// The save image container: round trip, and every kind of damaged or hostile image refused
// with an ImageError and its code (never any other exception).
import { describe, expect, it } from 'vitest';
import { decodeImage, encodeImage, IMAGE_VERSION, ImageError, jsonPayload, jsonSection, binarySection, type ImageErrorCode } from './image.ts';

function sample(): Uint8Array {
  const pages = new Uint8Array(8192);
  for (let i = 0; i < pages.length; i++) pages[i] = (i * 7) & 0xff;
  return encodeImage([
    { name: 'header', payload: jsonPayload({ version: 1, name: 'ticker', memoryPages: 2 }) },
    { name: 'pages', payload: pages },
    { name: 'empty', payload: new Uint8Array(0) },
  ]);
}

function refused(bytes: Uint8Array, code: ImageErrorCode, maxBytes?: number): void {
  let err: unknown;
  try {
    decodeImage(bytes, { maxBytes });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ImageError);
  expect((err as ImageError).code).toBe(code);
}

describe('save image container', () => {
  it('round-trips sections, JSON and binary', () => {
    const s = decodeImage(sample());
    expect(s.map((x) => x.name)).toEqual(['header', 'pages', 'empty']);
    expect(jsonSection(s, 'header')).toEqual({ version: 1, name: 'ticker', memoryPages: 2 });
    expect(binarySection(s, 'pages')[4095]).toBe((4095 * 7) & 0xff);
    expect(binarySection(s, 'empty').length).toBe(0);
  });

  it('refuses a truncated image at every length', () => {
    const img = sample();
    for (const n of [0, 3, 8, 20, 40, 100, 4000, img.length - 33, img.length - 1]) {
      let err: unknown;
      try {
        decodeImage(img.subarray(0, n));
      } catch (e) {
        err = e;
      }
      expect(err, `length ${n}`).toBeInstanceOf(ImageError);
      expect(['TRUNCATED', 'CHECKSUM', 'MALFORMED']).toContain((err as ImageError).code);
    }
    refused(img.subarray(0, 20), 'TRUNCATED');
    refused(img.subarray(0, img.length - 1), 'TRUNCATED');
  });

  it('refuses a corrupted page (section checksum) and a corrupted trailer (image checksum)', () => {
    const img = sample();
    const bad = img.slice();
    bad[200] ^= 1;
    refused(bad, 'CHECKSUM');
    const trailer = img.slice();
    trailer[trailer.length - 1] ^= 0x80;
    refused(trailer, 'CHECKSUM');
  });

  it('refuses a wrong version, wrong magic, oversized image', () => {
    const img = sample();
    const v = img.slice();
    new DataView(v.buffer).setUint32(8, IMAGE_VERSION + 1, true);
    refused(v, 'BAD_VERSION');
    const m = img.slice();
    m[0] = 0x41;
    refused(m, 'BAD_MAGIC');
    refused(img, 'TOO_LARGE', 1000);
    expect(() => encodeImage([{ name: 'x', payload: new Uint8Array(2000) }], { maxBytes: 1000 })).toThrow(ImageError);
  });

  it('refuses hostile lengths without throwing anything but ImageError', () => {
    const img = sample();
    const huge = img.slice();
    new DataView(huge.buffer).setUint32(12, 0xffffffff, true); // section count
    refused(huge, 'TRUNCATED');
    // Random damage anywhere: always an ImageError.
    let seed = 12345;
    for (let k = 0; k < 300; k++) {
      const b = img.slice();
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      b[seed % b.length] ^= 1 + (seed % 255);
      expect(() => decodeImage(b)).toThrow(ImageError);
    }
  });
});
