// The manager end to end in one process: real files, the chokidar watch, the work queue, the
// reconciler, the state dir and the API server on its unix socket, against a fake Hypervisor
// API (no guests needed). Includes the bad-manifest corpus thrown at a running controller.
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Domain, DomainList } from '../../crds/index.ts';
import { ControllerClient } from '../../controller/api/client.ts';
import { ApiServer, apiSocketPath } from '../../controller/api/server.ts';
import { Controller } from '../../controller/controller.ts';
import { scaledTiming } from '../../controller/machines/index.ts';
import { FakeHypervisor } from '../../controller/reconcilers/testing.ts';
import { GUESTS_BUILD_DIR, loadManifests } from '../../controller/source/index.ts';
import { setDurable } from '../../controller/store/index.ts';

setDurable(false);
const corpus = fileURLToPath(new URL('../fixtures/bad-manifests/', import.meta.url));
const TICKER = join(GUESTS_BUILD_DIR, 'ticker.elf');
const doc = (name: string, extra = '', memory = 32) =>
  `apiVersion: xenoform.dev/v1alpha1\nkind: Domain\nmetadata:\n  name: ${name}\n  labels:\n    app: ${name}\nspec:\n  kernel: ${TICKER}\n  memory: ${memory}\n  maxMemory: 64\n${extra}`;

let dir: string;
let hv: FakeHypervisor;
let c: Controller;
let api: ApiServer;
let client: ControllerClient;
const logs: string[] = [];

async function until<T>(f: () => T | Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(v)?.slice(0, 600)}\nlogs: ${logs.slice(-10).join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const phase = (name: string) => c.get(name)?.status?.phase;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xfi-'));
  mkdirSync(join(dir, 'm'));
  hv = new FakeHypervisor();
  logs.length = 0;
  c = new Controller({
    manifestsDir: join(dir, 'm'), stateDir: join(dir, 's'), hv, timing: scaledTiming(1000), resyncMs: 300,
    watch: { debounceMs: 20, stabilityMs: 30 }, log: (l) => logs.push(l),
  });
  api = new ApiServer({ controller: c, socketPath: apiSocketPath(join(dir, 's')), info: { manifestsDir: join(dir, 'm') } });
  await api.listen();
  await c.start();
  client = new ControllerClient(join(dir, 's'));
});

