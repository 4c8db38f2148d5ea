// xenoform diff PATH — what the controller would change if PATH were the declared state, as
// `kubectl diff` (exit 0: no differences, 1: differences, >1: an error — including no
// controller, since 1 already means "differences").
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { ControllerClient } from '../api/client.ts';
import type { DomainDiff } from '../api/diff.ts';
import { HOSTS_PREFIX } from '../api/hosts.ts';
import type { HostList, HostSpec } from '../../crds/index.ts';
import { canonical } from '../reconcilers/domain.spec.ts';
import { formatDiagnostic, formatError, SilentExit } from '../errors.ts';
import { loadManifests } from '../source/index.ts';
import { collect, err, out, resolveStateDir } from './context.ts';

/** A unified diff of two texts (LCS on lines; manifests are small). */
export function unifiedDiff(a: string, b: string, nameA: string, nameB: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const lines: string[] = [`--- ${nameA}`, `+++ ${nameB}`];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { lines.push(` ${x[i]}`); i++; j++; }
    else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) { lines.push(`+${y[j]}`); j++; }
    else { lines.push(`-${x[i]}`); i++; }
  }
  return lines.join('\n');
}

const HOW = { live: 'applied live', restart: 'needs a restart', policy: 'controller policy, applied at once', metadata: 'metadata' };

function show(d: DomainDiff): string {
  const a = d.live ? stringify(d.live, { lineWidth: 0 }).trimEnd() : '';
  const b = d.proposed ? stringify(d.proposed, { lineWidth: 0 }).trimEnd() : '';
  const head = d.action === 'create' ? `# domain/${d.name}: would be created` : d.action === 'delete' ? `# domain/${d.name}: would be deleted (graceful shutdown)` : `# domain/${d.name}: would change`;
  const fields = d.changes.map((c) => `#   ${c.path}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)} (${HOW[c.apply]})`);
  return [head, ...fields, unifiedDiff(a, b, `domain/${d.name} (live)`, `domain/${d.name} (declared)`)].join('\n');
}

/**
 * Hosts: created, changed (address or token file: the controller reconnects; capacity: placement
 * uses it at once) or, with the watched directory, deleted (its domains are no longer driven).
 */
export function hostDiffs(declared: { name: string; spec: HostSpec }[], current: HostList['items'], prune: boolean): string[] {
  const out: string[] = [];
  const live = new Map(current.filter((h) => h.metadata.name !== 'local').map((h) => [h.metadata.name, h.spec]));
  for (const d of declared) {
    const cur = live.get(d.name);
    const b = stringify({ apiVersion: 'xenoform.dev/v1alpha1', kind: 'Host', metadata: { name: d.name }, spec: d.spec }, { lineWidth: 0 }).trimEnd();
    if (!cur) { out.push([`# host/${d.name}: would be created (connected, then domains may be placed on it)`, unifiedDiff('', b, `host/${d.name} (live)`, `host/${d.name} (declared)`)].join('\n')); continue; }
    if (canonical(cur) === canonical(d.spec)) continue;
    const a = stringify({ apiVersion: 'xenoform.dev/v1alpha1', kind: 'Host', metadata: { name: d.name }, spec: cur }, { lineWidth: 0 }).trimEnd();
    out.push([`# host/${d.name}: would change`, unifiedDiff(a, b, `host/${d.name} (live)`, `host/${d.name} (declared)`)].join('\n'));
  }
  if (prune) {
    const names = new Set(declared.map((d) => d.name));
    for (const [name] of live) if (!names.has(name)) out.push(`# host/${name}: would be deleted (disconnected; its domains are no longer driven)`);
  }
  return out;
}

export function register(program: Command): void {
  program
    .command('diff')
    .description('show what the controller would change for the manifests at PATH (exit 0: none, 1: changes, >1: error)')
    .argument('<path>', 'a manifest file or directory')
    .option('--allow-path <dir>', 'another directory that paths in manifests may point into (repeatable)', collect, [])
    .action(async (path: string, opts: { allowPath: string[] }, cmd: Command) => {
      try {
        const r = await loadManifests([path], { allowPaths: opts.allowPath });
        if (r.errors.length) {
          for (const d of r.errors) err(formatDiagnostic(d));
          throw new SilentExit(2);
        }
        const client = new ControllerClient(resolveStateDir(cmd));
        const info = await client.get<{ manifestsDir: string }>('/healthz');
        const objects = r.objects.filter((o) => o.kind === 'Domain').map((o) => ({ name: o.name, object: o.object, files: o.files }));
        const { diffs } = await client.post<{ diffs: DomainDiff[] }>('/diff', { objects, prune: resolve(path) === info.manifestsDir });
        const changed = diffs.filter((d) => d.action !== 'unchanged');
        for (const d of changed) out(show(d));
        const hosts = await client.get<HostList>(HOSTS_PREFIX);
        const declaredHosts = r.objects.filter((o) => o.kind === 'Host').map((o) => ({ name: o.name, spec: o.object.spec as HostSpec }));
        const hostChanges = hostDiffs(declaredHosts, hosts.items, resolve(path) === info.manifestsDir);
        for (const h of hostChanges) out(h);
        if (changed.length || hostChanges.length) throw new SilentExit(1);
      } catch (e) {
        if (e instanceof SilentExit) throw e;
        err(`error: ${formatError(e)}`);
        throw new SilentExit(2);
      }
    });
}
