// The Domain reconciler against a fake Hypervisor API, a fake clock and a real state dir.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { GUESTS_BUILD_DIR } from '../source/index.ts';
import { ObservedDomains } from '../hypervisor.ts';
import { scaledTiming } from '../machines/index.ts';
import { FakeClock } from '../queue/index.ts';
import { setDurable, StateStore } from '../store/index.ts';
import { ConsoleFollowers } from './consoles.ts';
import { DesiredState } from './desired.ts';
import { DomainReconciler } from './domain.reconciler.ts';
import { FakeHypervisor } from './testing.ts';

setDurable(false);
const TICKER = join(GUESTS_BUILD_DIR, 'ticker.elf');

function manifest(name: string, extra = ''): string {
  return `apiVersion: xenoform.dev/v1alpha1\nkind: Domain\nmetadata:\n  name: ${name}\nspec:\n  kernel: ${TICKER}\n  memory: 32\n  maxMemory: 64\n${extra}`;
}

class World {
  dir = mkdtempSync(join(tmpdir(), 'xf-rec-'));
  manifests = join(this.dir, 'manifests');
  state = join(this.dir, 'state');
  hv = new FakeHypervisor();
  clock = new FakeClock();
  desired = new DesiredState({ dir: this.manifests });
  store!: StateStore;
  rec!: DomainReconciler;
  consoles!: ConsoleFollowers;
  changed: string[] = [];

  constructor() {
    rmSync(this.manifests, { recursive: true, force: true });
    mkdirSync(this.manifests);
    this.boot();
  }

  /** a (re)started controller on the same state dir and host */
  boot(): void {
    this.store = new StateStore(this.state);
    const consoles = new ConsoleFollowers(this.hv, { logsDir: this.store.logsDir, now: () => this.clock.now(), onChange: (n) => this.changed.push(n) });
    this.consoles = consoles;
    this.rec = new DomainReconciler({
      hv: this.hv, store: this.store, desired: this.desired, observed: new ObservedDomains(this.hv, () => this.clock.now(), 0),
      consoles, clock: this.clock, timing: scaledTiming(1), hostName: 'local',
    });
  }

  async write(name: string, text: string): Promise<void> {
    writeFileSync(join(this.manifests, `${name}.yaml`), text);
    await this.desired.loadAll();
  }

  async remove(name: string): Promise<void> {
    rmSync(join(this.manifests, `${name}.yaml`));
    await this.desired.loadAll();
  }

  async pass(name: string, times = 1) {
    let r;
    for (let i = 0; i < times; i++) r = await this.rec.reconcile(`Domain/${name}`);
    await new Promise((res) => setImmediate(res));
    return r;
  }

  status(name: string) {
    return this.rec.object(name)?.status;
  }

  cond(name: string, type: string) {
    return this.status(name)?.conditions?.find((c) => c.type === type);
  }
}

let w: World;
beforeEach(() => { w = new World(); });

