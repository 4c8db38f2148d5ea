// The imperative verbs (start, stop, restart, pause, unpause, shutdown, reboot, destroy NAME):
// one shape, so each verb's file is just its description. The controller records the intent;
// reconcile carries it out. `shutdown -w` (and `--wait` on any) waits for the outcome.
import type { Command } from 'commander';
import type { Domain } from '../../crds/index.ts';
import { err, out, resolveStateDir } from '../cli/context.ts';
import { SilentExit } from '../errors.ts';
import { ControllerClient } from './client.ts';
import type { Verb } from './intents.ts';
import { API_PREFIX } from './server.ts';

/** What `--wait` waits for after each verb, given the domid before it. */
function settled(verb: Verb, d: Domain | undefined, domidBefore: number | null): boolean {
  const phase = d?.status?.phase;
  const domid = d?.status?.domid ?? null;
  switch (verb) {
    case 'pause': return phase === 'Paused';
    case 'unpause': return phase === 'Running';
    case 'stop': return phase === 'Stopped';
    case 'start': return phase === 'Running';
    case 'restart': case 'reboot': return phase === 'Running' && domid !== domidBefore;
    case 'shutdown': case 'destroy': return !d || domid !== domidBefore;
  }
}

export function registerIntentVerb(program: Command, verb: Verb, description: string): void {
  program
    .command(verb)
    .description(description)
    .argument('<name>', 'the Domain\'s name')
    .option('-w, --wait', 'wait until it has happened')
    .option('--timeout <seconds>', 'with --wait: give up after this long', '60')
    .action(async (name: string, opts: { wait?: boolean; timeout: string }, cmd: Command) => {
      const client = new ControllerClient(resolveStateDir(cmd));
      const path = `${API_PREFIX}/${encodeURIComponent(name)}`;
      const r = await client.post<{ message: string; domid: number | null }>(`${path}/${verb}`);
      out(r.message);
      if (!opts.wait) return;
      const deadline = Date.now() + Number(opts.timeout) * 1000;
      const timer = setTimeout(() => { err(`error: timed out waiting for ${verb} of Domain ${name}`); process.exit(1); }, Math.max(0, deadline - Date.now()));
      try {
        for await (const ev of client.watch<{ type: string; object: Domain }>(`${path}?watch=1`)) {
          if (settled(verb, ev.type === 'DELETED' ? undefined : ev.object, r.domid)) {
            out(`Domain ${name}: ${ev.type === 'DELETED' ? 'deleted' : ev.object.status?.phase}${ev.object.status?.domid !== undefined ? ` (domid ${ev.object.status.domid})` : ''}`);
            return;
          }
        }
        throw new SilentExit(1);
      } finally {
        clearTimeout(timer);
      }
    });
}
