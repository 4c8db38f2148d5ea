// The Domain machine's save/restore (xl save [-c], xl restore; ../shared/DESIGN.md §3): pure
// transition(), no runtime.
import { describe, expect, it } from 'vitest';
import {
  decide, effectFailed, IMAGE_MISSING, initialDomainSnapshot, noIntents, persistDomainSnapshot, phaseOf, restoreDomainSnapshot, stateOf,
  type DesiredDomain, type DomainSnapshot, type Effect, type Intents, type ObservedDomain,
} from './index.ts';

const T0 = 1_000_000;
const FILE = '/saves/web.save';

const desired = (over: Partial<DesiredDomain> = {}): DesiredDomain => ({
  generation: 1, bootHash: 'h1',
  create: { name: 'web', kernel: '/k/ticker.elf', memoryMiB: 32, maxMemoryMiB: 64, vcpus: 1, maxVcpus: 1, weight: 256, cap: 0 },
  memoryMiB: 32, cpuWeight: 256, cpuCap: 0,
  runStrategy: 'Always', onPoweroff: 'destroy', onReboot: 'restart', onCrash: 'destroy', onWatchdog: 'destroy', updateStrategy: 'Restart',
  ...over,
});
const running = (domid: number): ObservedDomain => ({ domid, state: '-b----', memoryKiB: 32768, maxMemoryKiB: 65536, weight: 256, cap: 0 });

class Sim {
  s: DomainSnapshot = initialDomainSnapshot({ name: 'web' });
  intents: Intents = noIntents();
  spec: DesiredDomain | undefined = desired();
  last: Effect[] = [];
  observe(observed: ObservedDomain | undefined) {
    const r = decide(this.s, { now: T0, desired: this.spec, observed, intents: this.intents });
    this.s = r.snapshot;
    this.last = r.effects;
    return this;
  }
  fail(effect: string, code: string, message: string) {
    const r = effectFailed(this.s, { effect, code, message, at: T0 });
    this.s = r.snapshot;
    this.last = r.effects;
    return this;
  }
  get state() { return stateOf(this.s); }
  get types() { return this.last.filter((e) => e.type !== 'recordEvent').map((e) => e.type); }
  get reasons() { return this.last.filter((e) => e.type === 'recordEvent').map((e) => (e.params as { reason: string }).reason); }
  effect(type: string) { return this.last.find((e) => e.type === type)?.params; }
  boot(domid = 1) {
    this.observe(undefined).observe(running(domid));
    expect(this.state).toBe('Running');
    return this;
  }
  requestSave(checkpoint = false) {
    this.intents = { ...this.intents, save: this.intents.save + 1, saveTo: { file: FILE, checkpoint } };
    return this;
  }
  /** what reconcile records once the image is written (non-checkpoint) */
  saved(domid = 1) {
    this.intents = { ...this.intents, saved: { file: FILE, at: new Date(T0).toISOString(), domid } };
    return this;
  }
}

