// xenoform migrate NAME HOST — xl migrate: live-migrate a running Domain to the Host named HOST
// (../shared/DESIGN.md §4). The controller runs it (controller/migrations); this command starts
// it, prints the pre-copy's progress from status.migrationState as it goes, and ends with the
// downtime and total time — exit 0 — or with why it failed, as one line — exit 1. The domain
// keeps running through it; on failure it runs where it was.
import { InvalidArgumentError, type Command } from 'commander';
import type { Domain, MigrationState } from '../../crds/index.ts';
import { ControllerClient } from '../api/client.ts';
import { API_PREFIX } from '../api/server.ts';
import { XenoformError } from '../errors.ts';
import { err, out, resolveStateDir } from './context.ts';

function parseRate(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n <= 1e6)) throw new InvalidArgumentError('--max-rate takes a positive number of MiB/s');
  return n;
}

class MigrationFailed extends XenoformError {
  readonly code = 'MigrationFailed';
}

const describeProgress = (m: MigrationState) =>
  `${m.stage ?? 'starting'}: round ${m.round ?? 0}, ${m.pagesSent ?? 0} pages sent, ${m.pagesDirty ?? 0} dirty (${m.dirtyRatePps ?? 0} pages/s)`;

export function register(program: Command): void {
  program
    .command('migrate')
    .description('live-migrate a running Domain to another Host (xl migrate): iterative pre-copy, then a short stop-and-copy; the domain keeps its MAC, IP and forwarded ports')
    .argument('<name>', 'the Domain\'s name')
    .argument('<host>', 'the target Host\'s name (`xenoform get hosts`)')
    .option('-q, --quiet', 'print only the outcome')
    .option('--max-rate <MiB/s>', 'cap the bandwidth (adaptive below the cap: each round at the last round\'s dirtying rate + 50 Mbit/s); default unlimited', parseRate)
    .action(async (name: string, host: string, opts: { quiet?: boolean; maxRate?: number }, cmd: Command) => {
      const client = new ControllerClient(resolveStateDir(cmd));
      const started = await client.post<{ migrationState: MigrationState }>(`${API_PREFIX}/${encodeURIComponent(name)}/migrate`, { host, ...(opts.maxRate ? { maxRateMiBps: opts.maxRate } : {}) });
      const since = started.migrationState.startTimestamp;
      let last = '';
      for (;;) {
        const d = await client.get<Domain>(`${API_PREFIX}/${encodeURIComponent(name)}`);
        const m = d.status?.migrationState;
        if (m && m.startTimestamp === since) {
          if (m.phase === 'Succeeded') {
            const disks = m.disks === 'copied' ? ', disks copied' : m.disks === 'shared' ? ', disks shared' : '';
            out(`Domain ${name} migrated ${m.sourceHost} → ${m.targetHost}: downtime ${m.downtimeMs ?? '?'} ms, total ${m.totalMs ?? '?'} ms, ${m.round ?? '?'} round(s), ${m.pagesSent ?? '?'} pages${disks}`);
            return;
          }
          if (m.phase === 'Failed') throw new MigrationFailed(`migration of Domain ${name} to ${host} failed: ${m.failureReason ?? 'unknown reason'}`);
          const line = describeProgress(m);
          if (!opts.quiet && line !== last) err(line);
          last = line;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    });
}
