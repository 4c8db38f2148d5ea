// Reading a manifest file safely: a size cap checked before reading (and enforced while
// reading, in case the file grows), and text that must be UTF-8 without NUL bytes.
import { open } from 'node:fs/promises';
import type { Diagnostic } from '../errors.ts';

/** Manifests are small; anything larger is refused unread. */
export const DEFAULT_MAX_MANIFEST_BYTES = 1024 * 1024;

export type ReadResult = { text: string } | { error: Diagnostic };

function fileError(file: string, code: string, message: string, line = 0, col = 0): { error: Diagnostic } {
  return { error: { file, line, col, path: '', message, code, severity: 'error' } };
}

/** 1-based line and column (in characters) of byte `offset` of `bytes`, which are valid UTF-8 up to it. */
export function bytePosition(bytes: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) { line++; lineStart = i + 1; }
  const col = new TextDecoder().decode(bytes.subarray(lineStart, offset)).length + 1;
  return { line, col };
}

/** Checks that `bytes` are text: UTF-8 with no NUL byte. Returns the text or a diagnostic. */
export function decodeManifest(file: string, bytes: Uint8Array): ReadResult {
  const nul = bytes.indexOf(0);
  // Find the first invalid UTF-8 sequence by decoding ever shorter prefixes only on failure.
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    if (nul >= 0) {
      const { line, col } = bytePosition(bytes, nul);
      return fileError(file, 'NotText', `not a text file: NUL byte at offset ${nul}`, line, col);
    }
    return { text };
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const at = nul >= 0 && nul < bad ? nul : bad;
    const { line, col } = bytePosition(bytes, at);
    return fileError(file, 'NotText', `not a text file: ${at === nul ? 'NUL byte' : 'invalid UTF-8'} at offset ${at}`, line, col);
  }
}

function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let n = 0;
    let min = 0;
    if (c < 0x80) { i++; continue; }
    else if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; }
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length;
}

/**
 * Reads `file` as manifest text. Refuses, with a diagnostic rather than an exception: a file
 * larger than `maxBytes` (without reading it), a directory, an unreadable file, binary content.
 */
export async function readManifestText(file: string, maxBytes = DEFAULT_MAX_MANIFEST_BYTES): Promise<ReadResult> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message;
    return fileError(file, err.code === 'ENOENT' ? 'FileNotFound' : 'FileUnreadable', `cannot read: ${why}`);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) return fileError(file, 'FileUnreadable', 'is a directory');
    if (!st.isFile()) return fileError(file, 'FileUnreadable', 'not a regular file');
    if (st.size > maxBytes) {
      return fileError(file, 'FileTooLarge', `file is too large: ${st.size} bytes (manifests are limited to ${maxBytes} bytes)`);
    }
    // Read in chunks up to maxBytes+1 bytes: a file that grew since stat is still refused.
    const chunks: Buffer[] = [];
    let len = 0;
    for (;;) {
      const want = Math.min(64 * 1024, maxBytes + 1 - len);
      if (want <= 0) break;
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(chunk, 0, want, len);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      len += bytesRead;
    }
    if (len > maxBytes) return fileError(file, 'FileTooLarge', `file is too large: more than ${maxBytes} bytes`);
    const buf = Buffer.concat(chunks, len);
    return decodeManifest(file, buf);
  } catch (e) {
    return fileError(file, 'FileUnreadable', `cannot read: ${(e as Error).message}`);
  } finally {
    await fh.close();
  }
}
