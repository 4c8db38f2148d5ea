// The Domain machine on xstate's pure transition(): no runtime, no clock, no I/O.
import { describe, expect, it } from 'vitest';
import {
  crashLoopDelay, decide, DEFAULT_TIMING, effectFailed, initialDomainSnapshot, noIntents, persistDomainSnapshot, phaseOf,
  restoreDomainSnapshot, stateOf, type DesiredDomain, type DomainSnapshot, type Effect, type Intents, type ObservedDomain,
} from './index.ts';

const T0 = 1_000_000;

function desired(over: Partial<DesiredDomain> = {}): DesiredDomain {
  return {
    generation: 1, bootHash: 'h1',
    create: { name: 'web', kernel: '/k/ticker.elf', memoryMiB: 32, maxMemoryMiB: 64, vcpus: 1, maxVcpus: 1, weight: 256, cap: 0 },
    memoryMiB: 32, cpuWeight: 256, cpuCap: 0,
    runStrategy: 'Always', onPoweroff: 'destroy', onReboot: 'restart', onCrash: 'destroy', onWatchdog: 'destroy', updateStrategy: 'Restart',
    ...over,
  };
}

const running = (domid = 1, over: Partial<ObservedDomain> = {}): ObservedDomain =>
  ({ domid, state: '-b----', memoryKiB: 32768, maxMemoryKiB: 65536, weight: 256, cap: 0, ...over });
const shut = (domid: number, reason: string): ObservedDomain =>
  running(domid, { state: reason === 'crash' ? '----c-' : '---s--', shutdownReason: reason });

class Sim {
  s: DomainSnapshot = initialDomainSnapshot({ name: 'web' });
  now = T0;
  intents: Intents = noIntents();
  spec: DesiredDomain | undefined = desired();
  last: Effect[] = [];
  observe(observed: ObservedDomain | undefined, extra: { declaredInvalid?: boolean } = {}) {
    const r = decide(this.s, { now: this.now, desired: this.spec, observed, intents: this.intents, ...extra });
    this.s = r.snapshot;
    this.last = r.effects;
    return this;
  }
  get state() { return stateOf(this.s); }
  get types() { return this.last.filter((e) => e.type !== 'recordEvent').map((e) => e.type); }
  get reasons() { return this.last.filter((e) => e.type === 'recordEvent').map((e) => (e.params as { reason: string }).reason); }
  /** Pending → Starting → Running with domain `domid` */
  boot(domid = 1) {
    this.observe(undefined);
    expect(this.types).toEqual(['createDomain']);
    this.observe(running(domid));
    expect(this.state).toBe('Running');
    return this;
  }
}

describe('start and adopt', () => {
  it('Pending → Starting (create) → Running; one create per look', () => {
    const m = new Sim().observe(undefined);
    expect(m.state).toBe('Starting');
    expect(m.last.find((e) => e.type === 'createDomain')?.params).toEqual({ spec: desired().create });
    m.observe(undefined); // the created domain is not there (a lost create): back to Pending, create again next look
    expect(m.state).toBe('Pending');
    expect(m.reasons).toContain('StartLost');
    expect(m.types).toEqual([]);
    m.observe(undefined);
    expect(m.types).toEqual(['createDomain']);
    m.observe(running(7));
    expect(m.state).toBe('Running');
    expect(m.s.context.domid).toBe(7);
    expect(m.reasons).toContain('Started');
    expect(m.s.context.restarts).toBe(0);
    expect(phaseOf(m.s)).toBe('Running');
  });

  it('adopts a domain already running under its name: never a second create', () => {
    const m = new Sim().observe(running(42));
    expect(m.state).toBe('Running');
    expect(m.types).not.toContain('createDomain');
    expect(m.reasons).toContain('Adopted');
    expect(m.s.context.domid).toBe(42);
  });

  it('a create that fails goes back to Pending (phase Failed) and is retried on the next look', () => {
    const m = new Sim().observe(undefined);
    const r = effectFailed(m.s, { effect: 'createDomain', code: 'ENOMEM', message: 'no memory', at: T0 });
    m.s = r.snapshot;
    expect(m.state).toBe('Pending');
    expect(phaseOf(m.s)).toBe('Failed');
    m.observe(undefined);
    expect(m.types).toEqual(['createDomain']);
  });

  it('a manifest that was never valid starts nothing', () => {
    const m = new Sim();
    m.spec = undefined;
    m.observe(undefined, { declaredInvalid: true });
    expect(m.state).toBe('Pending');
    expect(m.types).toEqual([]);
  });
});

