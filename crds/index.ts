// The registry of kinds: for each, its one source schema and what derives from it — the ajv
// validator, the CustomResourceDefinition, defaults and cross-field rules. Domain and Host;
// DomainSet and ConsolidationPlan join here as their issues ask.
import { Ajv, type ValidateFunction } from 'ajv';
import { stringify } from 'yaml';
import { toAjvSchema, type StructuralSchema } from './structural.ts';
import { GROUP, VERSION, domainSchema, domainPrinterColumns } from './domain.schema.ts';
import { applyDomainDefaults, defaultMac, domainRules, type RuleViolation } from './domain.ts';
import type { Domain, DefaultedDomain } from './domain.types.ts';
import { hostPrinterColumns, hostSchema } from './host.schema.ts';
import { applyHostDefaults, hostRules } from './host.ts';
import type { Host } from './host.types.ts';

export { API_VERSION, GROUP, VERSION, domainSchema, DOMAIN_PHASES, RUN_STRATEGIES, SHUTDOWN_ACTIONS } from './domain.schema.ts';
export { applyDomainDefaults, defaultMac, domainRules, type RuleViolation } from './domain.ts';
export type * from './domain.types.ts';
export { HOST_PHASES, LOCAL_HOST, hostSchema } from './host.schema.ts';
export { hostRules } from './host.ts';
export type * from './host.types.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** A field naming a file: resolved relative to the manifest, kept inside the allowed roots. */
export interface FileField {
  path: (string | number)[];
  value: string;
  /** false when the controller creates a missing file (a disk with sizeMiB) */
  mustExist: boolean;
}

export interface KindDefinition<T = unknown> {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Cluster' | 'Namespaced';
  schema: StructuralSchema;
  printerColumns: readonly PrinterColumn[];
  /** applies every default in place (schema defaults and derived ones) */
  applyDefaults(obj: T): T;
  /** cross-field rules, on an object with defaults applied */
  rules(obj: T): RuleViolation[];
  /** the fields that name files, on an object with defaults applied */
  fileFields(obj: T): FileField[];
  /** values that must be unique across all objects (host ports, MACs), with defaults applied */
  claims(obj: T): Claim[];
}

/** A value one object holds that no other object may hold too (e.g. a host port). */
export interface Claim {
  key: string;
  path: (string | number)[];
  /** what it is, for messages: `host port 8080` */
  what: string;
}

const domainKind: KindDefinition<Domain> = {
  kind: 'Domain',
  listKind: 'DomainList',
  plural: 'domains',
  singular: 'domain',
  shortNames: ['xd', 'dom'],
  scope: 'Cluster',
  schema: domainSchema,
  printerColumns: domainPrinterColumns,
  applyDefaults: applyDomainDefaults,
  rules: (obj) => domainRules(obj as DefaultedDomain),
  fileFields(obj) {
    const s = obj.spec;
    const out: FileField[] = [{ path: ['spec', 'kernel'], value: s.kernel, mustExist: true }];
    if (s.ramdisk !== undefined) out.push({ path: ['spec', 'ramdisk'], value: s.ramdisk, mustExist: true });
    s.disks?.forEach((d, i) => out.push({ path: ['spec', 'disks', i, 'source'], value: d.source, mustExist: d.sizeMiB === undefined }));
    return out;
  },
  claims(obj) {
    const out: Claim[] = [];
    obj.spec.interfaces?.forEach((nic, i) => {
      // a defaulted MAC is not claimed: it is derived from the (unique) name already
      if (nic.mac !== undefined && nic.mac.toLowerCase() !== defaultMac(obj.metadata.name, i)) out.push({ key: `mac:${nic.mac.toLowerCase()}`, path: ['spec', 'interfaces', i, 'mac'], what: `mac ${nic.mac.toLowerCase()}` });
      nic.ports?.forEach((p, j) => out.push({ key: `hostPort:${p.host}`, path: ['spec', 'interfaces', i, 'ports', j, 'host'], what: `host port ${p.host}` }));
    });
    return out;
  },
};

const hostKind: KindDefinition<Host> = {
  kind: 'Host',
  listKind: 'HostList',
  plural: 'hosts',
  singular: 'host',
  shortNames: ['xh'],
  scope: 'Cluster',
  schema: hostSchema,
  printerColumns: hostPrinterColumns,
  applyDefaults: applyHostDefaults,
  rules: hostRules,
  // the token file, like a disk image, resolves relative to the manifest inside the allowed roots
  fileFields: (obj) => (obj.spec.tokenFile !== undefined ? [{ path: ['spec', 'tokenFile'], value: obj.spec.tokenFile, mustExist: true }] : []),
  // two Hosts on one agent would place domains twice on one machine's capacity
  claims: (obj) => (obj.spec.address !== undefined ? [{ key: `hostAddress:${obj.spec.address.toLowerCase()}`, path: ['spec', 'address'], what: `address ${obj.spec.address}` }] : []),
};

export const kinds: ReadonlyMap<string, KindDefinition<any>> = new Map<string, KindDefinition<any>>([['Domain', domainKind], ['Host', hostKind]]);

/** The definition of `kind`, by kind name, plural, singular or short name (case-insensitive). */
export function kindFor(name: string): KindDefinition<any> | undefined {
  const n = name.toLowerCase();
  for (const k of kinds.values()) {
    if (k.kind.toLowerCase() === n || k.plural === n || k.singular === n || k.shortNames.includes(n)) return k;
  }
  return undefined;
}

let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

// RFC 3339 date-time, as Kubernetes' format "date-time" (strfmt) expects.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The ajv validator for `kind` (compiled once): unknown fields rejected, all errors, no defaults. */
export function validatorFor(kind: string): ValidateFunction {
  let v = validators.get(kind);
  if (v) return v;
  const def = kinds.get(kind);
  if (!def) throw new Error(`unknown kind ${kind}`);
  ajv ??= new Ajv({ allErrors: true, useDefaults: false, strict: true, strictRequired: false, strictTypes: false }).addFormat('date-time', DATE_TIME);
  v = ajv.compile(toAjvSchema(def.schema));
  validators.set(kind, v);
  return v;
}

/**
 * The apiextensions.k8s.io/v1 CustomResourceDefinition for `kind`. Kubernetes allows a CRD's
 * schema to say nothing about metadata but its name, so metadata is reduced to `type: object`
 * (the API server validates metadata itself).
 */
export function crdFor(kind: string): Record<string, unknown> {
  const def = kinds.get(kind);
  if (!def) throw new Error(`unknown kind ${kind}`);
  const schema = structuredClone(def.schema);
  if (schema.properties?.metadata) schema.properties.metadata = { type: 'object' };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: def.kind, listKind: def.listKind, plural: def.plural, singular: def.singular, shortNames: def.shortNames },
      scope: def.scope,
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: def.printerColumns.map((c) => ({ ...c })),
        schema: { openAPIV3Schema: schema },
      }],
    },
  };
}

/** Every CRD as one multi-document YAML stream (what `xenoform crds` prints). */
export function crdsYaml(): string {
  return [...kinds.keys()].map((k) => stringify(crdFor(k), { lineWidth: 0 })).map((d) => `---\n${d}`).join('');
}