describe('save', () => {
  it('save: Running → Saving (saveDomain) → Stopped once the domain is gone; runStrategy Always does not start it again', () => {
    const m = new Sim().boot(1).requestSave().observe(running(1));
    expect(m.state).toBe('Saving');
    expect(m.effect('saveDomain')).toEqual({ domid: 1, file: FILE, checkpoint: false });
    expect(phaseOf(m.s)).toBe('Stopping');
    m.saved(1).observe(undefined);
    expect(m.state).toBe('Stopped');
    expect(phaseOf(m.s)).toBe('Stopped');
    for (let i = 0; i < 5; i++) {
      m.observe(undefined);
      expect(m.types).toEqual([]);
    }
    expect(m.state).toBe('Stopped');
    // a restarted controller (persisted snapshot) keeps it down too
    const again = restoreDomainSnapshot(persistDomainSnapshot(m.s));
    const r = decide(again, { now: T0, desired: desired(), intents: m.intents });
    expect(r.effects.map((e) => e.type)).not.toContain('createDomain');
  });

  it('save of a paused domain works the same; the save is done once', () => {
    const m = new Sim().boot(1);
    m.intents = { ...m.intents, paused: true };
    m.observe(running(1)).observe({ ...running(1), state: '--p---' });
    expect(m.state).toBe('Paused');
    m.requestSave().observe({ ...running(1), state: '--p---' });
    expect(m.state).toBe('Saving');
    expect(m.types).toEqual(['saveDomain']);
  });

  it('a failed save goes back to Running with SaveFailed; it is not tried again', () => {
    const m = new Sim().boot(1).requestSave().observe(running(1));
    m.fail('saveDomain', 'EINVAL', 'cannot write the save image /nope/x: ENOENT');
    expect(m.state).toBe('Running');
    expect(m.reasons).toContain('SaveFailed');
    m.observe(running(1));
    expect(m.types).not.toContain('saveDomain');
  });

  it('save --checkpoint: the image is written and the domain keeps running', () => {
    const m = new Sim().boot(1).requestSave(true).observe(running(1));
    expect(m.state).toBe('Running');
    expect(m.effect('saveDomain')).toEqual({ domid: 1, file: FILE, checkpoint: true });
    m.observe(running(1));
    expect(m.types).toEqual([]);
  });

  it('a save with no domain running is refused, visibly', () => {
    const m = new Sim();
    m.spec = desired({ runStrategy: 'Manual' });
    m.observe(undefined);
    expect(m.state).toBe('Stopped');
    m.requestSave().observe(undefined);
    expect(m.reasons).toContain('IntentRefused');
    expect(m.s.context.handled.save).toBe(1);
  });
});

describe('restore', () => {
  const savedSim = () => {
    const m = new Sim().boot(1).requestSave().observe(running(1));
    return m.saved(1).observe(undefined);
  };

  it('a domain restored under its name (xenoform restore) is taken back: Restored, the saved intent dropped, no create', () => {
    const m = savedSim().observe(running(2));
    expect(m.state).toBe('Running');
    expect(m.types).toEqual(['forgetSaved']);
    expect(m.reasons).toContain('Restored');
    expect(m.s.context.domid).toBe(2);
    expect(m.s.context.restarts).toBe(0);
  });

  it('start on a saved domain restores it from its image (restoreDomain), not a fresh boot', () => {
    const m = savedSim();
    m.intents = { ...m.intents, start: m.intents.start + 1 };
    m.observe(undefined);
    expect(m.state).toBe('Restoring');
    expect(m.types).toEqual(['restoreDomain']);
    expect(m.effect('restoreDomain')).toEqual({ file: FILE });
    expect(phaseOf(m.s)).toBe('Starting');
    m.observe(running(3));
    expect(m.state).toBe('Running');
    expect(m.types).toEqual(['forgetSaved']);
    expect(m.reasons).toContain('Restored');
  });

  it('start with the image gone: the saved intent is dropped and the pending start boots it afresh', () => {
    const m = savedSim();
    m.intents = { ...m.intents, start: m.intents.start + 1 };
    m.observe(undefined).fail('restoreDomain', IMAGE_MISSING, `cannot read the save image ${FILE}: ENOENT`);
    expect(m.state).toBe('Stopped');
    expect(m.types).toEqual(['forgetSaved']);
    expect(m.reasons).toContain('SavedImageMissing');
    m.intents = { ...m.intents, saved: undefined };
    m.observe(undefined);
    expect(m.state).toBe('Starting');
    expect(m.types).toEqual(['createDomain']);
  });

  it('start with a corrupt image: RestoreFailed, the domain stays saved and nothing boots', () => {
    const m = savedSim();
    m.intents = { ...m.intents, start: m.intents.start + 1 };
    m.observe(undefined).fail('restoreDomain', 'IMAGE', 'bad checksum (CHECKSUM)');
    expect(m.state).toBe('Stopped');
    expect(m.reasons).toContain('RestoreFailed');
    m.observe(undefined);
    expect(m.types).toEqual([]);
  });
});
