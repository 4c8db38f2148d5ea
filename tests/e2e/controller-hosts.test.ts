// e2e: one controller, several hosts. Besides the local host that `up` starts, two more
// `xenoform host --listen 127.0.0.1:0 --token-file F` processes: Host `b` declared with its
// token, Host `c` with a wrong one. A Domain with spec.host: b runs there and `list` shows it
// (with a HOST column); `c` is NotReady/Unauthorized, its Domain stays Pending saying why, and
// nothing else is disturbed.
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Host, HostList } from '../../crds/index.ts';
import { cond, manifest, waitFor, World } from './controller-harness.ts';

let w: World;
beforeEach(() => { w = new World(); });
afterEach(async () => { await w.cleanup(); });

const startTcpHost = (name: string, tokenFile: string) => w.startTcpHost(name, tokenFile);

const hostManifest = (name: string, port: number, tokenFile: string) =>
  `apiVersion: xenoform.dev/v1alpha1\nkind: Host\nmetadata:\n  name: ${name}\nspec:\n  address: 127.0.0.1:${port}\n  tokenFile: ${tokenFile}\n  capacity:\n    memoryMiB: 256\n`;

async function getHosts(): Promise<Host[]> {
  const r = await w.cli(['get', 'hosts', '-o', 'json']);
  if (r.code !== 0) throw new Error(`get hosts: ${r.stderr}`);
  return (JSON.parse(r.stdout) as HostList).items;
}

