// xenoform restore FILE — xl restore: bring a saved domain back from its image; it continues
// where it was saved (../shared/DESIGN.md §3, §4). The image carries the domain's name: a Domain
// declared under that name takes it back (its `saved` hold ends, runStrategy applies again);
// without one it runs unmanaged, like a domain `xenoform create` started.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ControllerClient } from '../api/client.ts';
import { out, resolveStateDir } from './context.ts';

export function register(program: Command): void {
  program
    .command('restore')
    .description('restore a domain saved with `save` from FILE (xl restore); a Domain of its name manages it again')
    .argument('<file>', 'the image file on the host (relative to the current directory)')
    .option('--host <host>', 'the Host to restore on (default: the one the Domain was saved on, else the local host)')
    .action(async (file: string, opts: { host?: string }, cmd: Command) => {
      const client = new ControllerClient(resolveStateDir(cmd));
      const r = await client.post<{ message: string }>('/xl/restore', { file: resolve(file), ...(opts.host !== undefined ? { host: opts.host } : {}) });
      out(r.message);
    });
}