describe('DomainReconciler', () => {
  it('creates a declared domain and reports it Running, with metadata the controller owns', async () => {
    await w.write('web', manifest('web'));
    await w.pass('web');
    expect(w.hv.calls.filter((c) => c.startsWith('create'))).toEqual(['create web']);
    await w.pass('web');
    const obj = w.rec.object('web')!;
    expect(obj.status).toMatchObject({ phase: 'Running', domid: 1, state: 'r-----', host: 'local', observedGeneration: 1, restarts: 0, kernel: TICKER });
    expect(obj.metadata).toMatchObject({ name: 'web', generation: 1 });
    expect(obj.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(obj.spec).toMatchObject({ memory: 32, cpuWeight: 256, runStrategy: 'Always' });
    expect(w.cond('web', 'Ready')).toMatchObject({ status: 'True', reason: 'DomainRunning', observedGeneration: 1 });
    expect(w.store.events.list('web').map((e) => e.reason)).toContain('Started');
  });

  it('a restarted controller adopts the running domain: never a second create', async () => {
    await w.write('web', manifest('web'));
    await w.pass('web', 2);
    w.boot();
    await w.pass('web', 2);
    expect(w.hv.calls.filter((c) => c.startsWith('create'))).toHaveLength(1);
    expect(w.status('web')).toMatchObject({ phase: 'Running', domid: 1 });
  });

  it('a corrupt state file is reported and rebuilt from what is running', async () => {
    await w.write('web', manifest('web'));
    await w.pass('web', 2);
    writeFileSync(join(w.state, 'domains', 'web.json'), '{"version": 1, "na');
    w.boot();
    await w.pass('web', 2);
    expect(w.hv.calls.filter((c) => c.startsWith('create'))).toHaveLength(1);
    expect(w.status('web')?.phase).toBe('Running');
    expect(w.store.events.list('web').map((e) => e.reason)).toEqual(expect.arrayContaining(['StateRebuilt', 'Adopted']));
  });

  it('memory and cpuWeight change live; generation and observedGeneration follow', async () => {
    await w.write('web', manifest('web'));
    await w.pass('web', 2);
    await w.write('web', manifest('web', '  cpuWeight: 512\n').replace('memory: 32', 'memory: 48'));
    await w.pass('web', 2);
    expect(w.hv.calls).toEqual(expect.arrayContaining(['mem-set 1 48', 'sched 1 512/0']));
    expect(w.rec.object('web')?.metadata.generation).toBe(2);
    expect(w.status('web')).toMatchObject({ phase: 'Running', domid: 1, observedGeneration: 2 });
    expect(w.cond('web', 'RestartRequired')?.status).toBe('False');
  });

  it('a change that needs a restart sets RestartRequired and, with updateStrategy Restart, restarts gracefully', async () => {
    await w.write('web', manifest('web'));
    await w.pass('web', 2);
    await w.write('web', manifest('web', '  cmdline: "console=hvc0"\n'));
    await w.pass('web');
    expect(w.cond('web', 'RestartRequired')).toMatchObject({ status: 'True', reason: 'BootFieldsChanged' });
    expect(w.cond('web', 'RestartRequired')?.message).toMatch(/spec\.cmdline/);
    expect(w.hv.calls).toContain('shutdown 1 poweroff');
    await w.pass('web', 3);
    expect(w.status('web')).toMatchObject({ phase: 'Running', domid: 2, restarts: 1 });
    expect(w.cond('web', 'RestartRequired')?.status).toBe('False');
  });

  it('an invalid edit keeps the domain running on its last valid spec (InvalidSpec)', async () => {
    await w.write('web', manifest('web'));
    await w.pass('web', 2);
    const before = w.hv.calls.length;
    await w.write('web', manifest('web').replace('memory: 32', 'memory: lots'));
    await w.pass('web', 2);
    expect(w.hv.calls.slice(before).filter((c) => c !== 'list')).toEqual([]);
    expect(w.status('web')).toMatchObject({ phase: 'Running', domid: 1 });
    expect(w.cond('web', 'InvalidSpec')).toMatchObject({ status: 'True' });
    expect(w.cond('web', 'InvalidSpec')?.message).toMatch(/web\.yaml:\d+:\d+: spec\.memory/);
    expect(w.rec.object('web')?.metadata.generation).toBe(1);
    // broken YAML: the whole file is held at its last good content
    await w.write('web', 'apiVersion: [\n');
    await w.pass('web', 2);
    expect(w.status('web')?.phase).toBe('Running');
    expect(w.cond('web', 'InvalidSpec')?.message).toMatch(/YAML syntax/);
    // fixed: valid again
    await w.write('web', manifest('web'));
    await w.pass('web');
    expect(w.cond('web', 'InvalidSpec')?.status).toBe('False');
  });

  it('a deleted manifest shuts the domain down gracefully, then forgets it', async () => {
    await w.write('web', manifest('web'));
    await w.pass('web', 2);
    await w.remove('web');
    await w.pass('web');
    expect(w.hv.calls).toContain('shutdown 1 poweroff');
    expect(w.status('web')?.phase).toBe('Stopping');
    await w.pass('web');
    expect(w.hv.calls).toContain('destroy 1');
    expect(w.rec.object('web')).toBeUndefined();
    expect(w.hv.live()).toEqual([]);
  });

  it('a guest that ignores the shutdown request is destroyed when the grace period ends (injected clock)', async () => {
    w.hv.onShutdownRequest = 'ignore';
    await w.write('web', manifest('web'));
    await w.pass('web', 2);
    await w.remove('web');
    const r = await w.pass('web');
    expect(r?.requeueAfter).toBeGreaterThan(0);
    w.clock.advance(29_000);
    await w.pass('web');
    expect(w.hv.live()).toHaveLength(1);
    w.clock.advance(1_000);
    await w.pass('web');
    expect(w.hv.live()).toHaveLength(0);
    expect(w.store.events.list('web').map((e) => e.reason)).toContain('ShutdownTimeout');
  });

  it('a crashing guest with onCrash restart backs off 10 s × n² and shows CrashLoopBackOff', async () => {
    await w.write('web', manifest('web', '  onCrash: restart\n'));
    await w.pass('web', 2);
    w.hv.end('web', 'crash');
    const r = await w.pass('web');
    expect(w.status('web')).toMatchObject({ phase: 'CrashLoopBackOff', startFailure: { consecutiveFailCount: 1 } });
    expect(r?.requeueAfter).toBe(10_000);
    w.clock.advance(10_000);
    await w.pass('web', 2);
    expect(w.status('web')).toMatchObject({ phase: 'Running', domid: 2, restarts: 1 });
    w.hv.end('web', 'crash');
    const r2 = await w.pass('web');
    expect(r2?.requeueAfter).toBe(40_000);
  });

  it('a failed create is reported (Failure condition) and thrown for the queue to back off', async () => {
    w.hv.failNextCreate = Object.assign(new Error('no memory'), { code: 'ENOMEM' });
    await w.write('web', manifest('web'));
    await expect(w.pass('web')).rejects.toThrow(/createDomain failed: no memory/);
    expect(w.status('web')?.phase).toBe('Failed');
    expect(w.cond('web', 'Failure')).toMatchObject({ status: 'True', reason: 'ENOMEM' });
    await w.pass('web', 2);
    expect(w.status('web')?.phase).toBe('Running');
    expect(w.cond('web', 'Failure')?.status).toBe('False');
  });

  it('readiness by a console line: Ready only once the line is seen', async () => {
    await w.write('web', manifest('web', '  readiness:\n    console:\n      pattern: "^ticker: ready$"\n'));
    await w.pass('web', 2);
    expect(w.cond('web', 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForConsole' });
    w.hv.print('web', 'booting\nticker: re');
    await new Promise((r) => setImmediate(r));
    w.hv.print('web', 'ady\ntick 1\n');
    await new Promise((r) => setImmediate(r));
    expect(w.changed).toContain('web');
    await w.pass('web');
    expect(w.cond('web', 'Ready')).toMatchObject({ status: 'True', reason: 'ConsolePatternMatched' });
    // the console is kept in the state dir
    w.consoles.stop('web');
    expect(readFileSync(join(w.store.logsDir, 'web.log'), 'utf8')).toBe('booting\nticker: ready\ntick 1\n');
  });

  it('xenstore readiness: Ready once the guest writes the key with the expected value, looked at every periodSeconds', async () => {
    await w.write('web', manifest('web', '  readiness:\n    xenstore:\n      path: data/ready\n      value: "yes"\n'));
    const r = await w.pass('web', 2);
    expect(w.cond('web', 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForXenstore' });
    expect(r?.requeueAfter).toBeLessThanOrEqual(1000);
    w.hv.xenstore.set(1, new Map([['data/ready', 'not yet']]));
    await w.pass('web');
    expect(w.cond('web', 'Ready')).toMatchObject({ status: 'False', message: expect.stringContaining('"not yet"') });
    w.hv.xenstore.get(1)!.set('data/ready', 'yes');
    await w.pass('web');
    expect(w.cond('web', 'Ready')).toMatchObject({ status: 'True', reason: 'XenstoreKeyWritten' });
  });

  it('a host power cut: Always domains are started again', async () => {
    await w.write('web', manifest('web'));
    await w.pass('web', 2);
    w.hv.powerCut();
    await w.pass('web', 2);
    expect(w.status('web')).toMatchObject({ phase: 'Running', domid: 1, restarts: 1 });
    expect(w.store.events.list('web').map((e) => e.reason)).toContain('DomainVanished');
  });

  it('intents: pause holds until unpause', async () => {
    await w.write('web', manifest('web'));
    await w.pass('web', 2);
    await w.store.updateIntents('web', (i) => { i.paused = true; }, 'pause', new Date());
    await w.pass('web');
    expect(w.status('web')).toMatchObject({ phase: 'Paused', intent: 'paused' });
    await w.store.updateIntents('web', (i) => { i.paused = false; }, 'unpause', new Date());
    await w.pass('web');
    expect(w.status('web')?.phase).toBe('Running');
  });
});
