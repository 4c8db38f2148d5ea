// `xenoform diff PATH`: what the controller would change if PATH were the declared state, as
// `kubectl diff` shows it (../shared/controller-facts.md §2): per Domain, created, changed (each
// field with how it would be applied: live, by a restart, or controller policy) or deleted.
import type { Domain } from '../../crds/index.ts';
import { BOOT_FIELDS, canonical } from '../reconcilers/domain.spec.ts';

export interface DiffInput {
  name: string;
  /** the object with defaults, as loadManifests gives it */
  object: { metadata: Domain['metadata']; spec: Record<string, unknown> };
  /** resolved paths of file fields ({'spec.kernel': '/abs/…'}) */
  files: Record<string, string>;
}

export interface FieldChange {
  path: string;
  from: unknown;
  to: unknown;
  /** live: balloon/scheduler; restart: needs a restart; policy: the controller's own (on_*, runStrategy…); metadata */
  apply: 'live' | 'restart' | 'policy' | 'metadata';
}

export interface DomainDiff {
  name: string;
  action: 'create' | 'update' | 'delete' | 'unchanged';
  changes: FieldChange[];
  /** the two objects for a unified diff */
  live?: unknown;
  proposed?: unknown;
}

const LIVE = new Set(['memory', 'cpuWeight', 'cpuCap']);
const BOOT = new Set<string>(BOOT_FIELDS);

/** Compares declared objects (from PATH) with the controller's current ones. */
export function diffDomains(proposed: DiffInput[], current: Domain[], opts: { prune: boolean }): DomainDiff[] {
  const byName = new Map(current.map((d) => [d.metadata.name, d]));
  const out: DomainDiff[] = [];
  for (const p of proposed) {
    const cur = byName.get(p.name);
    const proposedObj = clean(p.object, p.files);
    if (!cur) {
      out.push({ name: p.name, action: 'create', changes: [], proposed: proposedObj });
      continue;
    }
    const liveObj = clean(cur, { 'spec.kernel': cur.status?.kernel ?? (cur.spec.kernel as string) });
    const changes: FieldChange[] = [];
    const keys = new Set([...Object.keys(liveObj.spec), ...Object.keys(proposedObj.spec)]);
    for (const k of [...keys].sort()) {
      const a = (liveObj.spec as Record<string, unknown>)[k];
      const b = (proposedObj.spec as Record<string, unknown>)[k];
      if (canonical(a) === canonical(b)) continue;
      changes.push({ path: `spec.${k}`, from: a, to: b, apply: LIVE.has(k) ? 'live' : BOOT.has(k) ? 'restart' : 'policy' });
    }
    for (const k of ['labels', 'annotations'] as const) {
      const a = liveObj.metadata[k] ?? {};
      const b = proposedObj.metadata[k] ?? {};
      if (canonical(a) !== canonical(b)) changes.push({ path: `metadata.${k}`, from: a, to: b, apply: 'metadata' });
    }
    out.push({ name: p.name, action: changes.length ? 'update' : 'unchanged', changes, live: liveObj, proposed: proposedObj });
  }
  if (opts.prune) {
    const names = new Set(proposed.map((p) => p.name));
    for (const d of current) if (!names.has(d.metadata.name)) out.push({ name: d.metadata.name, action: 'delete', changes: [], live: clean(d, {}) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** The object as it would be compared: spec with resolved kernel path, user metadata only. */
function clean(o: { metadata: Domain['metadata']; spec: Record<string, unknown> | Domain['spec'] }, files: Record<string, string>) {
  const spec: Record<string, unknown> = { ...(o.spec as Record<string, unknown>) };
  if (files['spec.kernel']) spec.kernel = files['spec.kernel'];
  const metadata: Domain['metadata'] = { name: o.metadata.name };
  if (o.metadata.labels && Object.keys(o.metadata.labels).length) metadata.labels = o.metadata.labels;
  if (o.metadata.annotations && Object.keys(o.metadata.annotations).length) metadata.annotations = o.metadata.annotations;
  return { apiVersion: 'xenoform.dev/v1alpha1', kind: 'Domain', metadata, spec };
}
