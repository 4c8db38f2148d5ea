/**
 * xl save FILE / xl restore FILE for the Hypervisor API: the image written atomically (a
 * temporary file beside it, fsync, rename), read back only up to the size cap, and every
 * failure turned into the API's error classes (a bad image is IMAGE, with the image's code).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Host } from '../host.ts';
import type { Domain } from '../hv/domain.ts';
import {
  HypervisorError, ImageRefusedError, InvalidArgumentError, NoSuchDomainError, toHypervisorError,
} from '../api.ts';
import { DiskRefusedError } from '../devices/block/index.ts';
import { DEFAULT_MAX_IMAGE_BYTES, ImageError } from './image.ts';
import { saveDomain, SaveError } from './save.ts';
import { restoreDomain } from './restore.ts';

function checkFile(file: unknown): string {
  if (typeof file !== 'string' || file.length === 0 || file.includes('\0')) throw new InvalidArgumentError('file must be a path on the host');
  return file;
}

function apiError(e: unknown): HypervisorError {
  if (e instanceof HypervisorError) return e;
  if (e instanceof ImageError) return new ImageRefusedError(`${e.message} (${e.code})`);
  if (e instanceof SaveError) return e.code === 'ENOENT' ? new NoSuchDomainError(e.message.replace(/^no domain with id /, '')) : new InvalidArgumentError(e.message);
  if (e instanceof DiskRefusedError) return e.code === 'DISK_SPEC' ? new InvalidArgumentError(e.message) : new ImageRefusedError(e.message);
  return toHypervisorError(e); // a HostError keeps its code there
}

/** Save a domain to `file` (destroying it unless checkpoint). The file appears whole or not at all. */
export async function saveToFile(host: Host, id: number, file: unknown, opts: { checkpoint?: boolean } = {}): Promise<void> {
  const path = checkFile(file);
  // Snapshot synchronously (the domain is paused and, without checkpoint, gone afterwards); if
  // the write then fails, a non-checkpoint save would lose the domain, so write first from a
  // checkpoint and destroy only once the file is in place.
  let bytes: Uint8Array;
  try {
    bytes = saveDomain(host, id, { checkpoint: true });
    if (!opts.checkpoint) host.pause(id);
  } catch (e) {
    throw apiError(e);
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    if (!opts.checkpoint && host.domain(id)) host.unpause(id);
    throw new InvalidArgumentError(`cannot write the save image ${path}: ${(e as Error).message}`);
  }
  if (!opts.checkpoint && host.domain(id)) host.destroy(id);
}

/** Restore a domain from `file`. */
export async function restoreFromFile(host: Host, file: unknown, opts: { paused?: boolean; maxBytes?: number } = {}): Promise<Domain> {
  const path = checkFile(file);
  const max = opts.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  let bytes: Uint8Array;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > max) throw new ImageError('TOO_LARGE', `${path} is ${st.size} bytes, over the cap of ${max}`);
    const fh = await open(path, 'r');
    try {
      bytes = new Uint8Array(await fh.readFile());
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof ImageError) throw apiError(e);
    throw new ImageRefusedError(`cannot read the save image ${path}: ${(e as Error).message}`);
  }
  try {
    return restoreDomain(host, bytes, { paused: opts.paused, maxBytes: max });
  } catch (e) {
    throw apiError(e);
  }
}
