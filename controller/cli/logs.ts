// xenoform logs NAME [-f] [--previous] — the guest's console output.
import type { Command } from 'commander';
import { ControllerClient } from '../api/client.ts';
import { API_PREFIX } from '../api/server.ts';
import { resolveStateDir } from './context.ts';

export function register(program: Command): void {
  program
    .command('logs')
    .description('print a Domain\'s console output (the running domain\'s, else the last one\'s)')
    .argument('<name>', 'the Domain\'s name')
    .option('-f, --follow', 'keep printing output until the domain is gone')
    .option('-p, --previous', 'the output of the domain before the current one')
    .action(async (name: string, opts: { follow?: boolean; previous?: boolean }, cmd: Command) => {
      const q = new URLSearchParams();
      if (opts.follow) q.set('follow', '1');
      if (opts.previous) q.set('previous', '1');
      const res = await new ControllerClient(resolveStateDir(cmd)).bytes(`${API_PREFIX}/${encodeURIComponent(name)}/log?${q}`);
      for await (const chunk of res) {
        if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
      }
    });
}
