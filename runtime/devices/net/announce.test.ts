import { describe, expect, it } from 'vitest';
import { gratuitousArp } from './announce.ts';
import { netHost, TestNetfront } from './testing.ts';
import { restoreVifs, saveVifs } from './persist.ts';

const MAC = '00:16:3e:0a:0b:0c';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Frames an uplink of `net` hears, collected after the microtask that hands them on. */
function listen(net: ReturnType<typeof netHost>['net']): { frames: Uint8Array[]; settle: () => Promise<void> } {
  const frames: Uint8Array[] = [];
  net.uplink('probe').onFrame((f) => frames.push(f));
  return { frames, settle: () => new Promise((r) => setTimeout(r, 0)) };
}

describe('gratuitous ARP announcement', () => {
  it('is an RFC 5227 announcement: broadcast ARP request, sender = target = the guest IP', () => {
    const f = gratuitousArp(MAC);
    expect(f.length).toBe(42);
    // dst ff…, src MAC, 0806 | htype 1, ptype 0800, 6, 4, op 1 | sha MAC, spa 10.10.11.12, tha 0, tpa 10.10.11.12
    expect(hex(f)).toBe(
      'ffffffffffff' + '00163e0a0b0c' + '0806' + '0001' + '0800' + '06' + '04' + '0001' +
        '00163e0a0b0c' + '0a0a0b0c' + '000000000000' + '0a0a0b0c',
    );
    expect(() => gratuitousArp('02:00:00:00:00:01')).toThrow(/no segment address/);
  });

  it('goes out through a connected vif at once, counted on its switch port, learned behind it', async () => {
    const { net, host, domain } = netHost();
    const d = domain('a', [{ mac: MAC }, { mac: '00:16:3e:0a:0b:0d' }]);
    const up = listen(net);
    new TestNetfront(host, d.id, 0).connect();
    expect(net.announce(d.id)).toBe(1); // vif 1 is not connected: it announces when it is
    await up.settle();
    expect(up.frames.map(hex)).toEqual([hex(gratuitousArp(MAC))]);
    const port = net.switch.ports().find((p) => p.name === `vif${d.id}.0`)!;
    expect(port.counters.inFrames).toBe(1);
    new TestNetfront(host, d.id, 1).connect();
    await up.settle();
    expect(up.frames.map(hex)).toEqual([hex(gratuitousArp(MAC)), hex(gratuitousArp('00:16:3e:0a:0b:0d'))]);
    // The backend sent them, not the guest: its counters are untouched.
    expect(net.interfaces(d.id).map((v) => v.counters.txFrames)).toEqual([0, 0]);
  });

  it('a restored domain announces each vif once its frontend reconnects', async () => {
    const a = netHost();
    const d = a.domain('a', [{ mac: MAC }]);
    new TestNetfront(a.host, d.id).connect();
    const recs = JSON.parse(JSON.stringify(saveVifs(a.net, d.id)));
    const b = netHost();
    const up = listen(b.net);
    const d2 = b.domain('b', []);
    restoreVifs(b.net, d2.id, recs);
    await up.settle();
    expect(up.frames).toHaveLength(0); // no data path yet
    new TestNetfront(b.host, d2.id).connect();
    await up.settle();
    expect(up.frames.map(hex)).toEqual([hex(gratuitousArp(MAC))]);
    expect(b.net.switch.table()).toContainEqual(expect.objectContaining({ mac: MAC, port: `vif${d2.id}.0`, static: true }));

    // An incoming migration's copy stays quiet until it is activated.
    const c = netHost();
    const upc = listen(c.net);
    const d3 = c.domain('c', []);
    restoreVifs(c.net, d3.id, recs, { announce: false });
    new TestNetfront(c.host, d3.id).connect();
    await upc.settle();
    expect(upc.frames).toHaveLength(0);
    expect(c.net.announce(d3.id)).toBe(1);
    await upc.settle();
    expect(upc.frames.map(hex)).toEqual([hex(gratuitousArp(MAC))]);
  });

  it('the switch forgets the MAC when the vif goes, and frames from an uplink reach it where it is now', async () => {
    // Host A held the guest; a frame for it from A's uplink after it left is flooded (not sent
    // to a dead port). Host B learned the MAC on its uplink (the guest's traffic bridged over
    // from A); once the vif connects on B, the uplink's frames for it go to the vif.
    const a = netHost();
    const d = a.domain('a', [{ mac: MAC }]);
    new TestNetfront(a.host, d.id).connect();
    expect(a.net.switch.table().map((e) => e.mac)).toContain(MAC);
    a.net.detach(d.id);
    expect(a.net.switch.table().map((e) => e.mac)).not.toContain(MAC);

    const b = netHost();
    const gw = b.net.uplink('gateway');
    const heard: Uint8Array[] = [];
    gw.onFrame((f) => heard.push(f));
    const other = b.net.uplink('other');
    other.send(gratuitousArp(MAC)); // the guest, still on A, seen through another uplink
    expect(b.net.switch.table()).toContainEqual(expect.objectContaining({ mac: MAC, port: 'other', static: false }));
    const d2 = b.domain('b', [{ mac: MAC }]);
    const f = new TestNetfront(b.host, d2.id);
    f.connect();
    f.postRx(4);
    expect(b.net.switch.table()).toContainEqual(expect.objectContaining({ mac: MAC, port: `vif${d2.id}.0`, static: true }));
    const frame = new Uint8Array(60);
    frame.set([0x00, 0x16, 0x3e, 0x0a, 0x0b, 0x0c], 0);
    frame.set([0x00, 0x16, 0x3e, 0x00, 0x00, 0x01], 6);
    frame.set([0x08, 0x00], 12);
    gw.send(frame);
    const got = f.received();
    expect(got.map((x) => (typeof x === 'number' ? x : hex(x)))).toEqual([hex(frame)]);
  });
});
