import { describe, expect, it } from 'vitest';
import { UnauthorizedError, type DomainEvent, type HostInfo } from '../../runtime/api.ts';
import { FakeClock } from '../queue/clock.ts';
import { FakeHypervisor } from '../reconcilers/testing.ts';
import type { ManifestObject } from '../source/index.ts';
import { placeDomain } from './placement.ts';
import { HostRegistry } from './registry.ts';

/** A remote host that accepts one token. */
class TokenHost extends FakeHypervisor {
  constructor(readonly want: string, readonly got: string) { super(); }
  override async info(): Promise<HostInfo> {
    if (this.got !== this.want) throw new UnauthorizedError();
    return super.info();
  }
}

const hostObject = (name: string, address: string, capacity?: { memoryMiB?: number }): ManifestObject => ({
  kind: 'Host', name, file: `/m/${name}.yaml`, line: 3, col: 9, doc: 0, claims: [],
  object: { apiVersion: 'xenoform.dev/v1alpha1', kind: 'Host', metadata: { name }, spec: { address, tokenFile: `${name}.token`, ...(capacity ? { capacity } : {}) } },
  files: { 'spec.tokenFile': `/m/${name}.token` },
});

/** Lets promise chains run (the fakes answer in microtasks). */
const flush = async () => { for (let i = 0; i < 20; i++) await Promise.resolve(); await new Promise((r) => setImmediate(r)); };

