// The Domain reconciler with several hosts: placement, spec.host, adoption where it runs, and no
// decision while the domain's host cannot be asked. Fake hosts, a fake clock, a real state dir.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { HostRegistry } from '../hosts/registry.ts';
import { HostScheduler } from '../hosts/scheduler.ts';
import { ObservedDomains } from '../hypervisor.ts';
import { scaledTiming } from '../machines/index.ts';
import { FakeClock } from '../queue/index.ts';
import { GUESTS_BUILD_DIR } from '../source/index.ts';
import { setDurable, StateStore } from '../store/index.ts';
import { ConsoleFollowers } from './consoles.ts';
import { DesiredState } from './desired.ts';
import { DomainReconciler } from './domain.reconciler.ts';
import { FakeHypervisor } from './testing.ts';

setDurable(false);
const TICKER = join(GUESTS_BUILD_DIR, 'ticker.elf');
const flush = async () => { for (let i = 0; i < 20; i++) await Promise.resolve(); await new Promise((r) => setImmediate(r)); };

class World {
  dir = mkdtempSync(join(tmpdir(), 'xf-hosts-'));
  manifests = join(this.dir, 'm');
  local = new FakeHypervisor();
  b = new FakeHypervisor();
  clock = new FakeClock();
  desired!: DesiredState;
  reg!: HostRegistry;
  rec!: DomainReconciler;

  async boot(): Promise<void> {
    mkdirSync(this.manifests, { recursive: true });
    writeFileSync(join(this.manifests, 'b.token'), 'token-0123456789abcdef');
    this.desired = new DesiredState({ dir: this.manifests });
    this.reg = new HostRegistry({ local: this.local, clock: this.clock, connect: () => this.b, listMaxAgeMs: 0 });
    await this.reg.start();
    const store = new StateStore(join(this.dir, 's'));
    const observed = this.reg.observedFor('local') ?? new ObservedDomains(this.local, () => this.clock.now(), 0);
    this.rec = new DomainReconciler({
      hv: this.local, store, desired: this.desired, observed, hosts: new HostScheduler(this.reg),
      consoles: new ConsoleFollowers(() => this.local, { logsDir: store.logsDir, now: () => this.clock.now(), onChange: () => undefined, record: false }),
      clock: this.clock, timing: scaledTiming(1), hostName: 'local',
    });
  }

  async write(file: string, text: string): Promise<void> {
    writeFileSync(join(this.manifests, file), text);
    await this.desired.loadAll();
    this.reg.sync(this.desired.hosts());
    // a new Host answers its first heartbeat (its token is read from the file first)
    for (let i = 0; i < 50 && this.reg.connecting().length; i++) await flush();
  }

  async pass(name: string, times = 1) {
    for (let i = 0; i < times; i++) await this.rec.reconcile(`Domain/${name}`);
    await flush();
  }

  status(name: string) { return this.rec.object(name)?.status; }
  cond(name: string, type: string) { return this.status(name)?.conditions?.find((c) => c.type === type); }
}

const domain = (name: string, extra = '') => `apiVersion: xenoform.dev/v1alpha1\nkind: Domain\nmetadata:\n  name: ${name}\nspec:\n  kernel: ${TICKER}\n  memory: 32\n${extra}`;
const HOST_B = 'apiVersion: xenoform.dev/v1alpha1\nkind: Host\nmetadata:\n  name: b\nspec:\n  address: 127.0.0.1:7001\n  tokenFile: b.token\n';

let w: World;
beforeEach(async () => { w = new World(); await w.boot(); });

describe('DomainReconciler with several hosts', () => {
  it('creates a domain on the Host its spec names, and says where it runs', async () => {
    await w.write('b.yaml', HOST_B);
    await w.write('web.yaml', domain('web', '  host: b\n'));
    await w.pass('web', 2);
    expect(w.b.byName('web')).toBeDefined();
    expect(w.local.byName('web')).toBeUndefined();
    expect(w.status('web')).toMatchObject({ phase: 'Running', host: 'b' });
    expect(w.cond('web', 'Scheduled')).toMatchObject({ status: 'True', message: 'running on host b' });
    expect(w.reg.host('b')?.status?.allocated).toEqual({ memoryMiB: 32, domains: 1 });
  });

  it('an unknown spec.host leaves the domain Pending, saying why; declaring the Host starts it there', async () => {
    await w.write('web.yaml', domain('web', '  host: b\n'));
    await w.pass('web', 2);
    expect(w.status('web')?.phase).toBe('Pending');
    expect(w.cond('web', 'Scheduled')).toMatchObject({ status: 'False', reason: 'HostNotFound' });
    expect(w.local.calls.filter((c) => c.startsWith('create'))).toEqual([]);
    await w.write('b.yaml', HOST_B);
    await w.pass('web', 2);
    expect(w.status('web')).toMatchObject({ phase: 'Running', host: 'b' });
  });

  it('adopts a domain running on another host (a restarted controller), never creating a second one', async () => {
    await w.write('b.yaml', HOST_B);
    await w.b.create({ name: 'web', kernel: TICKER, memoryMiB: 32 });
    await w.write('web.yaml', domain('web'));
    await w.pass('web', 2);
    expect(w.status('web')).toMatchObject({ phase: 'Running', host: 'b', domid: 1 });
    expect(w.local.calls.filter((c) => c.startsWith('create'))).toEqual([]);
  });

  it('a domain whose host stops answering is left alone until it answers again', async () => {
    await w.write('b.yaml', HOST_B);
    await w.write('web.yaml', domain('web', '  host: b\n'));
    await w.pass('web', 2);
    w.b.down = true;
    w.clock.advance(5000); // the next heartbeat fails: b is NotReady
    await flush();
    await expect(w.rec.reconcile('Domain/web')).rejects.toMatchObject({ code: 'EHOSTDOWN' });
    expect(w.status('web')).toMatchObject({ phase: 'Running', host: 'b' });
    expect(w.local.calls.filter((c) => c.startsWith('create'))).toEqual([]);
    w.b.down = false;
    w.clock.advance(5000);
    await flush();
    await w.pass('web');
    expect(w.status('web')).toMatchObject({ phase: 'Running', host: 'b', domid: 1 });
    w.reg.stop();
  });
});
