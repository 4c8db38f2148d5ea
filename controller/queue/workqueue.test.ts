import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import { ExponentialRateLimiter } from './rate-limiter.ts';
import { processOne, TerminalError } from './runner.ts';
import { WorkQueue } from './workqueue.ts';

const drain = async (q: WorkQueue): Promise<string[]> => {
  const out: string[] = [];
  while (q.length > 0) {
    const k = (await q.get())!;
    out.push(k);
    q.done(k);
  }
  return out;
};

describe('WorkQueue', () => {
  it('de-duplicates keys and keeps FIFO order', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('Domain/a'); q.add('Domain/b'); q.add('Domain/a');
    expect(await drain(q)).toEqual(['Domain/a', 'Domain/b']);
  });

  it('never hands a key to two workers: a key added while processing is queued again on done()', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('k');
    const k = await q.get();
    q.add('k');
    q.add('k');
    expect(q.length).toBe(0); // not queued while processing
    q.done(k!);
    expect(q.length).toBe(1);
    expect(await drain(q)).toEqual(['k']);
  });

  it('a waiting get() is woken by add()', async () => {
    const q = new WorkQueue(new FakeClock());
    const p = q.get();
    q.add('x');
    expect(await p).toBe('x');
  });

  it('addAfter waits on the clock, and the earliest time wins', async () => {
    const c = new FakeClock();
    const q = new WorkQueue(c);
    q.addAfter('k', 1000);
    q.addAfter('k', 500);
    q.addAfter('k', 2000);
    c.advance(499);
    expect(q.length).toBe(0);
    c.advance(1);
    expect(q.length).toBe(1);
    c.advance(5000);
    expect(await drain(q)).toEqual(['k']); // queued once
  });

  it('add() makes a waiting key due now', () => {
    const c = new FakeClock();
    const q = new WorkQueue(c);
    q.addAfter('k', 1000);
    q.add('k');
    expect(q.length).toBe(1);
    c.advance(2000);
    expect(q.length).toBe(1);
  });

  it('backs off per key exponentially from 5 ms to 1000 s, and forget() resets', () => {
    const l = new ExponentialRateLimiter();
    const delays = Array.from({ length: 20 }, () => l.when('a'));
    expect(delays.slice(0, 4)).toEqual([5, 10, 20, 40]);
    expect(delays.at(-1)).toBe(1000_000);
    expect(Math.max(...delays)).toBe(1000_000);
    expect(l.when('b')).toBe(5); // per key
    l.forget('a');
    expect(l.when('a')).toBe(5);
    for (let i = 0; i < 2000; i++) l.when('c');
    expect(l.when('c')).toBe(1000_000);
  });

  it('shutDown wakes getters with undefined and refuses adds', async () => {
    const q = new WorkQueue(new FakeClock());
    const p = q.get();
    q.shutDown();
    expect(await p).toBeUndefined();
    q.add('k');
    expect(q.length).toBe(0);
  });
});

describe('processOne: the result switch', () => {
  it('error → backoff; success → forget; requeueAfter → forget + addAfter; terminal → forget, no retry', async () => {
    const c = new FakeClock();
    const q = new WorkQueue(c);
    let outcome: 'fail' | 'ok' | 'later' | 'terminal' = 'fail';
    const rec = async () => {
      if (outcome === 'fail') throw new Error('boom');
      if (outcome === 'terminal') throw new TerminalError('no');
      if (outcome === 'later') return { requeueAfter: 30_000 };
      return undefined;
    };
    const errors: (number | undefined)[] = [];
    const step = async () => { const k = (await q.get())!; await processOne(q, rec, k, { onError: (_k, _e, d) => errors.push(d) }); };
    q.add('k');
    await step();
    await (c.advance(5), step());
    await (c.advance(10), step());
    expect(errors).toEqual([5, 10, 20]);
    expect(q.numRequeues('k')).toBe(3);
    outcome = 'ok';
    c.advance(20);
    await step();
    expect(q.numRequeues('k')).toBe(0);
    expect(q.idle).toBe(true);
    outcome = 'later';
    q.add('k');
    await step();
    expect(q.when('k')).toBe(c.now() + 30_000);
    c.advance(30_000);
    outcome = 'terminal';
    await step();
    expect(errors.at(-1)).toBeUndefined();
    expect(q.idle).toBe(true);
  });
});
