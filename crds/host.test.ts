import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkStructural, type StructuralSchema } from './structural.ts';
import { hostSchema } from './host.schema.ts';
import { hostRules } from './host.ts';
import { crdFor, crdsYaml, kindFor, validatorFor } from './index.ts';
import type { Host } from './host.types.ts';

/** Every field of the schema, spec and status, so the types and the schema cannot drift. */
const full: Host = {
  apiVersion: 'xenoform.dev/v1alpha1',
  kind: 'Host',
  metadata: { name: 'host-b', labels: { rack: 'r1' }, annotations: { note: 'x' }, uid: 'u', generation: 1, creationTimestamp: '2025-01-01T00:00:00Z', resourceVersion: '1' },
  spec: { address: 'host-b.example:7001', tokenFile: 'host-b.token', capacity: { memoryMiB: 4096, cpus: 4 } },
  status: {
    phase: 'Ready',
    conditions: [{ type: 'Ready', status: 'True', reason: 'Heartbeat', message: 'answers', lastTransitionTime: '2025-01-01T00:00:01Z' }],
    info: { version: '0.1.0', xenVersion: '4.19', memoryTotalMiB: 65536, memoryFreeMiB: 60000, pcpus: 1, domains: 2 },
    capacity: { memoryMiB: 4096, cpus: 4 },
    allocated: { memoryMiB: 64, domains: 2 },
    lastHeartbeat: '2025-01-01T00:00:05Z',
  },
};

function schemaPaths(s: StructuralSchema, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, sub] of Object.entries(s.properties ?? {})) out.push(`${prefix}${k}`, ...schemaPaths(sub, `${prefix}${k}.`));
  if (s.items) out.push(...schemaPaths(s.items, prefix));
  return out;
}
function objectPaths(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x) => objectPaths(x, prefix));
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) => [`${prefix}${k}`, ...objectPaths(x, `${prefix}${k}.`)]);
}

describe('Host schema', () => {
  it('is structural, accepts a full sample of the types, and the sample covers every field', () => {
    expect(checkStructural(hostSchema)).toEqual([]);
    const v = validatorFor('Host');
    expect(v(full), JSON.stringify(v.errors)).toBe(true);
    const inSample = new Set(objectPaths(full));
    expect(schemaPaths(hostSchema).filter((p) => !inSample.has(p) && !/^metadata\.(labels|annotations)\./.test(p))).toEqual([]);
  });

  it('rejects unknown fields, a missing address or token file, a bad address', () => {
    const v = validatorFor('Host');
    const bad = structuredClone(full) as any;
    bad.spec.capacity.disk = 1;
    expect(v(bad)).toBe(false);
    expect(v.errors?.[0]).toMatchObject({ keyword: 'additionalProperties', instancePath: '/spec/capacity' });
    expect(v({ ...full, spec: { address: 'a:1' } })).toBe(false);
    for (const address of ['a', 'http://a:1', 'a:b', ':80', 'a b:1']) expect(v({ ...full, spec: { ...full.spec, address } }), address).toBe(false);
    for (const address of ['127.0.0.1:7001', 'h.example:1', '[::1]:7001']) expect(v({ ...full, spec: { ...full.spec, address } }), address).toBe(true);
  });

  it('refuses to declare the implicit local host, and ports out of range', () => {
    expect(hostRules(full)).toEqual([]);
    expect(hostRules({ ...full, metadata: { name: 'local' } }).map((r) => r.code)).toEqual(['ReservedName']);
    expect(hostRules({ ...full, spec: { ...full.spec, address: 'a:70000' } }).map((r) => r.code)).toEqual(['OutOfRange']);
  });
});

describe('Host CRD', () => {
  it('is cluster-scoped with printer columns, and printed beside Domain', () => {
    const crd = crdFor('Host') as any;
    expect(crd.metadata.name).toBe('hosts.xenoform.dev');
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.names).toMatchObject({ kind: 'Host', listKind: 'HostList', plural: 'hosts', singular: 'host' });
    expect(crd.spec.versions[0].additionalPrinterColumns.map((c: any) => c.name)).toEqual(['Address', 'Status', 'Domains', 'Allocated', 'Capacity', 'Age', 'Xen', 'Free', 'Heartbeat']);
    expect(checkStructural(crd.spec.versions[0].schema.openAPIV3Schema)).toEqual([]);
    const kinds = crdsYaml().split(/^---$/m).filter((d) => d.trim()).map((d) => parse(d).spec.names.kind);
    expect(kinds).toEqual(['Domain', 'Host']);
    expect(kindFor('hosts')?.kind).toBe('Host');
    expect(kindFor('xh')?.kind).toBe('Host');
  });
});
