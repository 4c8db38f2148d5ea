// e2e: the real CLI, controller and host on a temp manifests dir with real guests (ticker,
// hello, balloon): create, live edit, restart-required edit, invalid edits, delete, imperative
// verbs. Timers run 100× faster (--clock-scale 100), so backoffs and grace periods take no
// real waiting. These need guests that boot: see the report for which fail only because the
// guest kit's memory hypercalls are not in the hypervisor yet.
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cond, manifest, World } from './controller-harness.ts';

let w: World;
beforeEach(() => { w = new World(); });
afterEach(async () => { await w.cleanup(); });

const running = (d: { status?: { phase?: string } } | undefined) => d?.status?.phase === 'Running';

describe('xenoform up: manifests become running domains', () => {
  it('creates domains, keeps a Once domain stopped after it powers off, lists them like xl list', async () => {
    w.write('ticker.yaml', manifest('ticker', 'ticker.elf', '  readiness:\n    console:\n      pattern: "^ticker: ready$"\n'));
    w.write('hello.yaml', manifest('hello', 'hello.elf', '  runStrategy: Once\n'));
    await w.startUp();
    const t = await w.waitDomain('ticker', (d) => running(d) && cond(d, 'Ready')?.status === 'True');
    expect(t?.status).toMatchObject({ domid: expect.any(Number), host: 'local', observedGeneration: 1, restarts: 0 });
    expect(t?.metadata).toMatchObject({ generation: 1, uid: expect.any(String), creationTimestamp: expect.any(String) });
    const h = await w.waitDomain('hello', (d) => d?.status?.phase === 'Stopped');
    expect(h?.status).toMatchObject({ lastShutdownReason: 'poweroff', restarts: 0 });
    const table = await w.cli(['get', 'domains']);
    expect(table.stdout).toMatch(/^NAME\s+STATUS\s+DOMID\s+STATE\s+MEMORY\s+READY\s+AGE/);
    expect(table.stdout).toMatch(/ticker\s+Running\s+\d+\s+\S{6}\s+32\s+True/);
    const xl = await w.cli(['list']);
    expect(xl.stdout).toMatch(/^Name\s+ID\s+Mem\s+VCPUs\s+State\s+Time\(s\)/);
    expect(xl.stdout).toMatch(/Domain-0\s+0/);
    expect(xl.stdout).toMatch(/ticker\s+\d+\s+32\s+1/);
    const logs = await w.cli(['logs', 'ticker']);
    expect(logs.stdout).toMatch(/^ticker: ready$/m);
    const hello = await w.cli(['logs', 'hello']);
    expect(hello.stdout).toContain('Hello from Xenoform!');
  });

  it('edits: memory changes live (same domid); a cmdline change restarts it (RestartRequired, then a new domid)', async () => {
    w.write('b.yaml', manifest('balloon', 'balloon.elf', '  maxMemory: 64\n'));
    await w.startUp();
    const before = await w.waitDomain('balloon', running);
    w.write('b.yaml', manifest('balloon', 'balloon.elf', '  maxMemory: 64\n', 48));
    const live = await w.waitDomain('balloon', (d) => d?.metadata.generation === 2 && d.status?.observedGeneration === 2);
    expect(live?.status?.domid).toBe(before?.status?.domid);
    expect((await w.cli(['events', 'balloon'])).stdout).toMatch(/MemoryTarget\s+domain\/balloon\s+balloon target set to 48 MiB/);
    w.write('b.yaml', manifest('balloon', 'balloon.elf', '  maxMemory: 64\n  cmdline: "v2"\n', 48));
    const restarted = await w.waitDomain('balloon', (d) => running(d) && d!.status!.domid !== before?.status?.domid);
    expect(restarted?.status).toMatchObject({ restarts: 1, observedGeneration: 3 });
    expect(cond(restarted, 'RestartRequired')?.status).toBe('False');
    expect((await w.cli(['events', 'balloon'])).stdout).toMatch(/RestartForUpdate/);
  });

  it('invalid YAML and schema errors keep the domain running on its last valid spec (InvalidSpec)', async () => {
    w.write('t.yaml', manifest('ticker', 'ticker.elf'));
    await w.startUp();
    const d0 = await w.waitDomain('ticker', running);
    w.write('t.yaml', 'apiVersion: xenoform.dev/v1alpha1\nkind: Domain\nmetadata: {name: ticker\n');
    const broken = await w.waitDomain('ticker', (d) => cond(d, 'InvalidSpec')?.status === 'True');
    expect(broken?.status?.phase).toBe('Running');
    expect(broken?.status?.domid).toBe(d0?.status?.domid);
    expect(cond(broken, 'InvalidSpec')?.message).toMatch(/t\.yaml:\d+:\d+: .*YAML/);
    w.write('t.yaml', manifest('ticker', 'ticker.elf').replace('memory: 32', 'memory: -5'));
    const schema = await w.waitDomain('ticker', (d) => /spec\.memory/.test(cond(d, 'InvalidSpec')?.message ?? ''));
    expect(schema?.status?.domid).toBe(d0?.status?.domid);
    expect(schema?.metadata.generation).toBe(1);
    w.write('t.yaml', manifest('ticker', 'ticker.elf'));
    const fixed = await w.waitDomain('ticker', (d) => cond(d, 'InvalidSpec')?.status === 'False');
    expect(fixed?.status?.domid).toBe(d0?.status?.domid);
  });

  it('a deleted manifest shuts its domain down gracefully and the Domain goes away', async () => {
    w.write('t.yaml', manifest('ticker', 'ticker.elf'));
    await w.startUp();
    await w.waitDomain('ticker', running);
    w.remove('t.yaml');
    await w.waitDomain('ticker', (d) => d === undefined);
    expect((await w.cli(['list'])).stdout).not.toMatch(/^ticker/m);
    expect((await w.cli(['events', 'ticker'])).stdout).toMatch(/Deleting.*manifest deleted/);
    const logs = await w.cli(['logs', 'ticker']);
    void logs;
  });

  it('imperative verbs: pause holds until unpause; stop parks an Always domain until start; destroy brings it back', async () => {
    w.write('t.yaml', manifest('ticker', 'ticker.elf'));
    await w.startUp();
    const d0 = await w.waitDomain('ticker', running);
    expect((await w.cli(['pause', 'ticker', '-w'])).code).toBe(0);
    expect((await w.domain('ticker'))?.status).toMatchObject({ phase: 'Paused', intent: 'paused' });
    expect((await w.cli(['unpause', 'ticker', '-w'])).code).toBe(0);
    expect((await w.cli(['stop', 'ticker', '-w'])).code).toBe(0);
    expect((await w.domain('ticker'))?.status).toMatchObject({ phase: 'Stopped', intent: 'stopped' });
    const refused = await w.cli(['reboot', 'ticker']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot reboot Domain ticker: it is Stopped/);
    expect((await w.cli(['start', 'ticker', '-w'])).code).toBe(0);
    const d1 = await w.waitDomain('ticker', running);
    expect((await w.cli(['destroy', 'ticker', '-w'])).code).toBe(0);
    const d2 = await w.waitDomain('ticker', (d) => running(d) && d!.status!.domid !== d1?.status?.domid);
    expect(d2?.status?.restarts).toBeGreaterThan(d0?.status?.restarts ?? 0);
    const desc = await w.cli(['describe', 'domain', 'ticker']);
    expect(desc.stdout).toMatch(/Conditions:[\s\S]*Ready[\s\S]*Events:[\s\S]*IntentRecorded/);
  });

  it('the bad-manifest corpus beside a running domain: clear errors, nothing crashes, the domain keeps running', async () => {
    w.write('t.yaml', manifest('ticker', 'ticker.elf'));
    await w.startUp();
    const d0 = await w.waitDomain('ticker', running);
    const corpus = fileURLToPath(new URL('../fixtures/bad-manifests/', import.meta.url));
    cpSync(corpus, join(w.manifests, 'bad'), { recursive: true, verbatimSymlinks: true });
    const huge = Buffer.alloc(10 * 1024 * 1024, 'a');
    huge.write('apiVersion: xenoform.dev/v1alpha1\nkind: Domain\nmetadata:\n  name: huge\n');
    writeFileSync(join(w.manifests, 'bad', 'huge-10mb.yaml'), huge);
    // errors tied to named objects show up as InvalidSpec on those Domains
    await w.waitDomain('memory-negative', (d) => cond(d, 'InvalidSpec')?.status === 'True');
    const all = await w.domains();
    expect(all.find((d) => d.metadata.name === 'ticker')?.status).toMatchObject({ phase: 'Running', domid: d0?.status?.domid });
    const neg = all.find((d) => d.metadata.name === 'memory-negative');
    expect(cond(neg, 'InvalidSpec')?.message).toMatch(/memory-negative\.yaml:\d+:\d+: spec\.memory: /);
    expect(neg?.status?.phase).not.toBe('Running');
    // errors that belong to no object are reported by the controller, one line each
    expect(w.upErr).toMatch(/huge-10mb\.yaml: file is too large/);
    expect(w.upErr).toMatch(/syntax-unclosed-quote\.yaml:\d+:\d+: /);
    expect(w.up?.exitCode).toBeNull();
  });
});
