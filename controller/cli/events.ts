// xenoform events [-w] [NAME] — the event stream (kubectl get events).
import type { Command } from 'commander';
import { ControllerClient } from '../api/client.ts';
import { eventRow, EVENT_HEADER, StreamTable, table } from '../api/print.ts';
import type { ObjectEvent } from '../store/index.ts';
import { out, outputFormat, resolveStateDir } from './context.ts';

export function register(program: Command): void {
  program
    .command('events')
    .description('events of every Domain (or of NAME), oldest first; -w to keep watching')
    .argument('[name]', 'only this Domain\'s events')
    .option('-w, --watch', 'keep printing new events')
    .option('-o, --output <format>', 'json (one event per line with -w)')
    .action(async (name: string | undefined, opts: { watch?: boolean; output?: string }, cmd: Command) => {
      const format = outputFormat(opts.output, ['table', 'json'], 'table');
      const client = new ControllerClient(resolveStateDir(cmd));
      const q = new URLSearchParams();
      if (name) q.set('name', name);
      if (!opts.watch) {
        const r = await client.get<{ items: ObjectEvent[] }>(`/api/v1/events?${q}`);
        if (format === 'json') return out(JSON.stringify(r.items, null, 2));
        return out(r.items.length ? table(EVENT_HEADER, r.items.map((e) => eventRow(e))) : 'No events found.');
      }
      q.set('watch', '1');
      const rows = new StreamTable(EVENT_HEADER, [10, 7, 18, 20]);
      for await (const e of client.watch<ObjectEvent>(`/api/v1/events?${q}`)) {
        if (format === 'json') { out(JSON.stringify(e)); continue; }
        out(rows.rows([eventRow(e)]));
      }
    });
}
