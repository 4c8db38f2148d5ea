import { describe, expect, it } from 'vitest';
import { XenstoreError } from './errors.ts';
import { call, GuestRing } from './test-helpers.ts';
import { XsType } from './wire.ts';
import { Xenstored } from './xenstored.ts';

const T = XsType;

function setup(opts: ConstructorParameters<typeof Xenstored>[0] = {}) {
  const xs = new Xenstored(opts);
  const guests = [1, 2].map((d) => {
    const g = new GuestRing(xs, d);
    xs.introduceDomain(d, g.page, () => g.notifications++, { layout: { name: `g${d}`, memoryKiB: 32768 } });
    return g;
  });
  return { xs, g1: guests[0], g2: guests[1] };
}

describe('xenstore permissions', () => {
  it('lets a domain read its own nodes and write what it owns', () => {
    const { g1 } = setup();
    expect(call(g1, T.READ, 'name\0')).toBe('g1');
    expect(call(g1, T.READ, '/local/domain/1/memory/target\0')).toBe('32768');
    expect(call(g1, T.WRITE, 'data/greeting\0hello')).toBe('OK|');
    expect(call(g1, T.READ, 'data/greeting\0')).toBe('hello');
    expect(call(g1, T.WRITE, 'control/shutdown\0')).toBe('OK|');
    // The domain directory itself and memory/ belong to dom0 (n0,r1): read-only for the guest.
    expect(call(g1, T.WRITE, 'name\0evil')).toBe('ERROR:EACCES|');
    expect(call(g1, T.WRITE, 'memory/target\x00999999')).toBe('ERROR:EACCES|');
    expect(call(g1, T.WRITE, 'newkey\0x')).toBe('ERROR:EACCES|');
  });

  it("keeps a domain out of another domain's subtree", () => {
    const { xs, g1, g2 } = setup();
    expect(call(g2, T.WRITE, 'data/secret\0s3cr3t')).toBe('OK|');
    expect(call(g1, T.READ, '/local/domain/2/data/secret\0')).toBe('ERROR:EACCES|');
    expect(call(g1, T.READ, '/local/domain/2/name\0')).toBe('ERROR:EACCES|');
    expect(call(g1, T.WRITE, '/local/domain/2/control/shutdown\0poweroff')).toBe('ERROR:EACCES|');
    expect(call(g1, T.RM, '/local/domain/2/data\0')).toBe('ERROR:EACCES|');
    expect(call(g1, T.DIRECTORY, '/local/domain\0')).toBe('ERROR:EACCES|');
    expect(call(g1, T.GET_PERMS, '/local/domain/2/data\0')).toBe('ERROR:EACCES|');
    // Missing nodes under an unreadable parent do not leak: EACCES, not ENOENT.
    expect(call(g1, T.READ, '/local/domain/2/data/nope\0')).toBe('ERROR:EACCES|');
    expect(call(g1, T.READ, 'data/nope\0')).toBe('ERROR:ENOENT|');
    expect(xs.readString('/local/domain/2/data/secret')).toBe('s3cr3t');
  });

  it('gives dom0 full access', () => {
    const { xs } = setup();
    xs.write('/local/domain/1/control/shutdown', 'poweroff');
    expect(xs.readString('/local/domain/1/control/shutdown')).toBe('poweroff');
    xs.write('/anything/at/all', 'x');
    expect(xs.directory('/anything')).toEqual(['at']);
    xs.rm('/anything');
    expect(xs.readString('/anything')).toBeUndefined();
    expect(() => xs.read('/nope')).toThrowError(XenstoreError);
  });

  it('honours granted access lists', () => {
    const { xs, g1, g2 } = setup();
    const be = '/local/domain/0/backend/vbd/1/51712';
    xs.write(`${be}/state`, '1');
    xs.setPerms(be, ['n0', 'r1']);
    xs.setPerms(`${be}/state`, ['n0', 'b1']);
    expect(call(g1, T.DIRECTORY, `${be}\0`)).toBe('state|');
    expect(call(g1, T.READ, `${be}/state\0`)).toBe('1');
    expect(call(g1, T.WRITE, `${be}/state\0` + '4')).toBe('OK|');
    expect(call(g1, T.WRITE, `${be}/other\0x`)).toBe('ERROR:EACCES|');
    expect(call(g2, T.READ, `${be}/state\0`)).toBe('ERROR:EACCES|');
    expect(xs.getPerms(`${be}/state`)).toEqual(['n0', 'b1']);
  });

  it('makes a domain the owner of nodes it creates, inheriting the rest', () => {
    const { xs, g1 } = setup();
    xs.mkdir('/shared');
    xs.setPerms('/shared', ['n0', 'w1']);
    expect(call(g1, T.WRITE, '/shared/a/b\0v')).toBe('OK|');
    expect(xs.getPerms('/shared/a')).toEqual(['n1', 'w1']);
    expect(call(g1, T.GET_PERMS, 'data\0')).toBe('n1|');
    expect(call(g1, T.WRITE, 'data/x\0v')).toBe('OK|');
    expect(call(g1, T.GET_PERMS, 'data/x\0')).toBe('n1|');
  });

  it('lets an owner set perms but not give the node away', () => {
    const { g1, g2 } = setup();
    call(g1, T.WRITE, 'data/pub\0v');
    expect(call(g1, T.SET_PERMS, 'data/pub\0n1\0r2\0')).toBe('OK|');
    expect(call(g2, T.READ, '/local/domain/1/data/pub\0')).toBe('v');
    expect(call(g1, T.SET_PERMS, 'data/pub\0n2\0')).toBe('ERROR:EPERM|');
    expect(call(g1, T.SET_PERMS, 'name\0n1\0')).toBe('ERROR:EACCES|');
    expect(call(g1, T.SET_PERMS, 'data/pub\0x1\0')).toBe('ERROR:EINVAL|');
    expect(call(g1, T.SET_PERMS, 'data/pub\0')).toBe('ERROR:EINVAL|');
  });

  it('validates paths', () => {
    const { g1 } = setup();
    for (const bad of ['data//x', 'data/x/', 'data/x y', '', 'data/\u00e9', '@foo']) {
      expect(call(g1, T.WRITE, `${bad}\0v`), bad).toBe('ERROR:EINVAL|');
    }
    expect(call(g1, T.WRITE, `data/${'a'.repeat(2100)}\0v`)).toBe('ERROR:EINVAL|');
    expect(call(g1, T.READ, 'data')).toBe('ERROR:EINVAL|'); // no NUL
    expect(call(g1, T.READ, 'data\0x\0')).toBe('ERROR:EINVAL|'); // two strings
    expect(call(g1, T.GET_DOMAIN_PATH, '7\0')).toBe('/local/domain/7|');
  });

  it('enforces xenstored quotas on domains only', () => {
    const { xs, g1 } = setup({ quotas: { nodes: 20, nodeSize: 200, watches: 2, transactions: 2 } });
    const owned = xs.ownedNodes(1);
    let i = 0;
    while (call(g1, T.WRITE, `data/n${i}\0v`) === 'OK|') i++;
    expect(i).toBe(20 - owned);
    expect(call(g1, T.WRITE, `data/n${i}\0v`)).toBe('ERROR:ENOSPC|');
    call(g1, T.RM, 'data/n0\0');
    expect(call(g1, T.WRITE, 'data/n0\0' + 'x'.repeat(300))).toBe('ERROR:ENOSPC|');
    expect(call(g1, T.WATCH, 'a\0t1\0')).toBe('OK|');
    expect(call(g1, T.WATCH, 'b\0t2\0')).toBe('OK|');
    expect(call(g1, T.WATCH, 'c\0t3\0')).toBe('ERROR:E2BIG|');
    expect(call(g1, T.TRANSACTION_START, '\0')).toMatch(/^\d+\|$/);
    expect(call(g1, T.TRANSACTION_START, '\0')).toMatch(/^\d+\|$/);
    expect(call(g1, T.TRANSACTION_START, '\0')).toBe('ERROR:ENOSPC|');
    xs.write('/big', 'x'.repeat(3000)); // dom0 is exempt
    expect(xs.read('/big').length).toBe(3000);
  });

  it('removes recursively and follows RM rules for missing nodes', () => {
    const { xs, g1 } = setup();
    call(g1, T.WRITE, 'data/a/b/c\0v');
    call(g1, T.WRITE, 'data/a/d\0v');
    expect(call(g1, T.RM, 'data/a\0')).toBe('OK|');
    expect(call(g1, T.DIRECTORY, 'data\0')).toBe('');
    expect(call(g1, T.RM, 'data/a\0')).toBe('OK|'); // gone, parent exists
    expect(call(g1, T.RM, 'data/a/b\0')).toBe('ERROR:ENOENT|'); // parent missing too
    expect(call(g1, T.RM, '/\0')).toBe('ERROR:EACCES|');
    expect(() => xs.rm('/')).toThrow(/EINVAL/);
    const before = xs.ownedNodes(1);
    call(g1, T.WRITE, 'data/x/y\0v');
    expect(xs.ownedNodes(1)).toBe(before + 2);
    call(g1, T.RM, 'data/x\0');
    expect(xs.ownedNodes(1)).toBe(before);
  });

  it('lists directories whole and in parts', () => {
    const { xs, g1 } = setup();
    for (const n of ['b', 'a', 'c']) xs.write(`/local/domain/1/data/${n}`, '');
    expect(call(g1, T.DIRECTORY, 'data\0')).toBe('b|a|c|');
    expect(call(g1, T.DIRECTORY_PART, 'data\0' + '0\0')).toMatch(/^\d+\|b\|a\|c\|\|$/);
    expect(call(g1, T.DIRECTORY_PART, 'data\0' + '2\0')).toMatch(/^\d+\|a\|c\|\|$/);
    expect(call(g1, T.DIRECTORY_PART, 'data\0' + '99\0')).toMatch(/^\d+\|\|$/);
  });

  it('removes a released domain with its nodes and permission entries', () => {
    const { xs } = setup();
    xs.write('/local/domain/0/backend/vbd/1/51712/state', '4');
    xs.write('/shared/x', '4');
    xs.setPerms('/shared/x', ['n0', 'r1', 'r2']);
    xs.releaseDomain(1);
    expect(xs.isIntroduced(1)).toBe(false);
    expect(xs.readString('/local/domain/1/name')).toBeUndefined();
    expect(xs.directory('/local/domain/0/backend/vbd')).toEqual([]);
    expect(xs.getPerms('/shared/x')).toEqual(['n0', 'r2']);
    expect(xs.ownedNodes(1)).toBe(0);
  });
});