describe('xenoform up drives several hosts', () => {
  it('runs a Domain on the Host its spec names; a wrong token is NotReady/Unauthorized and explained', async () => {
    const token = 'b-token-0123456789abcdef';
    writeFileSync(join(w.manifests, 'b.token'), `${token}\n`, { mode: 0o600 });
    writeFileSync(join(w.manifests, 'c.token'), 'not-the-right-token-at-all\n', { mode: 0o600 });
    const portB = await startTcpHost('b', join(w.manifests, 'b.token'));
    writeFileSync(join(w.dir, 'c-real.token'), 'c-real-token-0123456789\n', { mode: 0o600 });
    const portC = await startTcpHost('c', join(w.dir, 'c-real.token'));
    // one file mixing kinds, as a user would keep a small cluster
    w.write('cluster.yaml', [
      hostManifest('b', portB, 'b.token'),
      hostManifest('c', portC, 'c.token'),
      manifest('ticker', 'ticker.elf', '  host: b\n  readiness:\n    console:\n      pattern: "^ticker: ready$"\n'),
      manifest('stuck', 'ticker.elf', '  host: c\n'),
      manifest('nowhere', 'ticker.elf', '  host: nope\n'),
      manifest('anywhere', 'ticker.elf'),
    ].join('---\n'));
    await w.startUp();

    const t = await w.waitDomain('ticker', (d) => d?.status?.phase === 'Running' && cond(d, 'Ready')?.status === 'True', 30_000);
    expect(t?.status).toMatchObject({ host: 'b', domid: expect.any(Number) });
    expect(cond(t, 'Scheduled')).toMatchObject({ status: 'True', message: 'running on host b' });
    const a = await w.waitDomain('anywhere', (d) => d?.status?.phase === 'Running', 30_000);
    expect(['local', 'b']).toContain(a?.status?.host);

    // the list of every host: HOST column first, ticker on b, each host's Domain-0
    const xl = await w.cli(['list']);
    expect(xl.code).toBe(0);
    expect(xl.stdout).toMatch(/^Host\s+Name\s+ID\s+Mem\s+VCPUs\s+State\s+Time\(s\)/);
    expect(xl.stdout).toMatch(/^b\s+ticker\s+\d+\s+32\s+1/m);
    expect(xl.stdout).toMatch(/^local\s+Domain-0\s+0/m);
    expect(xl.stdout).toMatch(/^b\s+Domain-0\s+0/m);
    expect((await w.cli(['logs', 'ticker'])).stdout).toMatch(/^ticker: ready$/m);

    // c refused the token: NotReady, Unauthorized; its Domain waits, saying why
    await waitFor(async () => (await getHosts()).find((h) => h.metadata.name === 'c')?.status?.phase === 'NotReady', 20_000, () => 'c never NotReady');
    const all = await getHosts();
    expect(all.map((h) => h.metadata.name)).toEqual(['local', 'b', 'c']);
    const b = all.find((h) => h.metadata.name === 'b')!;
    expect(b.status).toMatchObject({ phase: 'Ready', capacity: { memoryMiB: 256 }, info: { xenVersion: expect.any(String) } });
    expect(b.status?.allocated?.memoryMiB).toBeGreaterThanOrEqual(32);
    const c = all.find((h) => h.metadata.name === 'c')!;
    expect(c.status?.conditions?.find((x) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Unauthorized' });
    const stuck = await w.waitDomain('stuck', (d) => cond(d, 'Scheduled')?.status === 'False');
    expect(stuck?.status?.phase).toBe('Pending');
    expect(cond(stuck, 'Scheduled')).toMatchObject({ reason: 'HostNotReady', message: expect.stringContaining('Unauthorized') });
    const nowhere = await w.waitDomain('nowhere', (d) => cond(d, 'Scheduled')?.status === 'False');
    expect(cond(nowhere, 'Scheduled')).toMatchObject({ reason: 'HostNotFound', message: expect.stringContaining('"nope"') });

    const table = await w.cli(['get', 'hosts']);
    expect(table.stdout).toMatch(/^NAME\s+ADDRESS\s+STATUS\s+DOMAINS\s+MEMORY\s+AGE/);
    expect(table.stdout).toMatch(new RegExp(`\\nb\\s+127\\.0\\.0\\.1:${portB}\\s+Ready\\s+\\d+\\s+\\d+/256Mi`));
    expect(table.stdout).toMatch(/\nc\s+\S+\s+NotReady/);
    const described = await w.cli(['describe', 'host', 'b']);
    expect(described.stdout).toMatch(/Phase:\s+Ready/);
    expect(described.stdout).toMatch(/ticker\s+Running/);
    expect(w.upErr).toMatch(/host c: NotReady \(Unauthorized\)/);
    expect(w.up?.exitCode).toBeNull();

    // a restarted controller finds ticker on b and adopts it there (same domid, no restart)
    expect(await w.stopUp('SIGTERM')).toBe(0);
    await w.startUp();
    const again = await w.waitDomain('ticker', (d) => d?.status?.phase === 'Running' && d.status.host === 'b', 30_000);
    expect(again?.status).toMatchObject({ domid: t?.status?.domid, restarts: 0 });
  });

  it('a Host manifest may not redefine `local`: reported with file:line:col, the rest goes on', async () => {
    writeFileSync(join(w.manifests, 'x.token'), 'x-token-0123456789abcdef\n', { mode: 0o600 });
    w.write('local.yaml', hostManifest('local', 7001, 'x.token'));
    w.write('t.yaml', manifest('ticker', 'ticker.elf'));
    await w.startUp();
    await w.waitDomain('ticker', (d) => d?.status?.phase === 'Running' && d.status.host === 'local');
    await waitFor(() => /local\.yaml:4:9: metadata\.name: "local" is the host/.test(w.upErr), 10_000, () => `no report; stderr: ${w.upErr}`);
    expect((await getHosts()).map((h) => h.metadata.name)).toEqual(['local']);
    const v = await w.cli(['validate', w.manifests]);
    expect(v.code).toBe(1);
    expect(v.stderr + v.stdout).toMatch(/local\.yaml:4:9: metadata\.name: "local" is the host/);
  });

  it('the gateway reaches a guest on a remote host: its port is served on 127.0.0.1 and its HTTP readiness probed', async () => {
    const token = 'b-token-0123456789abcdef';
    writeFileSync(join(w.manifests, 'b.token'), `${token}\n`, { mode: 0o600 });
    const portB = await startTcpHost('b', join(w.manifests, 'b.token'));
    const port = 20000 + Math.floor(Math.random() * 20000);
    w.write('b.yaml', hostManifest('b', portB, 'b.token'));
    w.write('web.yaml', manifest('web', 'httpd.elf', `  host: b\n  interfaces:\n    - ports:\n        - host: ${port}\n          guest: 80\n  readiness:\n    http:\n      port: 80\n`, 16));
    await w.startUp();
    const d = await w.waitDomain('web', (x) => cond(x, 'Ready')?.status === 'True', 30_000);
    expect(d?.status?.host).toBe('b');
    expect(cond(d, 'Ready')).toMatchObject({ reason: 'HttpProbeSucceeded' });
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ kernel: 'httpd' });
  });
});
