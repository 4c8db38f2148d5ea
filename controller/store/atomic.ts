// Atomic JSON files (../shared/DESIGN.md §3 "State dir"): write a temp file beside the target,
// fsync it, rename it over the target, fsync the directory — a reader (or a controller killed
// with kill -9 mid-write) sees the old file or the new one, never half of one. Writes to one
// path are serialized in call order; reads tell a missing file from a corrupt one.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type ReadJson<T> =
  | { state: 'ok'; value: T }
  | { state: 'missing' }
  | { state: 'corrupt'; error: string };

export class StateFileError extends Error {
  readonly code = 'StateFile';
  constructor(readonly file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
  }
}

const chains = new Map<string, Promise<void>>();

/** Whether to fsync (tests and benches on tmpfs may turn it off; the default is on). */
let durable = process.env.XENOFORM_NO_FSYNC !== '1';
export function setDurable(on: boolean): void {
  durable = on;
}

async function writeNow(file: string, data: string, syncDir: boolean): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  let fh;
  try {
    fh = await open(tmp, 'w', 0o600);
    await fh.writeFile(data);
    if (durable) await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, file);
    if (durable && syncDir) {
      const d = await open(dir, 'r');
      try { await d.sync(); } catch { /* some file systems refuse fsync on a directory */ } finally { await d.close(); }
    }
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw new StateFileError(file, `cannot write: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Writes `value` as JSON to `file` atomically; writes to one file happen in call order.
 * `syncDir: false` skips the directory fsync: after a power loss the file may be its previous
 * version (never a torn one) — for records whose last update may be lost (events).
 */
export function writeJsonAtomic(file: string, value: unknown, opts: { syncDir?: boolean } = {}): Promise<void> {
  const data = JSON.stringify(value, null, 1) + '\n';
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const prev = chains.get(file) ?? Promise.resolve();
  const next = prev.catch(() => undefined).then(() => writeNow(file, data, opts.syncDir ?? true));
  chains.set(file, next);
  void next.finally(() => { if (chains.get(file) === next) chains.delete(file); }).catch(() => undefined);
  return next;
}

export async function readJson<T>(file: string): Promise<ReadJson<T>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    return { state: 'corrupt', error: `cannot read: ${(e as Error).message}` };
  }
  try {
    return { state: 'ok', value: JSON.parse(text) as T };
  } catch (e) {
    return { state: 'corrupt', error: `not valid JSON (${(e as Error).message})` };
  }
}

/** Moves a corrupt file aside (kept for a post-mortem) so that it can be rebuilt. */
export async function quarantine(file: string, now = Date.now()): Promise<string> {
  const aside = `${file}.corrupt-${now}`;
  await rename(file, aside).catch(() => undefined);
  return aside;
}

export async function removeFile(file: string): Promise<void> {
  await (chains.get(file) ?? Promise.resolve()).catch(() => undefined);
  await rm(file, { force: true });
}
