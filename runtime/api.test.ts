// LocalHypervisor on virtual time: event semantics, console positions, validation, and the
// bounded async queue behind every stream. (server.test.ts covers the same API over a socket.)
import { describe, expect, it } from 'vitest';
import { AsyncQueue, HypervisorError, LocalHypervisor, StreamOverflowError, type DomainEvent } from './api.ts';
import { testGuest } from './api.test-guests.ts';

const virtualHv = () => LocalHypervisor.create({ clock: 'virtual', memoryBytes: 128 * 2 ** 20, pcpus: 2 });

/** What a stream has queued so far (the host pushes events synchronously). */
async function drain<T>(stream: AsyncIterable<T>): Promise<T[]> {
  (stream as AsyncQueue<T>).end();
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

describe('LocalHypervisor', () => {
  it('reports the host it wraps', async () => {
    const hv = virtualHv();
    expect(await hv.info()).toMatchObject({ memoryTotalMiB: 128, pcpus: 2, clock: 'virtual', domains: 0, uptimeS: 0 });
  });

  it('turns host notifications into created / state / shutdown / crashed / destroyed events', async () => {
    const hv = virtualHv();
    const events = hv.events();
    const a = await hv.create({ name: 'a', kernel: testGuest('a\n', 'block'), memoryMiB: 4, paused: true });
    await hv.unpause(a.domid);
    hv.host.runFor(10e6);
    await hv.pause(a.domid);
    await hv.pause(a.domid); // pause counts; no new letters, no event
    await hv.unpause(a.domid);
    await hv.unpause(a.domid);
    const b = await hv.create({ name: 'b', kernel: testGuest('b\n', 'poweroff'), memoryMiB: 4 });
    hv.host.runFor(10e6);
    await hv.create({ name: 'c', kernel: testGuest('c\n', 'crash'), memoryMiB: 4 });
    hv.host.runFor(10e6);
    await hv.destroy(b.domid);
    const seen = (await drain(events)).map((e: DomainEvent) => [e.type, e.name, e.state, e.reason]);
    expect(seen).toEqual([
      ['created', 'a', '--p---', undefined],
      ['state', 'a', 'r-----', undefined],
      ['state', 'a', '--p---', undefined],
      ['state', 'a', '-b----', undefined],
      ['created', 'b', 'r-----', undefined],
      ['shutdown', 'b', '---s--', 'poweroff'],
      ['created', 'c', 'r-----', undefined],
      ['crashed', 'c', '----c-', 'the guest reported a crash (SCHEDOP_shutdown crash)'],
      ['destroyed', 'b', '-----d', undefined],
    ]);
  });

  it('serves the console from any position and tracks the offset', async () => {
    const hv = virtualHv();
    const d = await hv.create({ name: 'c', kernel: testGuest('0123456789\n', 'block'), memoryMiB: 4 });
    hv.host.runFor(10e6);
    const read = async (since?: number) => {
      const s = hv.console(d.domid, { since });
      let text = '';
      for await (const c of s) text += Buffer.from(c).toString();
      return { text, offset: s.offset };
    };
    expect(await read()).toEqual({ text: '0123456789\n', offset: 11 });
    expect(await read(4)).toEqual({ text: '456789\n', offset: 11 });
    expect(await read(11)).toEqual({ text: '', offset: 11 });
    expect(await read(500)).toEqual({ text: '', offset: 11 });
    expect(() => hv.console(d.domid, { since: -1 })).toThrow(HypervisorError);
  });

  it('validates every argument before acting (EINVAL), and refuses Domain-0', async () => {
    const hv = virtualHv();
    const k = testGuest('x\n', 'block');
    const bad = [
      { name: 'x', kernel: k, memoryMiB: 1.5 },
      { name: 'x', kernel: k, memoryMiB: 8, maxMemoryMiB: 4 },
      { name: 'x', kernel: k, memoryMiB: 8, vcpus: 0 },
      { name: 'x', kernel: k, memoryMiB: 8, weight: 70000 },
      { name: 'x', kernel: k, memoryMiB: 8, cap: -1 },
      { name: 'x', kernel: k, memoryMiB: 8, cmdline: 'a'.repeat(1024) },
      { name: 'a/b', kernel: k, memoryMiB: 8 },
      { name: 'x', kernel: 42, memoryMiB: 8 },
    ];
    for (const spec of bad) await expect(hv.create(spec as never)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(hv.host.list()).toEqual([]);
    await expect(hv.destroy(0)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(hv.shutdown(-1, 'poweroff')).rejects.toMatchObject({ code: 'EINVAL' });
  });
});

describe('AsyncQueue', () => {
  it('delivers in order, ends, and fails past its bound', async () => {
    const q = new AsyncQueue<number>(undefined, 3, () => new StreamOverflowError('too far behind'));
    q.push(1);
    q.push(2);
    q.push(3);
    q.push(4); // over the bound: the reader gets what was queued, then the error
    expect(await q.next()).toEqual({ value: 1, done: false });
    expect(await q.next()).toEqual({ value: 2, done: false });
    expect(await q.next()).toEqual({ value: 3, done: false });
    await expect(q.next()).rejects.toMatchObject({ code: 'EOVERFLOW' });
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  it('wakes a waiting reader and runs onClose once when the reader stops', async () => {
    let closed = 0;
    const q = new AsyncQueue<string>(() => closed++);
    const waiting = q.next();
    q.push('x');
    expect(await waiting).toEqual({ value: 'x', done: false });
    q.push('y');
    for await (const v of q) {
      expect(v).toBe('y');
      break;
    }
    q.push('ignored');
    q.close();
    expect(closed).toBe(1);
  });
});
