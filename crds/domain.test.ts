import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applySchemaDefaults, checkStructural, toAjvSchema, type StructuralSchema } from './structural.ts';
import { domainSchema } from './domain.schema.ts';
import { applyDomainDefaults, defaultMac, domainRules } from './domain.ts';
import { crdFor, crdsYaml, kindFor, validatorFor } from './index.ts';
import type { DefaultedDomain, Domain } from './domain.types.ts';

/** Every field of the schema, spec and status, so the types and the schema cannot drift. */
const full: Domain = {
  apiVersion: 'xenoform.dev/v1alpha1',
  kind: 'Domain',
  metadata: { name: 'web', labels: { app: 'web' }, annotations: { note: 'x' }, uid: 'u-1', generation: 2, creationTimestamp: '2025-01-01T00:00:00Z', resourceVersion: '7' },
  spec: {
    kernel: 'hello.elf', ramdisk: 'initrd.img', cmdline: 'console=hvc0', memory: 64, maxMemory: 128, vcpus: 1, maxVcpus: 2,
    cpuWeight: 512, cpuCap: 50,
    disks: [{ source: 'disk.img', target: 'xvda', mode: 'rw', sizeMiB: 16 }],
    interfaces: [{ mac: '00:16:3e:00:00:01', ports: [{ host: 8080, guest: 80 }] }],
    onPoweroff: 'destroy', onReboot: 'restart', onCrash: 'preserve', onWatchdog: 'coredump-restart', runStrategy: 'RerunOnFailure',
    readiness: { http: { port: 80, path: '/healthz' }, initialDelaySeconds: 0, periodSeconds: 2, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
    updateStrategy: { type: 'PatchAndSwap' },
    host: 'host-a',
  },
  status: {
    phase: 'Running', domid: 3, state: '-b----', host: 'host-a',
    conditions: [{ type: 'Ready', status: 'True', reason: 'Running', message: 'ok', lastTransitionTime: '2025-01-01T00:00:01Z', observedGeneration: 2 }],
    observedGeneration: 2, restarts: 0, startedAt: '2025-01-01T00:00:00.5Z', kernel: '/abs/hello.elf', lastShutdownReason: 'crash', intent: 'paused',
    startFailure: { consecutiveFailCount: 1, retryAfterTimestamp: '2025-01-01T00:00:10Z' },
    migrationState: {
      phase: 'Succeeded', sourceHost: 'b', targetHost: 'c', startTimestamp: '2025-01-01T00:00:00Z', endTimestamp: '2025-01-01T00:00:01Z',
      stage: 'activating', round: 2, pagesSent: 8200, pagesDirty: 12, dirtyRatePps: 2000, downtimeMs: 15.8, totalMs: 302, failureReason: 'none', disks: 'copied',
    },
    interfaces: [{ mac: '00:16:3e:00:00:01', ports: [{ host: 8080, guest: 80 }] }],
    disks: [{ target: 'xvda', source: '/abs/disk.img', mode: 'rw', sizeMiB: 16 }],
  },
};

function schemaPaths(s: StructuralSchema, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    out.push(`${prefix}${k}`, ...schemaPaths(sub, `${prefix}${k}.`));
  }
  if (s.items) out.push(...schemaPaths(s.items, prefix));
  return out;
}
function objectPaths(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x) => objectPaths(x, prefix));
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) => [`${prefix}${k}`, ...objectPaths(x, `${prefix}${k}.`)]);
}

