// xenoform describe domain NAME — spec, status, conditions and recent events (kubectl describe).
import type { Command } from 'commander';
import type { Domain } from '../../crds/index.ts';
import { ControllerClient } from '../api/client.ts';
import { describeDomain } from '../api/print.ts';
import { API_PREFIX } from '../api/server.ts';
import { UsageError } from '../errors.ts';
import type { ObjectEvent } from '../store/index.ts';
import { out, resolveStateDir } from './context.ts';

export function register(program: Command): void {
  program
    .command('describe')
    .description('show a Domain: spec, status, conditions, recent events')
    .argument('<kind>', 'domain')
    .argument('<name>', 'the Domain\'s name')
    .action(async (kind: string, name: string, _opts: unknown, cmd: Command) => {
      if (!['domain', 'domains', 'dom', 'xd'].includes(kind.toLowerCase())) throw new UsageError(`unknown kind ${JSON.stringify(kind)} (known: domain)`);
      const client = new ControllerClient(resolveStateDir(cmd));
      const d = await client.get<Domain>(`${API_PREFIX}/${encodeURIComponent(name)}`);
      const ev = await client.get<{ items: ObjectEvent[] }>(`/api/v1/events?name=${encodeURIComponent(name)}`);
      out(describeDomain(d, ev.items));
    });
}
