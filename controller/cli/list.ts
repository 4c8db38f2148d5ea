// xenoform list — like `xl list`: every domain on every host, Domain-0 included, xl's columns
// (a HOST column first only when the controller drives more than one host).
import type { Command } from 'commander';
import { ControllerClient } from '../api/client.ts';
import type { HostRow } from '../api/hosts.ts';
import { xlList } from '../api/print.ts';
import { err, out, outputFormat, resolveStateDir } from './context.ts';

export function register(program: Command): void {
  program
    .command('list')
    .description('every domain on the hosts, Domain-0 included, with xl list\'s columns')
    .option('-o, --output <format>', 'json')
    .action(async (opts: { output?: string }, cmd: Command) => {
      const format = outputFormat(opts.output, ['table', 'json'], 'table');
      const r = await new ControllerClient(resolveStateDir(cmd)).get<{ items: HostRow[]; hosts?: { host: string; error?: string }[] }>('/xl/list');
      for (const h of r.hosts ?? []) if (h.error) err(`xenoform: host ${h.host}: ${h.error}`);
      out(format === 'json' ? JSON.stringify(r.items, null, 2) : xlList(r.items, (r.hosts?.length ?? 1) > 1));
    });
}