describe('xl actions first, then runStrategy', () => {
  it('poweroff with onPoweroff destroy: Always starts it again, no backoff', () => {
    const m = new Sim().boot(1);
    m.observe(shut(1, 'poweroff'));
    expect(m.types).toEqual(['destroyDomain', 'createDomain']);
    expect(m.state).toBe('Starting');
    m.observe(running(2));
    expect(m.s.context.restarts).toBe(1);
  });

  it('poweroff: RerunOnFailure, Once and Manual stay down (Stopped)', () => {
    for (const runStrategy of ['RerunOnFailure', 'Once', 'Manual'] as const) {
      const m = new Sim();
      m.spec = desired({ runStrategy });
      if (runStrategy === 'Manual') m.intents.start = 1;
      m.boot(1).observe(shut(1, 'poweroff'));
      expect(m.types, runStrategy).toEqual(['destroyDomain']);
      expect(m.state).toBe('Stopped');
      m.observe(undefined);
      expect(m.types).toEqual([]);
    }
  });

  it('crash: RerunOnFailure restarts after the crash-loop delay; Once fails', () => {
    const r = new Sim();
    r.spec = desired({ runStrategy: 'RerunOnFailure' });
    r.boot(1).observe(shut(1, 'crash'));
    expect(r.types).toEqual(['destroyDomain']);
    expect(r.state).toBe('CrashLoopBackOff');
    const o = new Sim();
    o.spec = desired({ runStrategy: 'Once' });
    o.boot(1).observe(shut(1, 'crash'));
    expect(o.state).toBe('Failed');
    expect(phaseOf(o.s)).toBe('Failed');
  });

  it('onReboot restart restarts even for Once (the guest asked), with no backoff', () => {
    const m = new Sim();
    m.spec = desired({ runStrategy: 'Once' });
    m.boot(1).observe(shut(1, 'reboot'));
    expect(m.types).toEqual(['destroyDomain', 'createDomain']);
    expect(m.state).toBe('Starting');
  });

  it('preserve keeps a crashed domain and nothing restarts it while it is kept', () => {
    const m = new Sim();
    m.spec = desired({ onCrash: 'preserve' });
    m.boot(1).observe(shut(1, 'crash'));
    expect(m.state).toBe('Crashed');
    expect(m.types).toEqual([]);
    expect(phaseOf(m.s)).toBe('Crashed');
    m.now += 3600_000;
    m.observe(shut(1, 'crash'));
    expect(m.types).toEqual([]);
    // once the user destroys it, runStrategy (Always) decides: back after the backoff
    m.observe(undefined);
    expect(m.state).toBe('CrashLoopBackOff');
  });

  it('coredump-restart dumps a core, destroys, restarts; rename-restart keeps a record too', () => {
    for (const onCrash of ['coredump-restart', 'rename-restart'] as const) {
      const m = new Sim();
      m.spec = desired({ onCrash });
      m.boot(1).observe(shut(1, 'crash'));
      expect(m.types).toEqual(['dumpCore', 'destroyDomain']);
      expect(m.last.find((e) => e.type === 'dumpCore')?.params).toMatchObject({ domid: 1, cause: 'crash', kind: onCrash === 'rename-restart' ? 'renamed' : 'coredump' });
      expect(m.state).toBe('CrashLoopBackOff');
    }
    const d = new Sim();
    d.spec = desired({ onCrash: 'coredump-destroy', runStrategy: 'Manual' });
    d.intents.start = 1;
    d.boot(1).observe(shut(1, 'crash'));
    expect(d.types).toEqual(['dumpCore', 'destroyDomain']);
    expect(d.state).toBe('Stopped');
  });

  it('watchdog follows onWatchdog', () => {
    const m = new Sim();
    m.spec = desired({ onWatchdog: 'preserve' });
    m.boot(1).observe(shut(1, 'watchdog'));
    expect(m.state).toBe('Crashed');
    expect(m.reasons).toContain('WatchdogFired');
  });

  it('a vanished domain (host killed): Always and RerunOnFailure start it again at once, Once fails, Manual stops', () => {
    const cases = { Always: 'Starting', RerunOnFailure: 'Starting', Once: 'Failed', Manual: 'Stopped' } as const;
    for (const [runStrategy, want] of Object.entries(cases)) {
      const m = new Sim();
      m.spec = desired({ runStrategy: runStrategy as DesiredDomain['runStrategy'] });
      if (runStrategy === 'Manual') m.intents.start = 1;
      m.boot(1).observe(undefined);
      expect(m.state, runStrategy).toBe(want);
      expect(m.reasons).toContain('DomainVanished');
    }
  });
});

