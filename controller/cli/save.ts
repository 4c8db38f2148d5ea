// xenoform save NAME FILE [--checkpoint] — xl save: write a Domain's domain to an image file
// (../shared/DESIGN.md §3, §4). The domain is then gone and stays down — runStrategy does not
// start it again — until `xenoform restore FILE` or `xenoform start NAME` (which restores it);
// with --checkpoint it keeps running and nothing is held.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ControllerClient } from '../api/client.ts';
import { API_PREFIX } from '../api/server.ts';
import { out, resolveStateDir } from './context.ts';

export function register(program: Command): void {
  program
    .command('save')
    .description('save a running Domain to FILE (xl save): it is then gone and stays down until `restore FILE` or `start NAME` (which restores it), unless --checkpoint')
    .argument('<name>', 'the Domain\'s name')
    .argument('<file>', 'the image file to write on the host (relative to the current directory)')
    .option('-c, --checkpoint', 'leave the domain running after saving it (xl save -c)')
    .action(async (name: string, file: string, opts: { checkpoint?: boolean }, cmd: Command) => {
      const client = new ControllerClient(resolveStateDir(cmd));
      const r = await client.post<{ message: string }>(`${API_PREFIX}/${encodeURIComponent(name)}/save`, { file: resolve(file), checkpoint: opts.checkpoint === true });
      out(r.message);
    });
}
