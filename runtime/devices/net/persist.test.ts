import { describe, expect, it } from 'vitest';
import { netHost, TestNetfront, ethFrame } from './testing.ts';
import { restoreVifs, saveVifs } from './persist.ts';

describe('vif records', () => {
  it('round-trips identity and counters; the frontend then reconnects', () => {
    const a = netHost();
    const d = a.domain('a', [{ mac: '00:16:3e:01:02:03', ports: [{ host: 8080, guest: 80 }] }, { mac: '00:16:3e:01:02:04' }]);
    const f = new TestNetfront(a.host, d.id);
    f.connect();
    f.send(ethFrame('ff:ff:ff:ff:ff:ff', '00:16:3e:01:02:03', 0x0806, 28));
    const recs = JSON.parse(JSON.stringify(saveVifs(a.net, d.id)));
    expect(recs).toEqual([
      { version: 1, handle: 0, mac: '00:16:3e:01:02:03', ports: [{ host: 8080, guest: 80 }], counters: expect.objectContaining({ txFrames: 1, txBytes: 42 }) },
      { version: 1, handle: 1, mac: '00:16:3e:01:02:04', counters: expect.objectContaining({ txFrames: 0 }) },
    ]);
    const b = netHost();
    const d2 = b.domain('b', []);
    restoreVifs(b.net, d2.id, recs);
    expect(saveVifs(b.net, d2.id)).toEqual(recs);
    expect(b.net.interfaces(d2.id)[0]).toMatchObject({ state: 2, connected: false });
    const f2 = new TestNetfront(b.host, d2.id);
    f2.connect();
    f2.send(ethFrame('ff:ff:ff:ff:ff:ff', '00:16:3e:01:02:03', 0x0806, 28));
    expect(b.net.interfaces(d2.id)[0]!.counters.txFrames).toBe(2);
  });

  it('refuses records of another version, out of order, or with bad fields', () => {
    const { net, domain } = netHost();
    const d = domain('a', []);
    const good = { version: 1, handle: 0, mac: '00:16:3e:01:02:03', counters: { txFrames: 0, txBytes: 0, txErrors: 0, rxFrames: 0, rxBytes: 0, rxDropped: 0, rxErrors: 0 } };
    expect(() => restoreVifs(net, d.id, 'x')).toThrow(/list/);
    expect(() => restoreVifs(net, d.id, [{ ...good, version: 2 }])).toThrow(/version/);
    expect(() => restoreVifs(net, d.id, [{ ...good, handle: 1 }])).toThrow(/order/);
    expect(() => restoreVifs(net, d.id, [{ ...good, counters: { ...good.counters, rxBytes: -1 } }])).toThrow(/rxBytes/);
    expect(() => restoreVifs(net, d.id, [{ ...good, mac: '02:00:00:00:00:01' }])).toThrow(/Xen MAC/);
    restoreVifs(net, d.id, [good]);
    expect(net.interfaces(d.id)).toHaveLength(1);
  });
});
