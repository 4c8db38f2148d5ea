// Validating one manifest object: apiVersion and kind, the kind's schema (ajv, unknown fields
// rejected), then defaults and the kind's cross-field rules. Results are violations at JSON
// paths; parse.ts turns them into file:line:col.
import type { ErrorObject } from 'ajv';
import { API_VERSION, GROUP, kinds, validatorFor, type KindDefinition } from '../../crds/index.ts';
import type { StructuralSchema } from '../../crds/structural.ts';
import { DNS1123_LABEL, LABEL_VALUE, MAC_PATTERN, STATE_PATTERN, VDEV_PATTERN } from '../../crds/domain.schema.ts';

export type PathSeg = string | number;

export interface Violation {
  path: PathSeg[];
  message: string;
  code: string;
  /** where to point: the value (default), the key of the last segment, or the parent object */
  at?: 'value' | 'key' | 'parent';
  severity?: 'error' | 'warning';
}

export type ValidateOutcome =
  | { ok: true; kind: KindDefinition<any>; object: any; violations: Violation[] }
  | { ok: false; kind?: KindDefinition<any>; violations: Violation[] };

const PATTERN_MESSAGES: Record<string, string> = {
  [DNS1123_LABEL]: "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit",
  [MAC_PATTERN]: 'must be a MAC address such as 00:16:3e:12:34:56',
  [VDEV_PATTERN]: 'must be a PV block device name: xvd followed by letters (xvda, xvdb, …)',
  [STATE_PATTERN]: 'must be six xl state letters such as -b----',
  [LABEL_VALUE]: "must be a label value: letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
};

/** `spec.disks[0].target`; keys that are not identifiers are quoted: `metadata.labels["a/b"]`. */
export function renderPath(path: PathSeg[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return `${typeof v} ${String(v)}`;
}

function valueAt(data: unknown, path: PathSeg[]): unknown {
  let cur = data as any;
  for (const seg of path) cur = cur?.[seg];
  return cur;
}

function schemaAt(schema: StructuralSchema, path: PathSeg[]): StructuralSchema | undefined {
  let cur: StructuralSchema | undefined = schema;
  for (const seg of path) {
    if (!cur) return undefined;
    if (typeof seg === 'number') cur = cur.items;
    else cur = cur.properties?.[seg] ?? cur.additionalProperties;
  }
  return cur;
}

function pointerToPath(pointer: string, data: unknown): PathSeg[] {
  if (!pointer) return [];
  const out: PathSeg[] = [];
  let cur = data as any;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const seg: PathSeg = Array.isArray(cur) && /^\d+$/.test(key) ? Number(key) : key;
    out.push(seg);
    cur = cur?.[seg];
  }
  return out;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

function suggestion(field: string, known: string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = editDistance(field, k);
    if (dist < bestD) { bestD = dist; best = k; }
  }
  if (best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3))) return `; did you mean "${best}"?`;
  return known.length ? ` (known fields: ${known.join(', ')})` : '';
}

function ajvViolation(e: ErrorObject, data: unknown, schema: StructuralSchema): Violation | undefined {
  const path = pointerToPath(e.instancePath, data);
  const value = valueAt(data, path);
  const p = e.params as Record<string, any>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const known = Object.keys(schemaAt(schema, path)?.properties ?? {});
      return { path: [...path, p.additionalProperty], at: 'key', code: 'UnknownField', message: `unknown field "${p.additionalProperty}"${suggestion(p.additionalProperty, known)}` };
    }
    case 'required':
      return { path: [...path, p.missingProperty], at: 'parent', code: 'MissingField', message: 'required field is missing' };
    case 'type':
      return { path, code: 'InvalidType', message: `must be ${p.type === 'object' ? 'a mapping' : p.type === 'array' ? 'a list' : p.type}, not ${describe(value)}` };
    case 'enum':
      return { path, code: 'InvalidValue', message: `must be one of ${(p.allowedValues as unknown[]).join(', ')}, not ${describe(value)}` };
    case 'minimum':
    case 'maximum':
      return { path, code: 'OutOfRange', message: `must be ${p.comparison} ${p.limit}, not ${describe(value)}` };
    case 'minLength':
      return { path, code: 'InvalidValue', message: p.limit === 1 ? 'must not be empty' : `must be at least ${p.limit} characters` };
    case 'maxLength':
      return { path, code: 'InvalidValue', message: `must be at most ${p.limit} characters (is ${(value as string).length})` };
    case 'maxItems':
      return { path, code: 'OutOfRange', message: `must have at most ${p.limit} items (has ${(value as unknown[]).length})` };
    case 'minItems':
      return { path, code: 'OutOfRange', message: `must have at least ${p.limit} items` };
    case 'pattern':
      return { path, code: 'InvalidValue', message: `${PATTERN_MESSAGES[p.pattern] ?? `must match ${p.pattern}`}, not ${describe(value)}` };
    case 'format':
      return { path, code: 'InvalidValue', message: `must be an RFC 3339 date-time, not ${describe(value)}` };
    case 'oneOf': {
      const branches = (schemaAt(schema, path)?.oneOf ?? []).flatMap((b) => b.required ?? []);
      return { path, code: 'InvalidValue', message: `must set exactly one of ${branches.join(', ')}` };
    }
    default:
      return { path, code: 'InvalidValue', message: e.message ?? 'is invalid' };
  }
}

