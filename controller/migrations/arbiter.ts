// Exactly one copy: after a live migration that did not end cleanly (the controller lost the
// call, a host died between stop-and-copy and activation), look at both hosts and decide which
// copy lives. Pure: what each host shows in → actions out (tested on every combination).
//
// What makes this safe is the runtime's rule (runtime/migrate/send.ts): once the source has
// sent its final state it never resumes its copy on its own — a failure from then on leaves it
// paused for this arbiter — and a target keeps a complete copy paused as NAME--incoming
// ("prepared") until told. So a copy that is paused on an unreachable source cannot run behind
// our back, and a prepared copy may be activated when the source no longer has a running one.
//   - a copy running on the target under its own name: activation happened; the source's
//     copy goes (now, or when its host answers again: `tidy`);
//   - a source that has the domain keeps it when the target has not activated: the target's
//     copy goes, the source's is resumed if the migration left it paused;
//   - a source that does not have it (powered off, or unreachable: its copy is frozen) leaves
//     the prepared copy as the only one: commit it;
//   - a host that cannot be asked, when the answer depends on it: wait and ask again.

export interface HostView {
  /** the host answered */
  reachable: boolean;
  /** a domain of this name is there, and its xl state letters */
  domain?: { domid: number; state: string };
  /** an incoming migration of this name is there (the target's side) */
  incoming?: 'receiving' | 'prepared';
}

export type ArbiterAction =
  | { kind: 'destroy-source'; domid: number }
  | { kind: 'unpause-source'; domid: number }
  | { kind: 'abort-incoming' }
  | { kind: 'commit-incoming' }
  | { kind: 'wait'; why: string }
  | { kind: 'done'; runsOn: 'source' | 'target' | 'nowhere'; tidy?: boolean };

const paused = (s?: { state: string }) => s !== undefined && s.state.includes('p');

export function arbitrate(source: HostView, target: HostView): ArbiterAction[] {
  if (target.reachable && target.domain && !target.incoming) {
    if (!source.reachable) return [{ kind: 'done', runsOn: 'target', tidy: true }];
    return [...(source.domain ? [{ kind: 'destroy-source' as const, domid: source.domain.domid }] : []), { kind: 'done', runsOn: 'target' }];
  }
  if (!target.reachable) {
    if (source.reachable && source.domain && !paused(source.domain)) return [{ kind: 'done', runsOn: 'source' }];
    return [{ kind: 'wait', why: 'the target host cannot be asked whether it activated the domain' }];
  }
  if (source.reachable && source.domain) {
    return [
      ...(target.incoming ? [{ kind: 'abort-incoming' as const }] : []),
      ...(paused(source.domain) ? [{ kind: 'unpause-source' as const, domid: source.domain.domid }] : []),
      { kind: 'done', runsOn: 'source' },
    ];
  }
  if (target.incoming === 'prepared') return [{ kind: 'commit-incoming' }, { kind: 'done', runsOn: 'target', tidy: !source.reachable }];
  if (!source.reachable) return [{ kind: 'wait', why: 'the source host cannot be asked whether it still has the domain' }];
  return [...(target.incoming ? [{ kind: 'abort-incoming' as const }] : []), { kind: 'done', runsOn: 'nowhere' }];
}