function world(tokens: Record<string, string>) {
  const clock = new FakeClock();
  const local = new FakeHypervisor();
  const remotes = new Map<string, TokenHost>();
  const files: Record<string, string> = { ...tokens };
  const events: string[] = [];
  const connected: string[] = [];
  const reg = new HostRegistry({
    local, clock, heartbeatMs: 5000,
    readToken: async (f) => { const t = files[f]; if (t === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' }); return t; },
    connect: (address, token) => {
      const h = new TokenHost('right-token-0123456789', token);
      remotes.set(address, h);
      return h;
    },
    onDomainEvent: (host, ev: DomainEvent) => events.push(`${host}:${ev.type}:${ev.name}`),
    onConnected: (host) => connected.push(host),
  });
  return { clock, local, remotes, files, events, connected, reg };
}

describe('HostRegistry', () => {
  it('has the implicit local host, Ready after its first heartbeat, with capacity from its info', async () => {
    const w = world({});
    w.reg.start();
    await flush();
    expect(w.reg.names()).toEqual(['local']);
    expect(w.reg.isReady('local')).toBe(true);
    expect(w.reg.hvFor('local')).toBe(w.local);
    const h = w.reg.host('local')!;
    expect(h.status).toMatchObject({ phase: 'Ready', capacity: { memoryMiB: 65536, cpus: 1 }, allocated: { memoryMiB: 0, domains: 0 }, info: { xenVersion: '4.19' } });
    expect(h.status?.lastHeartbeat).toBe(new Date(w.clock.now()).toISOString());
    expect(w.reg.target('local')).toBeUndefined();
    w.reg.stop();
  });

  it('connects declared Hosts with their token; a refused token is NotReady/Unauthorized until the file is fixed', async () => {
    const w = world({ '/m/b.token': 'right-token-0123456789', '/m/c.token': 'wrong-token-0123456789' });
    w.reg.start();
    w.reg.sync([hostObject('b', '127.0.0.1:7001', { memoryMiB: 1024 }), hostObject('c', '127.0.0.1:7002')]);
    await flush();
    expect(w.reg.names()).toEqual(['local', 'b', 'c']);
    expect(w.reg.host('b')!.status).toMatchObject({ phase: 'Ready', capacity: { memoryMiB: 1024 } });
    expect(w.reg.target('b')).toEqual({ address: '127.0.0.1:7001', token: 'right-token-0123456789' });
    const c = w.reg.host('c')!;
    expect(c.status?.phase).toBe('NotReady');
    expect(c.status?.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'False', reason: 'Unauthorized' });
    expect(w.connected.sort()).toEqual(['b', 'local']);
    // the token file is fixed: the next heartbeat reads it again and connects
    w.files['/m/c.token'] = 'right-token-0123456789';
    w.clock.advance(5000);
    await flush();
    expect(w.reg.host('c')!.status?.phase).toBe('Ready');
    expect(w.connected).toContain('c');
    w.reg.stop();
  });

  it('a host that stops answering goes NotReady (Unreachable) on the next heartbeat, and Ready again', async () => {
    const w = world({ '/m/b.token': 'right-token-0123456789' });
    w.reg.start();
    w.reg.sync([hostObject('b', '127.0.0.1:7001')]);
    await flush();
    const b = w.remotes.get('127.0.0.1:7001')!;
    b.down = true;
    w.clock.advance(5000);
    await flush();
    expect(w.reg.host('b')!.status?.conditions?.[0]).toMatchObject({ status: 'False', reason: 'Unreachable' });
    expect(w.reg.isReady('b')).toBe(false);
    b.down = false;
    w.clock.advance(5000);
    await flush();
    expect(w.reg.isReady('b')).toBe(true);
    w.reg.stop();
  });

  it('feeds each host\'s events to the queue and finds a domain by name on whichever host runs it', async () => {
    const w = world({ '/m/b.token': 'right-token-0123456789' });
    w.reg.start();
    w.reg.sync([hostObject('b', '127.0.0.1:7001')]);
    await flush();
    const b = w.remotes.get('127.0.0.1:7001')!;
    await b.create({ name: 'web', kernel: 'k', memoryMiB: 32 });
    await flush();
    expect(w.events).toContain('b:created:web');
    // the host's figures are looked at again soon after a domain event, not only every heartbeat
    expect(w.reg.host('b')!.status?.info?.domains).toBe(0);
    w.clock.advance(250);
    await flush();
    expect(w.reg.host('b')!.status?.info?.domains).toBe(1);
    expect(w.clock.pending).toBe(2); // one heartbeat timer per host
    const where = await w.reg.locate('web');
    expect(where.found).toMatchObject({ host: 'b', row: { name: 'web' } });
    expect(where.unknown).toEqual([]);
    expect((await w.reg.locate('nothing')).found).toBeUndefined();
    const lists = await w.reg.listAll();
    expect(lists.map((l) => [l.host, l.rows?.map((r) => r.name)])).toEqual([['local', ['Domain-0']], ['b', ['Domain-0', 'web']]]);
    w.reg.stop();
  });

  it('placements count toward allocation, so two placements never take the same MiB', async () => {
    const w = world({ '/m/b.token': 'right-token-0123456789' });
    w.reg.start();
    w.reg.sync([hostObject('b', '127.0.0.1:7001', { memoryMiB: 100 })]);
    await flush();
    expect(placeDomain(64, w.reg.capacities().filter((h) => h.name === 'b'))).toEqual({ ok: true, host: 'b' });
    w.reg.place('one', 'b', 64);
    expect(placeDomain(64, w.reg.capacities().filter((h) => h.name === 'b'))).toMatchObject({ ok: false, reason: 'InsufficientMemory' });
    expect(w.reg.host('b')!.status?.allocated).toEqual({ memoryMiB: 64, domains: 1 });
    w.reg.release('one');
    expect(w.reg.host('b')!.status?.allocated).toEqual({ memoryMiB: 0, domains: 0 });
    w.reg.stop();
  });

  it('a Host removed from the manifests is closed and forgotten', async () => {
    const w = world({ '/m/b.token': 'right-token-0123456789' });
    w.reg.start();
    w.reg.sync([hostObject('b', '127.0.0.1:7001')]);
    await flush();
    w.reg.sync([]);
    expect(w.reg.names()).toEqual(['local']);
    expect(w.reg.hvFor('b')).toBeUndefined();
    w.reg.stop();
  });
});
