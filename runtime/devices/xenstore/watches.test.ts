import { describe, expect, it } from 'vitest';
import { call, GuestRing } from './test-helpers.ts';
import { XsType } from './wire.ts';
import { Xenstored } from './xenstored.ts';

const T = XsType;

function setup() {
  const xs = new Xenstored();
  const guests = [1, 2].map((d) => {
    const g = new GuestRing(xs, d);
    xs.introduceDomain(d, g.page, () => g.notifications++, { layout: { name: `g${d}`, memoryKiB: 4096 } });
    return g;
  });
  return { xs, g1: guests[0], g2: guests[1] };
}

describe('xenstore watches', () => {
  it('fires once on registration, then on changes at or below the path', () => {
    const { xs, g1 } = setup();
    expect(call(g1, T.WATCH, 'control/shutdown\0tok\0')).toBe('OK|');
    expect(g1.drainEvents()).toEqual(['control/shutdown|tok|']);
    const before = g1.notifications;
    xs.write('/local/domain/1/control/shutdown', 'poweroff'); // the toolstack asks
    expect(g1.notifications).toBeGreaterThan(before); // the guest was kicked
    expect(g1.drainEvents()).toEqual(['control/shutdown|tok|']);
    expect(call(g1, T.READ, 'control/shutdown\0')).toBe('poweroff');
  });

  it('uses absolute event paths for absolute watches and covers children', () => {
    const { xs, g1 } = setup();
    call(g1, T.WATCH, '/local/domain/1/data\0d\0');
    g1.drainEvents();
    call(g1, T.WRITE, 'data/a/b\0v');
    xs.write('/local/domain/1/data/c', 'x');
    call(g1, T.MKDIR, 'data/m\0');
    call(g1, T.MKDIR, 'data/m\0'); // exists: no event
    expect(g1.drainEvents()).toEqual([
      '/local/domain/1/data/a/b|d|', '/local/domain/1/data/c|d|', '/local/domain/1/data/m|d|',
    ]);
  });

  it('reports removals: the root to watchers above, children to exact watchers', () => {
    const { g1 } = setup();
    call(g1, T.WRITE, 'data/a/b\0v');
    call(g1, T.WATCH, 'data\0up\0');
    call(g1, T.WATCH, 'data/a/b\0exact\0');
    call(g1, T.WATCH, 'data/a/b/none\0below\0');
    g1.drainEvents();
    call(g1, T.RM, 'data/a\0');
    expect(g1.drainEvents()).toEqual(['data/a/b|exact|', 'data/a|up|']);
  });

  it('fires on permission changes and not for nodes the watcher cannot read', () => {
    const { xs, g1, g2 } = setup();
    call(g2, T.WATCH, '/local/domain/1/data\0spy\0');
    expect(g2.drainEvents()).toEqual(['/local/domain/1/data|spy|']); // the first event is unconditional
    call(g1, T.WRITE, 'data/private\0v');
    expect(g2.drainEvents()).toEqual([]);
    call(g1, T.SET_PERMS, 'data/private\0n1\0r2\0');
    expect(g2.drainEvents()).toEqual(['/local/domain/1/data/private|spy|']);
    xs.write('/local/domain/1/data/private', 'w');
    expect(g2.drainEvents()).toEqual(['/local/domain/1/data/private|spy|']);
  });

  it('sends @introduceDomain/@releaseDomain to dom0 but not to guests', () => {
    const { xs, g1 } = setup();
    const seen: string[] = [];
    xs.watch('@introduceDomain', (p) => seen.push(p));
    xs.watch('@releaseDomain', (p) => seen.push(p));
    expect(seen).toEqual(['@introduceDomain', '@releaseDomain']);
    expect(call(g1, T.WATCH, '@releaseDomain\0r\0')).toBe('OK|');
    expect(g1.drainEvents()).toEqual(['@releaseDomain|r|']);
    const g3 = new GuestRing(xs, 3);
    xs.introduceDomain(3, g3.page, () => {});
    xs.domainShutdown(3);
    xs.domainShutdown(3); // once per shutdown
    xs.releaseDomain(3);
    expect(seen).toEqual(['@introduceDomain', '@releaseDomain', '@introduceDomain', '@releaseDomain', '@releaseDomain']);
    expect(g1.drainEvents()).toEqual([]);
  });

  it('unwatches and resets', () => {
    const { xs, g1 } = setup();
    call(g1, T.WATCH, 'data\0a\0');
    expect(call(g1, T.WATCH, 'data\0a\0')).toBe('ERROR:EEXIST|');
    call(g1, T.WATCH, 'data\0b\0');
    expect(call(g1, T.UNWATCH, 'data\0a\0')).toBe('OK|');
    expect(call(g1, T.UNWATCH, 'data\0a\0')).toBe('ERROR:ENOENT|');
    g1.drainEvents();
    xs.write('/local/domain/1/data/x', '1');
    expect(g1.drainEvents()).toEqual(['data/x|b|']);
    expect(call(g1, T.RESET_WATCHES, '\0')).toBe('OK|');
    xs.write('/local/domain/1/data/x', '2');
    expect(g1.drainEvents()).toEqual([]);
  });

  it('merges identical pending events and lets local watchers unwatch', () => {
    const { xs, g1 } = setup();
    call(g1, T.WATCH, 'data\0w\0');
    g1.drainEvents();
    // Fill the response ring so events queue up, then write the same node many times.
    for (let i = 0; i < 200; i++) xs.write('/local/domain/1/data/x', String(i));
    const events = g1.drainEvents();
    g1.kick();
    events.push(...g1.drainEvents());
    expect(events.length).toBeLessThan(200);
    expect(events.every((e) => e === 'data/x|w|')).toBe(true);

    const seen: string[] = [];
    const stop = xs.watch('/local/domain/1/data', (p) => seen.push(p));
    stop();
    xs.write('/local/domain/1/data/y', '1');
    expect(seen).toEqual(['/local/domain/1/data']);
  });

  it('lets a dom0 watch callback write, with events delivered after the operation', () => {
    const { xs } = setup();
    const log: string[] = [];
    xs.watch('/local/domain/1/control/shutdown', (p) => {
      log.push(`event ${xs.readString(p) ?? ''}`);
      if (xs.readString(p) === 'reboot') xs.write('/local/domain/1/control/shutdown', '');
    });
    xs.write('/local/domain/1/control/shutdown', 'reboot');
    expect(log).toEqual(['event ', 'event reboot', 'event ']);
  });
});