const CONTROLLER_METADATA = ['uid', 'generation', 'creationTimestamp', 'resourceVersion'];

/**
 * Validates one parsed document. On success `object` is a copy with every default applied
 * (status and controller-set metadata removed, with warnings).
 */
export function validateManifestObject(data: unknown): ValidateOutcome {
  const violations: Violation[] = [];
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, violations: [{ path: [], code: 'NotMapping', message: `a manifest document must be a mapping (an object with apiVersion, kind, metadata, spec), not ${describe(data)}` }] };
  }
  const obj = structuredClone(data) as Record<string, any>;
  if (obj.apiVersion === undefined) violations.push({ path: ['apiVersion'], at: 'parent', code: 'MissingField', message: `required field is missing (use ${API_VERSION})` });
  else if (obj.apiVersion !== API_VERSION) {
    const msg = typeof obj.apiVersion === 'string' && obj.apiVersion.startsWith(GROUP + '/')
      ? `version ${obj.apiVersion.slice(GROUP.length + 1)} is not served; use ${API_VERSION}`
      : `must be ${API_VERSION}, not ${describe(obj.apiVersion)}`;
    violations.push({ path: ['apiVersion'], code: 'BadAPIVersion', message: msg });
  }
  const known = [...kinds.keys()];
  if (obj.kind === undefined) violations.push({ path: ['kind'], at: 'parent', code: 'MissingField', message: `required field is missing (known kinds: ${known.join(', ')})` });
  const kind = typeof obj.kind === 'string' ? kinds.get(obj.kind) : undefined;
  if (obj.kind !== undefined && !kind) {
    violations.push({ path: ['kind'], code: 'UnknownKind', message: `unknown kind ${describe(obj.kind)} (known kinds: ${known.join(', ')})` });
  }
  if (!kind) return { ok: false, violations };

  if (obj.status !== undefined) {
    violations.push({ path: ['status'], at: 'key', code: 'StatusIgnored', severity: 'warning', message: 'status is written by the controller; ignored in manifests' });
    delete obj.status;
  }
  if (obj.metadata && typeof obj.metadata === 'object' && !Array.isArray(obj.metadata)) {
    for (const f of CONTROLLER_METADATA) {
      if (obj.metadata[f] === undefined) continue;
      violations.push({ path: ['metadata', f], at: 'key', code: 'FieldIgnored', severity: 'warning', message: 'set by the controller; ignored in manifests' });
      delete obj.metadata[f];
    }
  }

  const validate = validatorFor(kind.kind);
  if (!validate(obj)) {
    for (const e of validate.errors ?? []) {
      if (e.schemaPath.includes('/oneOf/')) continue; // the oneOf error itself says it all
      // apiVersion and kind were checked above, with better messages
      if (e.keyword === 'required' && e.instancePath === '' && ['apiVersion', 'kind'].includes((e.params as { missingProperty: string }).missingProperty)) continue;
      const v = ajvViolation(e, obj, kind.schema);
      if (v) violations.push(v);
    }
  }
  if (violations.some((v) => v.severity !== 'warning')) return { ok: false, kind, violations };

  kind.applyDefaults(obj);
  for (const r of kind.rules(obj)) violations.push({ path: r.path, code: r.code, message: r.message });
  if (violations.some((v) => v.severity !== 'warning')) return { ok: false, kind, violations };
  return { ok: true, kind, object: obj, violations };
}
