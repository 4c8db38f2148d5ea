// Console output for `logs`: the running domain's console from the host (exact, live with
// follow), else what the controller kept of the last one in <state-dir>/logs.
import { readFile } from 'node:fs/promises';
import type { Controller } from '../controller.ts';
import { errorCode } from '../hypervisor.ts';

export interface LogSource {
  chunks: AsyncIterable<Uint8Array>;
  close(): void;
}

async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  try {
    yield new Uint8Array(await readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export async function openLog(c: Controller, name: string, opts: { follow: boolean; previous: boolean }): Promise<LogSource> {
  const file = c.consoles.logFile(name, opts.previous);
  const domid = opts.previous ? undefined : c.get(name)?.status?.domid;
  if (domid !== undefined) {
    try {
      const s = c.hvForDomain(name).console(domid, { follow: opts.follow });
      await s.ready;
      return { chunks: s, close: () => s.close() };
    } catch (e) {
      if (errorCode(e) !== 'ENOENT') throw e; // gone meanwhile: what was kept
    }
  }
  return { chunks: fileChunks(file), close: () => undefined };
}
