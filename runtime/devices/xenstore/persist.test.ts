import { describe, expect, it } from 'vitest';
import { XenstoreRecordError } from './persist.ts';
import { call, GuestRing } from './test-helpers.ts';
import { XsType } from './wire.ts';
import { Xenstored } from './xenstored.ts';

describe('xenstore save/restore', () => {
  it('round-trips the whole tree, order, perms and binary values included', () => {
    const xs = new Xenstored();
    xs.writeDomainLayout(3, { name: 'web', memoryKiB: 65536, vcpus: 2, uuid: 'u-1', store: { port: 1, ringRef: 4000 } });
    xs.write('/local/domain/3/data/bin', new Uint8Array([0, 255, 10, 0]));
    for (const n of ['z', 'a', 'm']) xs.write(`/order/${n}`, n);
    xs.setPerms('@releaseDomain', ['n0', 'r3']);
    const rec = JSON.parse(JSON.stringify(xs.serialize()));
    expect(rec).toMatchObject({ kind: 'xenstore-tree', version: 1 });

    const copy = new Xenstored();
    copy.restore(rec);
    expect(copy.serialize()).toEqual(rec);
    expect([...copy.read('/local/domain/3/data/bin')]).toEqual([0, 255, 10, 0]);
    expect(copy.directory('/order')).toEqual(['z', 'a', 'm']);
    expect(copy.getPerms('/local/domain/3')).toEqual(['n0', 'r3']);
    expect(copy.getPerms('@releaseDomain')).toEqual(['n0', 'r3']);
    expect(copy.ownedNodes(3)).toBe(xs.ownedNodes(3));
    // The restored store serves a guest as before.
    const g = new GuestRing(copy, 3);
    copy.introduceDomain(3, g.page, () => {});
    expect(call(g, XsType.READ, 'name\0')).toBe('web');
    expect(call(g, XsType.WRITE, 'data/x\0y')).toBe('OK|');
  });

  it('refuses malformed records with a stable code', () => {
    const xs = new Xenstored();
    const good = xs.serialize();
    const bad = [
      { ...good, version: 2 },
      { ...good, nodes: [{ path: '/a', value: '', perms: ['n0'] }] }, // no root
      { ...good, nodes: [good.nodes[0], { path: '/x/y', value: '', perms: ['n0'] }] },
      { ...good, nodes: [good.nodes[0], { path: '/x', value: '', perms: ['q0'] }] },
      { ...good, nodes: [good.nodes[0], { path: 'rel', value: '', perms: ['n0'] }] },
      { ...good, nodes: [good.nodes[0], good.nodes[0]] },
      { ...good, nodes: [null] },
    ];
    for (const b of bad) {
      expect(() => xs.restore(b as never)).toThrow(XenstoreRecordError);
    }
    expect(xs.readString('/local/domain/0/name')).toBe('Domain-0'); // untouched
  });

  it("moves a domain's subtree to a new domid", () => {
    const src = new Xenstored();
    src.writeDomainLayout(5, { name: 'db', memoryKiB: 2048 });
    src.write('/local/domain/5/data/state', 'ready');
    const rec = JSON.parse(JSON.stringify(src.exportDomain(5)));
    expect(rec).toMatchObject({ kind: 'xenstore-domain', version: 1, domid: 5 });

    const dst = new Xenstored();
    dst.importDomain(rec, 9);
    expect(dst.readString('/local/domain/9/data/state')).toBe('ready');
    expect(dst.readString('/local/domain/9/domid')).toBe('9');
    expect(dst.getPerms('/local/domain/9')).toEqual(['n0', 'r9']);
    expect(dst.getPerms('/local/domain/9/control/shutdown')).toEqual(['n9']);
    expect(dst.directory('/local/domain/9')).toEqual(src.directory('/local/domain/5'));
    expect(() => dst.importDomain({ ...rec, nodes: [{ path: '../x', value: '', perms: ['n0'] }] }, 9)).toThrow(
      XenstoreRecordError,
    );
  });
});
