// e2e: the processes around the controller (../shared/DESIGN.md §2 "Processes") and crash
// handling: no controller → one line saying how to start one; crash loops back off (10 s × n²,
// run 100× faster); kill -9 of the controller leaves domains running and the restarted one
// adopts them; kill -9 of the host is a power cut (domains restarted per runStrategy); SIGTERM
// stops the host `up` started unless --keep-host; diff's exit codes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cond, manifest, pidAlive, waitFor, World } from './controller-harness.ts';

let w: World;
beforeEach(() => { w = new World(); });
afterEach(async () => { await w.cleanup(); });

describe('processes', () => {
  it('with no controller running, managing verbs exit 1 with one line saying how to start one', async () => {
    for (const args of [['get', 'domains'], ['list'], ['pause', 'x'], ['events'], ['logs', 'x'], ['describe', 'domain', 'x']]) {
      const r = await w.cli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/no controller is running for state dir .*; start one with: xenoform up/);
    }
    const diff = await w.cli(['diff', w.manifests]);
    expect(diff.code).toBe(2); // diff keeps 1 for "differences", as kubectl diff
  });

  it('a crashing guest with onCrash restart is restarted with crash-loop backoff (10 s × n², accelerated)', async () => {
    w.write('c.yaml', manifest('crashy', 'crash.elf', '  onCrash: restart\n'));
    await w.startUp();
    const d = await w.waitDomain('crashy', (x) => (x?.status?.startFailure?.consecutiveFailCount ?? 0) >= 3, 30_000);
    expect(d?.status?.restarts).toBeGreaterThanOrEqual(2);
    const ev = (await w.cli(['events', 'crashy'])).stdout;
    expect(ev).toMatch(/Crashed\s+domain\/crashy\s+domain \d+ crashed/);
    expect(ev).toMatch(/CrashLoopBackOff\s+domain\/crashy\s+failed 1 time\(s\) in a row; next start in 0\.1s/);
    expect(ev).toMatch(/failed 2 time\(s\) in a row; next start in 0\.4s/);
    const table = await w.cli(['get', 'domains', 'crashy']);
    expect(table.stdout).toMatch(/crashy\s+(CrashLoopBackOff|Running|Starting)/);
  });

  it('kill -9 of the controller leaves domains on the host; the restarted controller adopts them (no restart)', async () => {
    // a crashed domain kept with onCrash: preserve stays on the host whatever the guest does
    w.write('p.yaml', manifest('kept', 'crash.elf', '  onCrash: preserve\n'));
    await w.startUp();
    const before = await w.waitDomain('kept', (d) => d?.status?.phase === 'Crashed');
    const host = w.hostPid();
    await w.stopUp('SIGKILL');
    expect(pidAlive(host)).toBe(true);
    await w.startUp();
    const after = await w.waitDomain('kept', (d) => d?.status?.phase === 'Crashed');
    expect(after?.status?.domid).toBe(before?.status?.domid);
    expect(after?.status?.restarts).toBe(0);
    expect(w.hostPid()).toBe(host);
    expect(w.upErr).toMatch(/using host pid/);
  });

  it('kill -9 of the controller, real guest: the ticker keeps running and is adopted, not restarted', async () => {
    w.write('t.yaml', manifest('ticker', 'ticker.elf'));
    await w.startUp();
    const before = await w.waitDomain('ticker', (d) => d?.status?.phase === 'Running');
    await w.stopUp('SIGKILL');
    await w.startUp();
    const after = await w.waitDomain('ticker', (d) => d?.status?.phase === 'Running');
    expect(after?.status?.domid).toBe(before?.status?.domid);
    expect(after?.status?.restarts).toBe(0);
    expect((await w.cli(['events', 'ticker'])).stdout).toMatch(/Adopted|Started/);
  });

  it('kill -9 of the host is a power cut: up starts a new host and domains come back per runStrategy', async () => {
    w.write('t.yaml', manifest('ticker', 'ticker.elf'));
    w.write('o.yaml', manifest('once', 'ticker.elf', '  runStrategy: Once\n'));
    await w.startUp();
    await w.waitDomain('ticker', (d) => d?.status?.phase === 'Running');
    await w.waitDomain('once', (d) => d?.status?.phase === 'Running');
    const host = w.hostPid()!;
    process.kill(host, 'SIGKILL');
    const back = await w.waitDomain('ticker', (d) => d?.status?.phase === 'Running' && (d.status.restarts ?? 0) >= 1, 30_000);
    expect(w.hostPid()).not.toBe(host);
    expect(back?.status?.restarts).toBe(1);
    const once = await w.waitDomain('once', (d) => d?.status?.phase === 'Failed');
    expect(cond(once, 'Ready')?.status).toBe('False');
    expect((await w.cli(['events', 'ticker'])).stdout).toMatch(/DomainVanished/);
  });

  it('SIGTERM stops the controller and the host it started; --keep-host leaves the host running', async () => {
    w.write('c.yaml', manifest('kept', 'crash.elf', '  onCrash: preserve\n'));
    await w.startUp();
    await w.waitDomain('kept', (d) => d?.status?.phase === 'Crashed');
    let host = w.hostPid();
    expect(await w.stopUp('SIGTERM')).toBe(0);
    await waitFor(() => !pidAlive(host), 10_000, () => 'host still alive');
    expect(w.upErr).toMatch(/host stopped/);

    await w.startUp(['--keep-host']);
    await w.waitDomain('kept', (d) => d?.status?.phase === 'Crashed');
    host = w.hostPid();
    expect(await w.stopUp('SIGINT')).toBe(0);
    expect(pidAlive(host)).toBe(true);
    expect(w.upErr).toMatch(/leaving host pid \d+ running/);
    // a host up did not start is never stopped by it
    await w.startUp();
    expect(await w.stopUp('SIGTERM')).toBe(0);
    expect(pidAlive(host)).toBe(true);
  });

  it('diff: exit 0 without changes, 1 with changes (and what they are), 2 for invalid input', async () => {
    w.write('c.yaml', manifest('kept', 'crash.elf', '  onCrash: preserve\n'));
    await w.startUp();
    await w.waitDomain('kept', (d) => d?.status?.phase === 'Crashed');
    expect((await w.cli(['diff', w.manifests])).code).toBe(0);
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const other = `${w.dir}/other`;
    mkdirSync(other);
    writeFileSync(`${other}/c.yaml`, manifest('kept', 'crash.elf', '  onCrash: preserve\n', 48));
    writeFileSync(`${other}/n.yaml`, manifest('newone', 'ticker.elf'));
    const d = await w.cli(['diff', other]);
    expect(d.code).toBe(1);
    expect(d.stdout).toMatch(/domain\/kept: would change/);
    expect(d.stdout).toMatch(/spec\.memory: 32 -> 48 \(applied live\)/);
    expect(d.stdout).toMatch(/^-  memory: 32$/m);
    expect(d.stdout).toMatch(/^\+  memory: 48$/m);
    expect(d.stdout).toMatch(/domain\/newone: would be created/);
    writeFileSync(`${other}/bad.yaml`, 'kind: [');
    expect((await w.cli(['diff', other])).code).toBe(2);
  });
});
