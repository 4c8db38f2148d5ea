import { describe, expect, it } from 'vitest';
import { arbitrate, type HostView } from './arbiter.ts';

const down: HostView = { reachable: false };
const empty: HostView = { reachable: true };
const running = (domid = 7): HostView => ({ reachable: true, domain: { domid, state: '-b----' } });
const frozen = (domid = 7): HostView => ({ reachable: true, domain: { domid, state: '--p---' } });
const prepared: HostView = { reachable: true, incoming: 'prepared' };
const receiving: HostView = { reachable: true, incoming: 'receiving' };
const kinds = (src: HostView, dst: HostView) => arbitrate(src, dst).map((a) => (a.kind === 'done' ? `done:${a.runsOn}${a.tidy ? '+tidy' : ''}` : a.kind));

describe('arbitrate: exactly one copy after an unclean migration', () => {
  it('activated on the target: the source copy goes (now, or once its host answers)', () => {
    expect(kinds(frozen(), running(3))).toEqual(['destroy-source', 'done:target']);
    expect(arbitrate(frozen(9), running(3))[0]).toEqual({ kind: 'destroy-source', domid: 9 });
    expect(kinds(empty, running(3))).toEqual(['done:target']);
    expect(kinds(down, running(3))).toEqual(['done:target+tidy']);
  });

  it('a source that still has it keeps it: the target copy goes, a frozen source resumes', () => {
    expect(kinds(frozen(), prepared)).toEqual(['abort-incoming', 'unpause-source', 'done:source']);
    expect(kinds(running(), prepared)).toEqual(['abort-incoming', 'done:source']);
    expect(kinds(running(), receiving)).toEqual(['abort-incoming', 'done:source']);
    expect(kinds(frozen(), empty)).toEqual(['unpause-source', 'done:source']);
    expect(kinds(running(), empty)).toEqual(['done:source']);
  });

  it('a source without it (powered off, or frozen out of reach) leaves the prepared copy: commit', () => {
    expect(kinds(empty, prepared)).toEqual(['commit-incoming', 'done:target']);
    expect(kinds(down, prepared)).toEqual(['commit-incoming', 'done:target+tidy']);
  });

  it('waits when the answer depends on a host that cannot be asked', () => {
    expect(kinds(frozen(), down)).toEqual(['wait']); // the target may have activated it
    expect(kinds(down, down)).toEqual(['wait']);
    expect(kinds(down, receiving)).toEqual(['wait']); // the source may run it
    expect(kinds(down, empty)).toEqual(['wait']);
    expect(kinds(running(), down)).toEqual(['done:source']); // running: it never sent FINAL
  });

  it('nothing anywhere: nowhere (a stray receiving copy is dropped)', () => {
    expect(kinds(empty, empty)).toEqual(['done:nowhere']);
    expect(kinds(empty, receiving)).toEqual(['abort-incoming', 'done:nowhere']);
  });
});