describe('crash-loop backoff: 10 s × n², capped at 300 s', () => {
  it('delays grow as n² and cap', () => {
    expect([1, 2, 3, 4, 5, 6, 10].map((n) => crashLoopDelay(n, DEFAULT_TIMING))).toEqual([10_000, 40_000, 90_000, 160_000, 250_000, 300_000, 300_000]);
  });

  it('waits, then starts; consecutive crashes lengthen the wait; a stable run clears the count', () => {
    const m = new Sim();
    m.spec = desired({ onCrash: 'restart' });
    m.boot(1);
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      m.observe(shut(i + 1, 'crash'));
      expect(m.state).toBe('CrashLoopBackOff');
      waits.push(m.s.context.retryAt! - m.now);
      m.now += 1000;
      m.observe(undefined);
      expect(m.types).toEqual([]); // still waiting
      m.now = m.s.context.retryAt!;
      m.observe(undefined);
      expect(m.types).toEqual(['createDomain']);
      m.observe(running(i + 2));
    }
    expect(waits).toEqual([10_000, 40_000, 90_000]);
    expect(m.s.context.restarts).toBe(3);
    m.now += 60_000;
    m.observe(running(4));
    expect(m.s.context.failCount).toBe(0);
  });

  it('start cuts the backoff short', () => {
    const m = new Sim().boot(1).observe(shut(1, 'crash'));
    expect(m.state).toBe('CrashLoopBackOff');
    m.intents.start = 1;
    m.observe(undefined);
    expect(m.types).toEqual(['createDomain']);
  });
});

describe('declared state: deletion and spec changes', () => {
  it('a deleted manifest: graceful shutdown, destroy after the grace period, then Deleted', () => {
    const m = new Sim().boot(1);
    m.spec = undefined;
    m.observe(running(1));
    expect(m.state).toBe('Stopping');
    expect(m.types).toEqual(['requestShutdown']);
    expect(m.last.find((e) => e.type === 'requestShutdown')?.params).toEqual({ domid: 1, reason: 'poweroff' });
    m.now += 1000;
    m.observe(running(1));
    expect(m.types).toEqual([]);
    m.now += DEFAULT_TIMING.gracePeriodMs;
    m.observe(running(1));
    expect(m.types).toEqual(['destroyDomain']);
    expect(m.reasons).toContain('ShutdownTimeout');
    expect(m.state).toBe('Deleted');
    expect(m.s.status).toBe('done');
  });

  it('a deleted manifest whose guest powers off in time is destroyed without waiting', () => {
    const m = new Sim().boot(1);
    m.spec = undefined;
    m.observe(running(1));
    m.observe(shut(1, 'poweroff'));
    expect(m.types).toEqual(['destroyDomain']);
    expect(m.state).toBe('Deleted');
  });

  it('memory, cpuWeight and cpuCap change live; a kernel change restarts (updateStrategy Restart)', () => {
    const m = new Sim().boot(1);
    m.observe(running(1));
    expect(m.types).toEqual([]);
    m.spec = desired({ generation: 2, memoryMiB: 48, cpuWeight: 512 });
    m.observe(running(1));
    expect(m.types).toEqual(['setMemoryTarget', 'setSched']);
    expect(m.last.find((e) => e.type === 'setMemoryTarget')?.params).toEqual({ domid: 1, mib: 48 });
    m.observe(running(1, { weight: 512 }));
    expect(m.types).toEqual([]);
    m.spec = desired({ generation: 3, bootHash: 'h2', memoryMiB: 48, cpuWeight: 512 });
    m.observe(running(1, { weight: 512 }));
    expect(m.state).toBe('Stopping');
    expect(m.reasons).toContain('RestartForUpdate');
    m.observe(shut(1, 'poweroff'));
    expect(m.types).toEqual(['destroyDomain', 'createDomain']);
    m.observe(running(2));
    expect(m.s.context.boot?.hash).toBe('h2');
    expect(m.s.context.restarts).toBe(1);
  });

  it('PatchAndSwap does not restart (RestartRequired is reported by the reconciler)', () => {
    const m = new Sim().boot(1);
    m.spec = desired({ generation: 2, bootHash: 'h2', updateStrategy: 'PatchAndSwap' });
    m.observe(running(1));
    expect(m.state).toBe('Running');
    expect(m.types).toEqual([]);
  });

  it('a runStrategy changed while stopped decides afresh: Halted → RerunOnFailure runs it; Once → Once does not', () => {
    const m = new Sim();
    m.spec = desired({ runStrategy: 'Once' });
    m.boot(1).observe(shut(1, 'poweroff'));
    expect(m.state).toBe('Stopped');
    m.observe(undefined);
    expect(m.types).toEqual([]);
    m.spec = desired({ runStrategy: 'Halted' });
    m.observe(undefined);
    expect(m.types).toEqual([]);
    m.spec = desired({ runStrategy: 'RerunOnFailure' });
    m.observe(undefined);
    expect(m.types).toEqual(['createDomain']);
  });

  it('Halted stops a running domain and starts nothing', () => {
    const m = new Sim().boot(1);
    m.spec = desired({ runStrategy: 'Halted' });
    m.observe(running(1));
    expect(m.state).toBe('Stopping');
    m.observe(undefined);
    expect(m.state).toBe('Stopped');
    m.observe(undefined);
    expect(m.types).toEqual([]);
  });
});

