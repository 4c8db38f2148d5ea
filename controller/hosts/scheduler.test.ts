import { describe, expect, it } from 'vitest';
import { UnauthorizedError, type HostInfo } from '../../runtime/api.ts';
import { FakeClock } from '../queue/clock.ts';
import { FakeHypervisor } from '../reconcilers/testing.ts';
import type { ManifestObject } from '../source/index.ts';
import { HostRegistry } from './registry.ts';
import { HostScheduler, scheduledCondition } from './scheduler.ts';

class Refusing extends FakeHypervisor {
  override async info(): Promise<HostInfo> { throw new UnauthorizedError(); }
}

const hostObject = (name: string, memoryMiB: number): ManifestObject => ({
  kind: 'Host', name, file: `/m/${name}.yaml`, line: 1, col: 1, doc: 0, claims: [],
  object: { apiVersion: 'xenoform.dev/v1alpha1', kind: 'Host', metadata: { name }, spec: { address: `${name}:1`, tokenFile: 't', capacity: { memoryMiB } } },
  files: { 'spec.tokenFile': '/m/t' },
});

const flush = async () => { for (let i = 0; i < 20; i++) await Promise.resolve(); await new Promise((r) => setImmediate(r)); };

async function cluster() {
  const clock = new FakeClock();
  const local = new FakeHypervisor();
  const remote = new Map<string, FakeHypervisor>();
  const reg = new HostRegistry({
    local, clock, readToken: async () => 'token-0123456789abcdef',
    connect: (address) => { const h = address.startsWith('bad') ? new Refusing() : new FakeHypervisor(); remote.set(address.split(':')[0]!, h); return h; },
  });
  await reg.start();
  reg.sync([hostObject('b', 4096), hostObject('bad', 4096)]);
  await flush();
  return { clock, local, remote, reg, sched: new HostScheduler(reg) };
}

describe('HostScheduler.where', () => {
  it('adopts a domain where it runs, whatever spec.host says (moving is migration\'s job)', async () => {
    const c = await cluster();
    await c.remote.get('b')!.create({ name: 'web', kernel: 'k', memoryMiB: 32 });
    const at = await c.sched.where('web', { host: 'local', memoryMiB: 32 });
    expect(at).toMatchObject({ ok: true, host: 'b' });
    expect(c.reg.placementOf('web')).toEqual({ host: 'b', memoryMiB: 32 });
    c.reg.stop();
  });

  it('explains a spec.host that is unknown or not Ready, and uses it when Ready', async () => {
    const c = await cluster();
    expect(await c.sched.where('x', { host: 'nope', memoryMiB: 32 })).toMatchObject({ ok: false, reason: 'HostNotFound', message: expect.stringContaining('"nope"') });
    expect(await c.sched.where('x', { host: 'bad', memoryMiB: 32 })).toMatchObject({ ok: false, reason: 'HostNotReady', message: expect.stringContaining('Unauthorized') });
    expect(await c.sched.where('x', { host: 'b', memoryMiB: 32 })).toMatchObject({ ok: true, host: 'b' });
    c.reg.stop();
  });

  it('does not decide for a domain whose host cannot be asked (it may still run there)', async () => {
    const c = await cluster();
    await expect(c.sched.where('x', { memoryMiB: 32, runningOn: 'bad' })).rejects.toMatchObject({ code: 'EHOSTDOWN' });
    c.reg.stop();
  });

  it('places on the host with the most capacity left free, reserves it, and stays there', async () => {
    const c = await cluster();
    // local reports 64 GiB, b is declared with 4 GiB: local has more left
    expect(await c.sched.where('a', { memoryMiB: 64 })).toMatchObject({ ok: true, host: 'local' });
    c.reg.place('big', 'local', 65536 - 64 - 100);
    expect(await c.sched.where('c', { memoryMiB: 64 })).toMatchObject({ ok: true, host: 'b' });
    // `a` keeps its host although b now has more room
    expect(await c.sched.where('a', { memoryMiB: 64 })).toMatchObject({ ok: true, host: 'local' });
    expect(await c.sched.where('huge', { memoryMiB: 8192 })).toMatchObject({ ok: false, reason: 'InsufficientMemory' });
    c.sched.settle('c', undefined, 0);
    expect(c.reg.placementOf('c')).toBeUndefined();
    c.reg.stop();
  });

  it('Scheduled condition: True with the host, False with the reason; the transition time moves only with the status', () => {
    const site = { ok: true as const, host: 'b', hv: new FakeHypervisor(), observed: undefined as never };
    const [t] = scheduledCondition([], [], site, 'b', 1000, 1);
    expect(t).toMatchObject({ type: 'Scheduled', status: 'True', reason: 'Scheduled', message: 'running on host b', lastTransitionTime: new Date(1000).toISOString() });
    const [same] = scheduledCondition([], [t!], site, undefined, 5000, 2);
    expect(same).toMatchObject({ message: 'placed on host b', lastTransitionTime: new Date(1000).toISOString(), observedGeneration: 2 });
    const [f] = scheduledCondition([], [t!], { ok: false, reason: 'HostNotFound', message: 'm' }, undefined, 9000, 2);
    expect(f).toMatchObject({ status: 'False', reason: 'HostNotFound', lastTransitionTime: new Date(9000).toISOString() });
  });
});
