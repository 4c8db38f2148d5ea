// save/restore through the Domain reconciler, against the fake hypervisor (which writes and
// reads image files like the real host), a fake clock and a real state dir.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { GUESTS_BUILD_DIR } from '../source/index.ts';
import { ObservedDomains } from '../hypervisor.ts';
import { scaledTiming } from '../machines/index.ts';
import { FakeClock } from '../queue/index.ts';
import { setDurable, StateStore } from '../store/index.ts';
import { DesiredState } from './desired.ts';
import { DomainReconciler } from './domain.reconciler.ts';
import { FakeHypervisor } from './testing.ts';

setDurable(false);
const TICKER = join(GUESTS_BUILD_DIR, 'ticker.elf');

class World {
  dir = mkdtempSync(join(tmpdir(), 'xf-save-'));
  manifests = join(this.dir, 'manifests');
  file = join(this.dir, 'web.save');
  hv = new FakeHypervisor();
  clock = new FakeClock();
  desired = new DesiredState({ dir: this.manifests });
  store!: StateStore;
  rec!: DomainReconciler;
  observed!: ObservedDomains;

  constructor() {
    rmSync(this.manifests, { recursive: true, force: true });
    mkdirSync(this.manifests);
    this.boot();
  }

  boot(): void {
    this.store = new StateStore(join(this.dir, 'state'));
    this.observed = new ObservedDomains(this.hv, () => this.clock.now(), 0);
    this.rec = new DomainReconciler({
      hv: this.hv, store: this.store, desired: this.desired, observed: this.observed,
      clock: this.clock, timing: scaledTiming(1), hostName: 'local',
    });
  }

  async declare(extra = ''): Promise<void> {
    writeFileSync(join(this.manifests, 'web.yaml'), `apiVersion: xenoform.dev/v1alpha1\nkind: Domain\nmetadata:\n  name: web\nspec:\n  kernel: ${TICKER}\n  memory: 32\n${extra}`);
    await this.desired.loadAll();
  }

  async pass(times = 1) {
    for (let i = 0; i < times; i++) await this.rec.reconcile('Domain/web').catch(() => undefined);
  }

  /** as the API does: record the request, then wait for reconcile to carry it out */
  async save(checkpoint = false, file = this.file) {
    const i = await this.store.updateIntents('web', (x) => { x.save++; x.saveTo = { file, checkpoint }; }, 'save', new Date(this.clock.now()));
    const outcome = this.rec.saveOutcome('web', i.save);
    await this.pass();
    return outcome;
  }

  status() { return this.rec.object('web')?.status; }
  cond(type: string) { return this.status()?.conditions?.find((c) => c.type === type); }
  reasons() { return this.store.events.list('web').map((e) => e.reason); }
  creates() { return this.hv.calls.filter((c) => c.startsWith('create')).length; }
}

let w: World;
beforeEach(() => { w = new World(); });

