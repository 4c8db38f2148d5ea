import { describe, expect, it } from 'vitest';
import { ethFrame, netHost, TestNetfront } from './testing.ts';
import { XenbusState } from './netif.ts';
import { GTF_reading, GTF_writing, grantTablesOf } from '../../hv/grant.ts';

const MAC = '00:16:3e:0a:0b:0c';

describe('vif: toolstack nodes and the xenbus handshake', () => {
  it('writes the frontend and backend directories with libxl permissions and waits in InitWait', () => {
    const { host, domain } = netHost();
    const d = domain('web', [{ mac: MAC, ports: [{ host: 8080, guest: 80 }] }]);
    const xs = host.xenstored;
    const fe = `/local/domain/${d.id}/device/vif/0`;
    const be = `/local/domain/0/backend/vif/${d.id}/0`;
    expect(xs.getPerms(fe)).toEqual([`n${d.id}`, 'r0']);
    expect(xs.getPerms(be)).toEqual(['n0', `r${d.id}`]);
    const read = (p: string) => xs.readString(p);
    expect([read(`${fe}/backend`), read(`${fe}/backend-id`), read(`${fe}/handle`), read(`${fe}/mac`), read(`${fe}/state`)]).toEqual([be, '0', '0', MAC, '1']);
    expect([read(`${fe}/ip`), read(`${fe}/netmask`), read(`${fe}/gateway`)]).toEqual(['10.10.11.12', '255.0.0.0', '10.0.0.1']);
    expect([read(`${be}/frontend`), read(`${be}/frontend-id`), read(`${be}/mac`), read(`${be}/ip`), read(`${be}/handle`)]).toEqual([fe, String(d.id), MAC, '10.10.11.12', '0']);
    expect([read(`${be}/feature-rx-copy`), read(`${be}/feature-rx-flip`), read(`${be}/feature-sg`), read(`${be}/feature-split-event-channels`)]).toEqual(['1', '0', '1', '1']);
    expect(read(`${be}/state`)).toBe(String(XenbusState.InitWait));
    expect(xs.getPerms(`${fe}/state`)).toEqual([`n${d.id}`, 'r0']); // the guest owns its keys
  });

  it('connects on Connected (or Initialised), one or split event channels', () => {
    for (const [split, state] of [[false, XenbusState.Connected], [true, XenbusState.Initialised]] as const) {
      const { host, net, domain } = netHost();
      const d = domain('a', [{ mac: MAC }]);
      const f = new TestNetfront(host, d.id);
      f.connect({ split, state });
      expect(f.backendState()).toBe(XenbusState.Connected);
      expect(net.interfaces(d.id)[0]).toMatchObject({ connected: true, state: 4, ip: '10.10.11.12' });
      expect(net.switch.ports().map((p) => p.name)).toEqual([`vif${d.id}.0`]);
    }
  });

  it('refuses a frontend without request-rx-copy, bad ring grants or missing keys, with an error node', () => {
    const cases: [Parameters<TestNetfront['connect']>[0], RegExp][] = [
      [{ rxCopy: '0' }, /request-rx-copy/],
      [{ keys: { 'multi-queue-num-queues': '2' } }, /one queue/],
    ];
    for (const [opts, why] of cases) {
      const { host, net, domain } = netHost();
      const d = domain('a', [{ mac: MAC }]);
      const f = new TestNetfront(host, d.id);
      f.connect(opts);
      expect(f.backendState()).toBe(XenbusState.Closing);
      expect(host.xenstored.readString(`/local/domain/0/backend/vif/${d.id}/0/error`)).toMatch(why);
      expect(net.interfaces(d.id)[0]!.connected).toBe(false);
    }
    // A ring-ref that is not granted to Domain-0.
    const { host, domain } = netHost();
    const d = domain('a', [{ mac: MAC }]);
    const f = new TestNetfront(host, d.id);
    host.xenstored.write(`${f.path}/tx-ring-ref`, '400');
    host.xenstored.write(`${f.path}/rx-ring-ref`, '401');
    host.xenstored.write(`${f.path}/event-channel`, String(d.evtchn.allocUnbound(0)));
    host.xenstored.write(`${f.path}/request-rx-copy`, '1');
    f.setState(XenbusState.Connected);
    expect(f.backendState()).toBe(XenbusState.Closing);
    expect(host.xenstored.readString(`/local/domain/0/backend/vif/${d.id}/0/error`)).toMatch(/mapping tx ring grant 400/);
    // An event channel not offered to Domain-0; a non-numeric ring-ref.
    const g = netHost();
    const d2 = g.domain('b', [{ mac: MAC }]);
    const f2 = new TestNetfront(g.host, d2.id);
    f2.connect({ keys: { 'event-channel': String(d2.evtchn.allocUnbound(5)) } });
    expect(f2.backendState()).toBe(XenbusState.Closing);
    const h = netHost();
    const d3 = h.domain('c', [{ mac: MAC }]);
    const f3 = new TestNetfront(h.host, d3.id);
    f3.connect({ keys: { 'tx-ring-ref': '12abc' } });
    expect(f3.backendState()).toBe(XenbusState.Closing);
    // No grant stays pinned after a refused connect.
    const t = grantTablesOf(h.host).tableOf(d3);
    expect([...t.active.keys()]).toEqual([]);
  });

  it('disconnects on Closing/Closed, reconnects from Initialising, and tears down on detach', () => {
    const { host, net, domain } = netHost();
    const d = domain('a', [{ mac: MAC }]);
    const f = new TestNetfront(host, d.id);
    f.connect();
    const gt = grantTablesOf(host).tableOf(d);
    expect(gt.entry(f.txRef).flags & (GTF_reading | GTF_writing)).toBe(GTF_reading | GTF_writing);
    f.setState(XenbusState.Closing);
    expect(f.backendState()).toBe(XenbusState.Closing);
    expect(net.switch.ports()).toEqual([]);
    expect(gt.entry(f.txRef).flags & (GTF_reading | GTF_writing)).toBe(0); // rings unmapped
    f.setState(XenbusState.Closed);
    expect(f.backendState()).toBe(XenbusState.Closed);
    f.setState(XenbusState.Initialising);
    expect(f.backendState()).toBe(XenbusState.InitWait);
    const f2 = new TestNetfront(host, d.id);
    f2.connect();
    expect(f2.backendState()).toBe(XenbusState.Connected);
    f2.postRx(1);
    const up = net.uplink();
    up.send(ethFrame(MAC, '00:16:3e:00:00:01', 0x0800, 50));
    expect(f2.received()).toHaveLength(1);
    net.detach(d.id);
    expect(host.xenstored.readString(`/local/domain/0/backend/vif/${d.id}/0/state`)).toBeUndefined();
    expect(gt.active.size).toBe(0);
    expect(net.switch.ports().map((p) => p.name)).toEqual(['uplink1']);
    host.destroy(d.id);
  });

  it('refuses bad interface specs and a MAC already used on the host', () => {
    const { net, domain } = netHost();
    domain('a', [{ mac: MAC }]);
    expect(() => net.check([{ mac: MAC }])).toThrow(/already used by domain/);
    expect(() => net.check([{ mac: '02:00:00:00:00:01' }])).toThrow(/Xen MAC/);
    expect(() => net.check([{ mac: '00:16:3e:00:00:01' }])).toThrow(/Xen MAC/);
    expect(() => net.check([{ mac: '00:16:3e:01:02:03', ports: [{ host: 0, guest: 80 }] }])).toThrow(/ports\[0\]\.host/);
    expect(() => net.check('x')).toThrow(/list/);
    expect(net.check([{ mac: '00:16:3E:01:02:03', ports: [{ host: 8080, guest: 80 }] }])).toEqual([{ mac: '00:16:3e:01:02:03', ports: [{ host: 8080, guest: 80 }] }]);
  });
});