describe('Domain schema', () => {
  it('is structural (acceptable to a Kubernetes CRD)', () => {
    expect(checkStructural(domainSchema)).toEqual([]);
  });

  it('accepts a full sample of the TypeScript types, and the sample covers every schema field', () => {
    const v = validatorFor('Domain');
    expect(v(full), JSON.stringify(v.errors)).toBe(true);
    const inSample = new Set(objectPaths(full));
    const missing = schemaPaths(domainSchema).filter((p) => !inSample.has(p) && !p.startsWith('metadata.labels.') && !p.startsWith('metadata.annotations.'));
    // readiness has four mutually exclusive kinds; the sample shows one
    expect(missing.filter((p) => !/^spec\.readiness\.(xenstore|console|tcp)/.test(p))).toEqual([]);
  });

  it('rejects unknown fields at any depth (derived additionalProperties:false)', () => {
    const v = validatorFor('Domain');
    const bad = structuredClone(full) as any;
    bad.spec.disks[0].readonly = true;
    expect(v(bad)).toBe(false);
    expect(v.errors?.[0]).toMatchObject({ keyword: 'additionalProperties', instancePath: '/spec/disks/0' });
    const ajvSchema = toAjvSchema(domainSchema) as any;
    expect(ajvSchema.additionalProperties).toBe(false);
    expect(ajvSchema.properties.metadata.properties.labels.additionalProperties).toEqual({ type: 'string', maxLength: 63, pattern: expect.any(String) });
    expect(JSON.stringify(ajvSchema)).not.toContain('x-kubernetes');
  });

  it('has the defaults of DESIGN.md §3 and derives maxMemory, maxVcpus and MACs', () => {
    const d = applyDomainDefaults({ apiVersion: 'xenoform.dev/v1alpha1', kind: 'Domain', metadata: { name: 'a' }, spec: { kernel: 'k', memory: 48, interfaces: [{}] } });
    expect(d.spec).toMatchObject({
      memory: 48, maxMemory: 48, vcpus: 1, maxVcpus: 1, cpuWeight: 256, cpuCap: 0,
      onPoweroff: 'destroy', onReboot: 'restart', onCrash: 'destroy', onWatchdog: 'destroy', runStrategy: 'Always', updateStrategy: { type: 'Restart' },
    });
    expect(d.spec.interfaces![0]!.mac).toBe(defaultMac('a', 0));
    expect(d.spec.readiness).toBeUndefined();
  });

  it('defaults recurse into given objects only, as the API server does', () => {
    const s: StructuralSchema = { type: 'object', properties: { a: { type: 'object', properties: { b: { type: 'integer', default: 1 } } }, c: { type: 'object', default: {}, properties: { d: { type: 'string', default: 'x' } } } } };
    expect(applySchemaDefaults(s, {})).toEqual({ c: { d: 'x' } });
    expect(applySchemaDefaults(s, { a: {} })).toEqual({ a: { b: 1 }, c: { d: 'x' } });
  });

  it('gives stable MACs in Xen\'s OUI, unicast', () => {
    expect(defaultMac('web', 0)).toBe(defaultMac('web', 0));
    expect(defaultMac('web', 0)).not.toBe(defaultMac('web', 1));
    expect(defaultMac('web', 0)).toMatch(/^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/);
  });

  it('checks rules across fields', () => {
    const d = applyDomainDefaults(structuredClone({ ...full, status: undefined }) as Domain) as DefaultedDomain;
    expect(domainRules(d)).toEqual([]);
    d.spec.memory = 256;
    d.spec.vcpus = 4;
    d.spec.disks!.push({ source: 'b', target: 'xvda', mode: 'ro' });
    d.spec.interfaces!.push({ mac: '01:00:00:00:00:01', ports: [{ host: 8080, guest: 81 }] });
    expect(domainRules(d).map((r) => r.code).sort()).toEqual(['DuplicateDisk', 'MemoryAboveMax', 'MulticastMac', 'PortConflict', 'VcpusAboveMax']);
  });
});

describe('CRD', () => {
  it('is an apiextensions.k8s.io/v1 CRD with status subresource and printer columns', () => {
    const crd = crdFor('Domain') as any;
    expect(crd).toMatchObject({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'domains.xenoform.dev' } });
    expect(crd.spec.names).toEqual({ kind: 'Domain', listKind: 'DomainList', plural: 'domains', singular: 'domain', shortNames: ['xd', 'dom'] });
    expect(crd.spec.scope).toBe('Cluster');
    const v = crd.spec.versions[0];
    expect(v).toMatchObject({ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
    expect(v.additionalPrinterColumns.map((c: any) => c.name)).toEqual(['Status', 'Domid', 'State', 'Memory', 'Ready', 'Age', 'Host', 'Kernel', 'Ports']);
    expect(v.additionalPrinterColumns.filter((c: any) => c.priority === 1).map((c: any) => c.name)).toEqual(['Host', 'Kernel', 'Ports']);
    const schema = v.schema.openAPIV3Schema;
    expect(schema.properties.metadata).toEqual({ type: 'object' });
    expect(schema.properties.spec.properties.cpuWeight).toMatchObject({ minimum: 1, maximum: 65535, default: 256 });
    expect(checkStructural(schema)).toEqual([]);
    expect(JSON.stringify(schema)).not.toContain('"additionalProperties":false');
  });

  it('prints every CRD as multi-document YAML', () => {
    const docs = crdsYaml().split(/^---$/m).filter((d) => d.trim());
    expect(docs.map((d) => parse(d).spec.names.kind)).toEqual(['Domain', 'Host']);
  });

  it('finds kinds by name, plural and short name', () => {
    expect(kindFor('domains')?.kind).toBe('Domain');
    expect(kindFor('xd')?.kind).toBe('Domain');
    expect(kindFor('Domain')?.kind).toBe('Domain');
    expect(kindFor('hosts')?.kind).toBe('Host');
    expect(kindFor('clusters')).toBeUndefined();
  });
});