describe('save', () => {
  it('a saved Always domain is gone and stays gone: Stopped, Saved condition, saved intent with file and time', async () => {
    await w.declare();
    await w.pass(2);
    expect(w.status()?.phase).toBe('Running');
    const outcome = await w.save();
    expect(outcome.ok).toBe(true);
    expect(outcome.message).toContain(w.file);
    expect(existsSync(w.file)).toBe(true);
    expect(w.hv.live()).toEqual([]);
    expect(w.store.intentsOf('web').saved).toMatchObject({ file: w.file, at: expect.any(String), domid: 1 });
    for (let i = 0; i < 5; i++) {
      w.clock.advance(60_000);
      await w.pass();
    }
    expect(w.creates()).toBe(1);
    expect(w.status()).toMatchObject({ phase: 'Stopped', intent: 'saved' });
    expect(w.status()?.domid).toBeUndefined();
    expect(w.cond('Saved')).toMatchObject({ status: 'True', reason: 'SavedToFile' });
    expect(w.cond('Saved')?.message).toContain(w.file);
    expect(w.cond('Ready')).toMatchObject({ status: 'False', reason: 'Saved' });
    expect(w.reasons()).toContain('Saved');
    // a restarted controller keeps it down as well
    w.boot();
    await w.store.loadIntents();
    await w.pass(3);
    expect(w.creates()).toBe(1);
    expect(w.status()?.phase).toBe('Stopped');
  });

  it('save --checkpoint writes the image and the domain keeps running; nothing is parked', async () => {
    await w.declare();
    await w.pass(2);
    const outcome = await w.save(true);
    expect(outcome.ok).toBe(true);
    expect(existsSync(w.file)).toBe(true);
    expect(w.status()).toMatchObject({ phase: 'Running', domid: 1 });
    expect(w.store.intentsOf('web').saved).toBeUndefined();
    expect(w.cond('Saved')).toBeUndefined();
  });

  it('a save the host refuses comes back as the outcome; the domain keeps running', async () => {
    await w.declare();
    await w.pass(2);
    const outcome = await w.save(false, join(w.dir, 'no-such-dir', 'x.save'));
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toMatch(/cannot save Domain web to .*no-such-dir.*: cannot write the save image/);
    await w.pass();
    expect(w.status()).toMatchObject({ phase: 'Running', domid: 1 });
    expect(w.store.intentsOf('web').saved).toBeUndefined();
    expect(w.reasons()).toContain('SaveFailed');
  });

  it('a saved intent over a domain that still runs (a controller killed mid-save whose save failed) is dropped, nothing stops', async () => {
    await w.declare();
    await w.pass(2);
    await w.store.updateIntents('web', (i) => { i.saved = { file: w.file, at: new Date().toISOString(), domid: 1 }; }, 'saved', new Date());
    w.boot();
    await w.store.loadIntents();
    await w.pass(2);
    expect(w.store.intentsOf('web').saved).toBeUndefined();
    expect(w.status()).toMatchObject({ phase: 'Running', domid: 1 });
    expect(w.hv.calls.filter((c) => /^(shutdown|destroy)/.test(c))).toEqual([]);
  });

  it('a save of a domain that is not running is refused', async () => {
    await w.declare('  runStrategy: Manual\n');
    await w.pass();
    expect(w.status()?.phase).toBe('Stopped');
    const outcome = await w.save();
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toMatch(/save refused/);
  });
});

describe('restore', () => {
  async function saved() {
    await w.declare();
    await w.pass(2);
    expect((await w.save()).ok).toBe(true);
    await w.pass();
  }

  it('xenoform restore FILE: the restored domain is adopted as the Domain (new domid, Restored, intent cleared, one domain)', async () => {
    await saved();
    const info = await w.hv.restore(w.file); // what the API's restore does
    w.observed.put(info, true);
    await w.pass(2);
    expect(w.status()).toMatchObject({ phase: 'Running', domid: info.domid });
    expect(info.domid).not.toBe(1);
    expect(w.hv.live()).toHaveLength(1);
    expect(w.creates()).toBe(1);
    expect(w.store.intentsOf('web').saved).toBeUndefined();
    expect(w.status()?.intent).toBeUndefined();
    expect(w.cond('Saved')).toMatchObject({ status: 'False', reason: 'NotSaved' });
    expect(w.reasons()).toContain('Restored');
    // runStrategy applies again: a destroy brings it back
    await w.hv.destroy(info.domid);
    await w.pass(2);
    expect(w.status()?.phase).toBe('Running');
    expect(w.creates()).toBe(2);
  });

  it('start on a saved domain restores it from the image, not a fresh boot', async () => {
    await saved();
    await w.store.updateIntents('web', (i) => { i.start++; }, 'start', new Date());
    await w.pass();
    expect(w.hv.calls).toContain(`restore ${w.file}`);
    expect(w.creates()).toBe(1);
    expect(w.status()).toMatchObject({ phase: 'Running', domid: 2 });
    expect(w.store.intentsOf('web').saved).toBeUndefined();
    expect(w.reasons()).toEqual(expect.arrayContaining(['Restoring', 'Restored']));
  });

  it('start on a saved domain whose image is gone boots it afresh (SavedImageMissing)', async () => {
    await saved();
    rmSync(w.file);
    await w.store.updateIntents('web', (i) => { i.start++; }, 'start', new Date());
    await w.pass(3);
    expect(w.reasons()).toContain('SavedImageMissing');
    expect(w.store.intentsOf('web').saved).toBeUndefined();
    expect(w.creates()).toBe(2);
    expect(w.status()?.phase).toBe('Running');
  });

  it('restoring while the Domain runs is refused by the host (EEXIST): still one domain', async () => {
    await w.declare();
    await w.pass(2);
    expect((await w.save(true)).ok).toBe(true);
    await expect(w.hv.restore(w.file)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(w.hv.live()).toHaveLength(1);
  });
});
