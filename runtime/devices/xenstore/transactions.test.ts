import { describe, expect, it } from 'vitest';
import { call, GuestRing } from './test-helpers.ts';
import { XsType } from './wire.ts';
import { Xenstored } from './xenstored.ts';

const T = XsType;

function setup() {
  const xs = new Xenstored();
  const g = new GuestRing(xs, 1);
  xs.introduceDomain(1, g.page, () => {}, { layout: { name: 'g1', memoryKiB: 1024 } });
  return { xs, g };
}

function start(g: GuestRing): number {
  const r = call(g, T.TRANSACTION_START, '\0');
  expect(r).toMatch(/^\d+\|$/);
  return Number(r.slice(0, -1));
}

describe('xenstore transactions', () => {
  it('isolates writes until commit and commits them', () => {
    const { xs, g } = setup();
    const tx = start(g);
    expect(tx).toBeGreaterThan(0);
    expect(call(g, T.WRITE, 'data/a\0one', tx)).toBe('OK|');
    expect(call(g, T.READ, 'data/a\0', tx)).toBe('one');
    expect(call(g, T.READ, 'data/a\0')).toBe('ERROR:ENOENT|');
    expect(xs.readString('/local/domain/1/data/a')).toBeUndefined();
    expect(call(g, T.TRANSACTION_END, 'T\0', tx)).toBe('OK|');
    expect(call(g, T.READ, 'data/a\0')).toBe('one');
    expect(call(g, T.READ, 'data/a\0', tx)).toBe('ERROR:ENOENT|'); // the id is gone
  });

  it('aborts with F', () => {
    const { g } = setup();
    const tx = start(g);
    call(g, T.WRITE, 'data/a\0one', tx);
    call(g, T.RM, 'data\0', tx);
    expect(call(g, T.TRANSACTION_END, 'F\0', tx)).toBe('OK|');
    expect(call(g, T.READ, 'data/a\0')).toBe('ERROR:ENOENT|');
    expect(call(g, T.DIRECTORY, 'data\0')).toBe('');
  });

  it('fails a commit with EAGAIN when a node it read changed meanwhile', () => {
    const { xs, g } = setup();
    xs.write('/local/domain/1/data/counter', '1');
    const tx = start(g);
    expect(call(g, T.READ, 'data/counter\0', tx)).toBe('1');
    call(g, T.WRITE, 'data/counter\0' + '2', tx);
    xs.write('/local/domain/1/data/counter', '5'); // a concurrent writer
    expect(call(g, T.TRANSACTION_END, 'T\0', tx)).toBe('ERROR:EAGAIN|');
    expect(xs.readString('/local/domain/1/data/counter')).toBe('5');
    // Retry succeeds.
    const tx2 = start(g);
    call(g, T.WRITE, 'data/counter\0' + '6', tx2);
    expect(call(g, T.TRANSACTION_END, 'T\0', tx2)).toBe('OK|');
    expect(xs.readString('/local/domain/1/data/counter')).toBe('6');
  });

  it('conflicts on creation and deletion too, but not on unrelated nodes', () => {
    const { xs, g } = setup();
    const tx = start(g);
    call(g, T.READ, 'data/x\0', tx); // absent when read
    xs.write('/local/domain/1/data/x', 'born');
    expect(call(g, T.TRANSACTION_END, 'T\0', tx)).toBe('ERROR:EAGAIN|');

    const tx2 = start(g);
    call(g, T.WRITE, 'data/y\0v', tx2);
    xs.write('/local/domain/1/feature/unrelated', 'z');
    expect(call(g, T.TRANSACTION_END, 'T\0', tx2)).toBe('OK|');
  });

  it('orders two interfering transactions as xenstored example 4', () => {
    const { xs } = setup();
    xs.write('/a', '0');
    xs.write('/b', '0');
    const t1 = xs.transactionStart();
    const t2 = xs.transactionStart();
    xs.read('/a', t1);
    xs.read('/b', t2);
    xs.write('/b', '1', t1);
    xs.write('/a', '2', t2);
    xs.transactionEnd(t1);
    expect(() => xs.transactionEnd(t2)).toThrow(/EAGAIN/);
    expect(xs.readString('/a')).toBe('0');
    expect(xs.readString('/b')).toBe('1');
  });

  it('retries in the local transaction helper', () => {
    const { xs } = setup();
    xs.write('/n', '0');
    let attempts = 0;
    xs.transaction((tx) => {
      attempts++;
      const v = Number(xs.readString('/n', tx));
      if (attempts === 1) xs.write('/n', '10'); // interfere once
      xs.write('/n', String(v + 1), tx);
    });
    expect(attempts).toBe(2);
    expect(xs.readString('/n')).toBe('11');
  });

  it('rejects bad transaction use', () => {
    const { g } = setup();
    expect(call(g, T.READ, 'name\0', 12345)).toBe('ERROR:ENOENT|');
    expect(call(g, T.TRANSACTION_END, 'T\0')).toBe('ERROR:ENOENT|');
    const tx = start(g);
    expect(call(g, T.TRANSACTION_START, '\0', tx)).toBe('ERROR:EBUSY|');
    expect(call(g, T.TRANSACTION_END, 'X\0', tx)).toBe('ERROR:EINVAL|');
    expect(call(g, T.RESET_WATCHES, '\0', tx)).toBe('OK|');
    expect(call(g, T.READ, 'name\0', tx)).toBe('ERROR:ENOENT|'); // reset dropped it
  });

  it('fires watches for transaction changes only at commit', () => {
    const { xs, g } = setup();
    const seen: string[] = [];
    xs.watch('/local/domain/1/data', (p) => seen.push(p));
    seen.length = 0;
    const tx = start(g);
    call(g, T.WRITE, 'data/k\0v', tx);
    expect(seen).toEqual([]);
    call(g, T.TRANSACTION_END, 'T\0', tx);
    expect(seen).toEqual(['/local/domain/1/data/k']);
  });

  it('keeps node quotas across a commit', () => {
    const xs = new Xenstored({ quotas: { nodes: 30 } });
    const g = new GuestRing(xs, 1);
    xs.introduceDomain(1, g.page, () => {}, { layout: { name: 'g1', memoryKiB: 1024 } });
    const room = 30 - xs.ownedNodes(1);
    const tx = start(g);
    let i = 0;
    while (call(g, T.WRITE, `data/n${i}\0v`, tx) === 'OK|') i++;
    expect(i).toBe(room);
    expect(call(g, T.TRANSACTION_END, 'T\0', tx)).toBe('OK|');
    expect(xs.ownedNodes(1)).toBe(30);
  });
});
