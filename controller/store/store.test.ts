import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJson, writeJsonAtomic } from './atomic.ts';
import { StateStore, type DomainRecord } from './store.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'xf-store-'));
const rec = (name: string): DomainRecord => ({
  version: 1, name, meta: { uid: 'u1', creationTimestamp: '2025-01-01T00:00:00.000Z', generation: 1, specHash: 'x' },
  status: { phase: 'Running' }, updatedAt: '2025-01-01T00:00:00.000Z',
});

describe('atomic JSON files', () => {
  it('writes in call order and leaves no temp files', async () => {
    const d = tmp();
    const f = join(d, 'a.json');
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeJsonAtomic(f, { i })));
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual({ i: 19 });
    expect(readdirSync(d)).toEqual(['a.json']);
  });

  it('tells missing from corrupt', async () => {
    const d = tmp();
    expect((await readJson(join(d, 'nope.json'))).state).toBe('missing');
    writeFileSync(join(d, 'bad.json'), '{"half":');
    expect((await readJson(join(d, 'bad.json'))).state).toBe('corrupt');
  });
});

describe('StateStore', () => {
  it('saves and loads a record; a corrupt one is set aside and reported, never thrown', async () => {
    const d = tmp();
    const reports: string[] = [];
    const s = new StateStore(d, (m) => reports.push(m));
    await s.saveDomain(rec('web'));
    expect((await s.loadDomain('web')).record?.status.phase).toBe('Running');
    writeFileSync(join(d, 'domains', 'web.json'), '\0\0garbage');
    const r = await s.loadDomain('web');
    expect(r.record).toBeUndefined();
    expect(r.problem).toMatch(/corrupt/);
    expect(reports).toHaveLength(1);
    expect(readdirSync(join(d, 'domains')).some((f) => f.startsWith('web.json.corrupt-'))).toBe(true);
    expect(await s.loadDomain('web')).toEqual({});
  });

  it('refuses names that are not DNS-1123 labels (no path escapes)', async () => {
    const s = new StateStore(tmp());
    await expect(s.loadDomain('../x')).rejects.toThrow(/not a valid object name/);
  });

  it('intents persist and reload', async () => {
    const d = tmp();
    const s = new StateStore(d);
    await s.updateIntents('web', (i) => { i.paused = true; i.reboot++; }, 'pause', new Date());
    const s2 = new StateStore(d);
    await s2.loadIntents();
    expect(s2.intentsOf('web')).toMatchObject({ paused: true, reboot: 1, last: 'pause' });
    expect(s2.intentsOf('other').paused).toBe(false);
  });

  it('events aggregate repeats and persist per object', async () => {
    const d = tmp();
    const s = new StateStore(d);
    const t = new Date('2025-01-01T00:00:00Z');
    await s.events.record('Domain', 'web', [{ type: 'Normal', reason: 'Started', message: 'm' }, { type: 'Normal', reason: 'Started', message: 'm' }], t);
    await s.events.record('Domain', 'db', [{ type: 'Warning', reason: 'Crashed', message: 'c' }], new Date(t.getTime() + 1000));
    expect(s.events.list('web')).toMatchObject([{ reason: 'Started', count: 2 }]);
    const s2 = new StateStore(d);
    await s2.events.load();
    expect(s2.events.list().map((e) => e.name)).toEqual(['web', 'db']);
  });
});
