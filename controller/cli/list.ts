// xenoform list — like `xl list`: every domain on the host, Domain-0 included, xl's columns.
import type { Command } from 'commander';
import { ControllerClient } from '../api/client.ts';
import { xlList } from '../api/print.ts';
import type { DomainRow } from '../hypervisor.ts';
import { out, outputFormat, resolveStateDir } from './context.ts';

export function register(program: Command): void {
  program
    .command('list')
    .description('every domain on the host, Domain-0 included, with xl list\'s columns')
    .option('-o, --output <format>', 'json')
    .action(async (opts: { output?: string }, cmd: Command) => {
      const format = outputFormat(opts.output, ['table', 'json'], 'table');
      const r = await new ControllerClient(resolveStateDir(cmd)).get<{ items: DomainRow[] }>('/xl/list');
      out(format === 'json' ? JSON.stringify(r.items, null, 2) : xlList(r.items));
    });
}
