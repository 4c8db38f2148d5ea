// The controller's migration manager with fake hosts: refusals before anything moves, the
// limits, the outcome recorded in the state dir, placement on success, forget.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HypervisorApi } from '../hypervisor.ts';
import type { MigrateOptions, MigrationResult } from '../../runtime/api.ts';
import { MigrationManager, MigrationRefused, type MigrationHosts } from './manager.ts';

const dir = mkdtempSync(join(tmpdir(), 'xf-mig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function world() {
  const pending: { resolve: (r: MigrationResult) => void; reject: (e: Error) => void; opts: MigrateOptions }[] = [];
  const hv = {
    migrate: (_id: number, _t: unknown, opts: MigrateOptions) => new Promise<MigrationResult>((resolve, reject) => pending.push({ resolve, reject, opts })),
  } as unknown as HypervisorApi;
  const placed: string[] = [];
  const hosts: MigrationHosts = {
    hvFor: (h) => (['a', 'b', 'c', 'd'].includes(h) ? hv : undefined),
    target: (h) => (h === 'a' ? undefined : { address: `127.0.0.1:${h.charCodeAt(0)}`, token: 't' }),
    isReady: (h) => h !== 'd',
    has: (h) => ['a', 'b', 'c', 'd'].includes(h),
    place: (domain, host) => placed.push(`${domain}@${host}`),
    observedFor: () => ({ invalidate: () => undefined }),
  };
  const events: string[] = [];
  const m = new MigrationManager({
    hosts, stateDir: mkdtempSync(join(dir, 's')), now: () => new Date(0), enqueue: () => undefined,
    event: (name, _t, reason) => events.push(`${name}:${reason}`),
  });
  return { m, pending, placed, events };
}

const refused = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as MigrationRefused;
  }
  throw new Error('not refused');
};

describe('MigrationManager', () => {
  it('refuses before anything moves: no such Host, the same host, not Ready, no address', () => {
    const { m, pending } = world();
    const from = { host: 'b', domid: 3, memoryMiB: 32 };
    expect(refused(() => m.start('x', from, 'nope'))).toMatchObject({ code: 'NotFound' });
    expect(refused(() => m.start('x', from, 'b'))).toMatchObject({ code: 'Invalid', message: expect.stringMatching(/already runs on Host b/) });
    expect(refused(() => m.start('x', from, 'd'))).toMatchObject({ code: 'Invalid', message: expect.stringMatching(/not Ready/) });
    expect(refused(() => m.start('x', from, 'a'))).toMatchObject({ code: 'Invalid', message: expect.stringMatching(/no TCP address/) });
    expect(pending).toHaveLength(0);
    expect(m.stateOf('x')).toBeUndefined();
  });

  it('limits: one per Domain, 2 outbound per host', () => {
    const { m } = world();
    m.start('x', { host: 'b', domid: 1, memoryMiB: 8 }, 'c');
    expect(refused(() => m.start('x', { host: 'b', domid: 1, memoryMiB: 8 }, 'c'))).toMatchObject({ code: 'Conflict' });
    m.start('y', { host: 'b', domid: 2, memoryMiB: 8 }, 'c');
    expect(refused(() => m.start('z', { host: 'b', domid: 3, memoryMiB: 8 }, 'c'))).toMatchObject({ code: 'Busy', message: expect.stringMatching(/Host b already runs 2 outbound/) });
    m.start('z', { host: 'c', domid: 3, memoryMiB: 8 }, 'b'); // another source host is free
  });

  it('records the outcome, places the Domain on the target, forgets it once deleted', async () => {
    const { m, pending, placed, events } = world();
    m.start('x', { host: 'b', domid: 1, memoryMiB: 8 }, 'c', { maxRateMiBps: 16 });
    expect(m.running('x')).toBe(true);
    expect(await m.holds('x')).toBe(true);
    expect(pending[0]!.opts.maxRateMiBps).toBe(16);
    pending[0]!.opts.onProgress?.({ phase: 'precopy', round: 2, pagesSent: 100, pagesDirty: 7, dirtyRatePps: 70, diskBytesSent: 0, elapsedMs: 5 });
    expect(m.stateOf('x')).toMatchObject({ phase: 'Running', stage: 'precopy', round: 2, pagesSent: 100, pagesDirty: 7 });
    m.forget('x'); // a running migration is kept
    expect(m.running('x')).toBe(true);
    pending[0]!.resolve({ domid: 9, name: 'x', rounds: 2, pagesSent: 107, bytesSent: 1, downtimeMs: 4, totalMs: 50, disks: 'none' });
    await new Promise((r) => setTimeout(r, 10));
    expect(m.stateOf('x')).toMatchObject({ phase: 'Succeeded', downtimeMs: 4, totalMs: 50, disks: 'none' });
    expect(await m.holds('x')).toBe(false);
    expect(placed).toEqual(['x@c']);
    expect(events).toEqual(['x:MigrationStarted', 'x:Migrated']);
    const file = join((m as unknown as { dir: string }).dir, 'x.json');
    await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(file)).toBe(true);
    m.forget('x');
    expect(m.stateOf('x')).toBeUndefined();
    await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(file)).toBe(false);
  });
});
