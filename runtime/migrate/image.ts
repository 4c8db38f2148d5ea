/**
 * The save image container (xl save / xl restore, later the migration stream's payload).
 *
 * Layout, all integers little-endian:
 *   magic "XNFSAVE\0" (8) | version u32 | section count u32
 *   per section: name length u16 | name (ASCII) | payload length u32 | SHA-256 of payload (32) | payload
 *   SHA-256 over everything before it (32)
 *
 * Like libxc's stream format (xen/docs/specs/libxc-migration-stream.pandoc) the image is a list
 * of typed records; unlike it, every section and the whole carry a checksum, because an image on
 * disk can be damaged or hostile. Decoding never trusts a length before checking it against what
 * remains and against the cap, and every failure is an ImageError with a code — nothing else.
 */
import { createHash } from 'node:crypto';

export const IMAGE_MAGIC = 'XNFSAVE\0';
export const IMAGE_VERSION = 1;
/** Default size cap: 1 GiB of image (a 512 MiB domain fully touched fits with room). */
export const DEFAULT_MAX_IMAGE_BYTES = 2 ** 30;

export type ImageErrorCode = 'TRUNCATED' | 'BAD_MAGIC' | 'BAD_VERSION' | 'CHECKSUM' | 'TOO_LARGE' | 'MALFORMED' | 'INCONSISTENT';

export class ImageError extends Error {
  constructor(readonly code: ImageErrorCode, message: string) {
    super(`save image: ${message}`);
    this.name = 'ImageError';
  }
}

export interface ImageSection {
  name: string;
  payload: Uint8Array;
}

const HASH = 32;

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Serialise sections into one image. */
export function encodeImage(sections: ImageSection[], opts: { maxBytes?: number } = {}): Uint8Array {
  const max = opts.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  let size = 8 + 4 + 4 + HASH;
  const names = sections.map((s) => {
    const n = Buffer.from(s.name, 'ascii');
    if (n.length === 0 || n.length > 255) throw new ImageError('MALFORMED', `section name "${s.name}" must be 1..255 ASCII bytes`);
    size += 2 + n.length + 4 + HASH + s.payload.length;
    return n;
  });
  if (size > max) throw new ImageError('TOO_LARGE', `image of ${size} bytes exceeds the cap of ${max}`);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let o = 0;
  out.set(Buffer.from(IMAGE_MAGIC, 'latin1'), 0);
  o = 8;
  dv.setUint32(o, IMAGE_VERSION, true);
  dv.setUint32(o + 4, sections.length, true);
  o += 8;
  sections.forEach((s, i) => {
    const n = names[i]!;
    dv.setUint16(o, n.length, true);
    out.set(n, o + 2);
    o += 2 + n.length;
    dv.setUint32(o, s.payload.length, true);
    out.set(sha256(s.payload), o + 4);
    o += 4 + HASH;
    out.set(s.payload, o);
    o += s.payload.length;
  });
  out.set(sha256(out.subarray(0, o)), o);
  return out;
}

/** Parse and verify an image: magic, version, every checksum, every length. */
export function decodeImage(bytes: Uint8Array, opts: { maxBytes?: number } = {}): ImageSection[] {
  const max = opts.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  if (!(bytes instanceof Uint8Array)) throw new ImageError('MALFORMED', 'not a byte array');
  if (bytes.length > max) throw new ImageError('TOO_LARGE', `image of ${bytes.length} bytes exceeds the cap of ${max}`);
  if (bytes.length < 8) throw new ImageError('TRUNCATED', `only ${bytes.length} bytes`);
  if (Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== IMAGE_MAGIC) throw new ImageError('BAD_MAGIC', 'not a Xenoform save image');
  if (bytes.length < 16 + HASH) throw new ImageError('TRUNCATED', `only ${bytes.length} bytes`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== IMAGE_VERSION) throw new ImageError('BAD_VERSION', `version ${version} is not supported (this build reads version ${IMAGE_VERSION})`);
  const count = dv.getUint32(12, true);
  const end = bytes.length - HASH;
  const sections: ImageSection[] = [];
  let o = 16;
  for (let i = 0; i < count; i++) {
    if (o + 2 > end) throw new ImageError('TRUNCATED', `section ${i} header runs past the end`);
    const nlen = dv.getUint16(o, true);
    if (o + 2 + nlen + 4 + HASH > end) throw new ImageError('TRUNCATED', `section ${i} header runs past the end`);
    const name = Buffer.from(bytes.subarray(o + 2, o + 2 + nlen)).toString('latin1');
    o += 2 + nlen;
    const len = dv.getUint32(o, true);
    const digest = bytes.subarray(o + 4, o + 4 + HASH);
    o += 4 + HASH;
    if (o + len > end) throw new ImageError('TRUNCATED', `section "${name}" claims ${len} bytes, only ${Math.max(0, end - o)} remain`);
    const payload = bytes.subarray(o, o + len);
    if (!equal(sha256(payload), digest)) throw new ImageError('CHECKSUM', `section "${name}" does not match its checksum`);
    sections.push({ name, payload });
    o += len;
  }
  if (o !== end) throw new ImageError(o < end ? 'MALFORMED' : 'TRUNCATED', `${end - o} bytes between the last section and the image checksum`);
  if (!equal(sha256(bytes.subarray(0, end)), bytes.subarray(end))) throw new ImageError('CHECKSUM', 'the image does not match its checksum');
  return sections;
}

/** A JSON section's value, or MALFORMED. */
export function jsonSection(sections: ImageSection[], name: string): unknown {
  const s = sections.find((x) => x.name === name);
  if (!s) throw new ImageError('MALFORMED', `section "${name}" is missing`);
  try {
    return JSON.parse(Buffer.from(s.payload).toString('utf8'));
  } catch {
    throw new ImageError('MALFORMED', `section "${name}" is not JSON`);
  }
}

export function binarySection(sections: ImageSection[], name: string): Uint8Array {
  const s = sections.find((x) => x.name === name);
  if (!s) throw new ImageError('MALFORMED', `section "${name}" is missing`);
  return s.payload;
}

export function jsonPayload(value: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify(value), 'utf8'));
}