describe('imperative intents', () => {
  it('a paused domain is unpaused before it is asked to shut down', () => {
    const m = new Sim().boot(1);
    m.intents.paused = true;
    m.observe(running(1));
    m.spec = undefined;
    m.observe(running(1, { state: '--p---' }));
    expect(m.types).toEqual(['unpauseDomain', 'requestShutdown']);
  });

  it('pause holds until unpause', () => {
    const m = new Sim().boot(1);
    m.intents.paused = true;
    m.observe(running(1));
    expect(m.types).toEqual(['pauseDomain']);
    expect(m.state).toBe('Paused');
    m.observe(running(1, { state: '--p---' }));
    expect(m.types).toEqual([]);
    m.observe(running(1)); // someone unpaused it behind our back: the intent holds
    expect(m.types).toEqual(['pauseDomain']);
    m.intents.paused = false;
    m.observe(running(1, { state: '--p---' }));
    expect(m.types).toEqual(['unpauseDomain']);
    expect(m.state).toBe('Running');
  });

  it('stop parks an Always domain until start', () => {
    const m = new Sim().boot(1);
    m.intents.stopped = true;
    m.observe(running(1));
    expect(m.state).toBe('Stopping');
    m.observe(shut(1, 'poweroff'));
    expect(m.state).toBe('Stopped');
    m.observe(undefined);
    expect(m.types).toEqual([]);
    m.intents.stopped = false;
    m.intents.start = 1;
    m.observe(undefined);
    expect(m.types).toEqual(['createDomain']);
  });

  it('Manual: nothing until start; restart restarts; stop stops', () => {
    const m = new Sim();
    m.spec = desired({ runStrategy: 'Manual' });
    m.observe(undefined);
    expect(m.state).toBe('Stopped');
    expect(m.types).toEqual([]);
    m.intents.start = 1;
    m.boot(1);
    m.intents.restart = 1;
    m.observe(running(1));
    expect(m.state).toBe('Stopping');
    m.observe(undefined);
    expect(m.types).toEqual(['createDomain']);
    m.observe(running(2));
    m.intents.stopped = true;
    m.observe(running(2));
    expect(m.state).toBe('Stopping');
  });

  it('destroy acts once, then runStrategy applies (Always comes back like a pulled plug)', () => {
    const m = new Sim().boot(1);
    m.intents.destroy = 1;
    m.observe(running(1));
    expect(m.types).toEqual(['destroyDomain', 'createDomain']);
    m.observe(running(2));
    m.observe(running(2));
    expect(m.types).toEqual([]); // not destroyed again
  });

  it('reboot acts once: a reboot request, then onReboot restarts it', () => {
    const m = new Sim().boot(1);
    m.intents.reboot = 1;
    m.observe(running(1));
    expect(m.last.find((e) => e.type === 'requestShutdown')?.params).toEqual({ domid: 1, reason: 'reboot' });
    m.observe(running(1));
    expect(m.types).toEqual([]);
    m.observe(shut(1, 'reboot'));
    expect(m.types).toEqual(['destroyDomain', 'createDomain']);
  });

  it('an intent that cannot apply is refused visibly, not dropped silently', () => {
    const m = new Sim();
    m.spec = desired({ runStrategy: 'Manual' });
    m.observe(undefined);
    m.intents.reboot = 1;
    m.observe(undefined);
    expect(m.reasons).toContain('IntentRefused');
    m.observe(undefined);
    expect(m.reasons).toEqual([]);
  });
});

describe('persistence', () => {
  it('a snapshot survives JSON and resumes mid-operation', () => {
    const m = new Sim().boot(1);
    m.spec = undefined;
    m.observe(running(1));
    const saved = JSON.parse(JSON.stringify(persistDomainSnapshot(m.s)));
    const back = restoreDomainSnapshot(saved);
    expect(stateOf(back)).toBe('Stopping');
    const m2 = new Sim();
    m2.s = back;
    m2.spec = undefined;
    m2.now = m.now + DEFAULT_TIMING.gracePeriodMs;
    m2.observe(running(1));
    expect(m2.types).toEqual(['destroyDomain']);
  });

  it('refuses what is not a snapshot', () => {
    expect(() => restoreDomainSnapshot({ version: 1, snapshot: { value: 'Nowhere', context: {} } })).toThrow(/unknown machine state/);
    expect(() => restoreDomainSnapshot({})).toThrow();
  });
});