afterEach(async () => {
  await api.close();
  await c.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the controller manager', () => {
  it('watch → queue → reconcile: create, edit live, delete, with no manual enqueue', async () => {
    writeFileSync(join(dir, 'm', 'a.yaml'), doc('alpha'));
    await until(() => phase('alpha'), (p) => p === 'Running');
    writeFileSync(join(dir, 'm', 'a.yaml'), doc('alpha', '', 48));
    await until(() => hv.calls, (calls) => calls.some((x) => x.startsWith('mem-set') && x.endsWith(' 48')));
    expect(c.get('alpha')?.metadata.generation).toBe(2);
    rmSync(join(dir, 'm', 'a.yaml'));
    await until(() => c.get('alpha'), (d) => d === undefined);
    expect(hv.live()).toEqual([]);
  });

  it('level-triggered: a domain destroyed behind its back, with no event, is found by the resync', async () => {
    writeFileSync(join(dir, 'm', 'a.yaml'), doc('alpha'));
    await until(() => phase('alpha'), (p) => p === 'Running');
    const id = hv.byName('alpha')!.domid;
    // remove it from the fake host without telling anyone
    (hv as unknown as { domains: Map<number, unknown> }).domains.delete(id);
    await until(() => c.get('alpha')?.status, (s) => s?.phase === 'Running' && s.domid !== id);
    expect(c.get('alpha')?.status?.restarts).toBe(1);
  });

  it('the API: list, get, label selector, watch, verbs, events, xl list, metrics; socket mode 0600', async () => {
    writeFileSync(join(dir, 'm', 'a.yaml'), `${doc('alpha')}---\n${doc('beta')}`);
    await until(() => [phase('alpha'), phase('beta')], (p) => p.every((x) => x === 'Running'));
    expect(statSync(apiSocketPath(join(dir, 's'))).mode & 0o777).toBe(0o600);
    const list = await client.get<DomainList>('/apis/xenoform.dev/v1alpha1/domains');
    expect(list).toMatchObject({ apiVersion: 'xenoform.dev/v1alpha1', kind: 'DomainList' });
    expect(list.items.map((d) => d.metadata.name)).toEqual(['alpha', 'beta']);
    expect(list.items[0]).toMatchObject({ kind: 'Domain', spec: { cpuWeight: 256, runStrategy: 'Always' }, status: { phase: 'Running' } });
    const sel = await client.get<DomainList>('/apis/xenoform.dev/v1alpha1/domains?labelSelector=app%3Dbeta');
    expect(sel.items.map((d) => d.metadata.name)).toEqual(['beta']);
    const one = await client.get<Domain>('/apis/xenoform.dev/v1alpha1/domains/alpha');
    expect(one.metadata.uid).toBeTruthy();
    await expect(client.get('/apis/xenoform.dev/v1alpha1/domains/nope')).rejects.toThrow(/not found/);

    const seen: string[] = [];
    const watching = (async () => {
      for await (const ev of client.watch<{ type: string; object: Domain }>('/apis/xenoform.dev/v1alpha1/domains/alpha?watch=1')) {
        seen.push(`${ev.type} ${ev.object.status?.phase}`);
        if (ev.object.status?.phase === 'Paused') return;
      }
    })();
    const r = await client.post<{ message: string }>('/apis/xenoform.dev/v1alpha1/domains/alpha/pause');
    expect(r.message).toMatch(/paused until/);
    await watching;
    expect(seen[0]).toBe('ADDED Running');
    expect(seen.at(-1)).toBe('MODIFIED Paused');
    await expect(client.post('/apis/xenoform.dev/v1alpha1/domains/alpha/reboot')).rejects.toThrow(/cannot reboot Domain alpha: it is Paused/);
    const ev = await client.get<{ items: { reason: string }[] }>('/api/v1/events?name=alpha');
    expect(ev.items.map((e) => e.reason)).toEqual(expect.arrayContaining(['Started', 'IntentRecorded', 'Paused']));
    const xl = await client.get<{ items: { name: string }[] }>('/xl/list');
    expect(xl.items[0]?.name).toBe('Domain-0');
    expect(xl.items.slice(1).map((x) => x.name).sort()).toEqual(['alpha', 'beta']); // in domid order, which creation order decides
    const m = await (await client.bytes('/metrics')).toArray();
    expect(Buffer.concat(m).toString()).toMatch(/xenoform_domains\{phase="Paused"\} 1/);
  });

  it('the bad-manifest corpus thrown at a running controller: clear errors, no crash, good domains keep running', async () => {
    writeFileSync(join(dir, 'm', 'good.yaml'), doc('good'));
    await until(() => phase('good'), (p) => p === 'Running');
    const domid = c.get('good')!.status!.domid;
    cpSync(corpus, join(dir, 'm', 'bad'), { recursive: true, verbatimSymlinks: true });
    const huge = Buffer.alloc(10 * 1024 * 1024, 'a');
    huge.write('apiVersion: xenoform.dev/v1alpha1\nkind: Domain\nmetadata:\n  name: huge\n');
    writeFileSync(join(dir, 'm', 'bad', 'huge-10mb.yaml'), huge);
    await until(() => logs.length, (n) => n >= 10);
    await c.settled();
    await new Promise((r) => setTimeout(r, 300));
    expect(c.get('good')?.status).toMatchObject({ phase: 'Running', domid });
    expect(logs.join('\n')).toMatch(/huge-10mb\.yaml: file is too large/);
    // only what the corpus declares validly runs (a multi-document file's good first document)
    const valid = (await loadManifests([join(dir, 'm')])).objects.map((o) => o.name).sort();
    expect(valid).toContain('good');
    await until(() => hv.live().map((x) => x.name).sort(), (names) => JSON.stringify(names) === JSON.stringify(valid));
    // errors tied to a named object show on that object as InvalidSpec
    const invalid = c.list().filter((d) => d.status?.conditions?.some((k) => k.type === 'InvalidSpec' && k.status === 'True'));
    expect(invalid.length).toBeGreaterThan(10);
    for (const d of invalid) expect(d.status?.phase, d.metadata.name).not.toBe('Running');
  });

  it('a restarted controller (same state dir, same host) adopts what runs', async () => {
    writeFileSync(join(dir, 'm', 'a.yaml'), doc('alpha'));
    await until(() => phase('alpha'), (p) => p === 'Running');
    await api.close();
    await c.stop();
    c = new Controller({ manifestsDir: join(dir, 'm'), stateDir: join(dir, 's'), hv, timing: scaledTiming(1000), log: (l) => logs.push(l) });
    api = new ApiServer({ controller: c, socketPath: apiSocketPath(join(dir, 's')), info: {} });
    await api.listen();
    await c.start();
    await c.settled();
    expect(c.get('alpha')?.status).toMatchObject({ phase: 'Running', restarts: 0 });
    expect(hv.calls.filter((x) => x.startsWith('create'))).toHaveLength(1);
  });
});
