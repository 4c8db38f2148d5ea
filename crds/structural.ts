// The structural OpenAPI v3 subset that Kubernetes CRDs accept, and the two things every kind
// derives from its one source schema: the ajv schema (unknown fields rejected, as
// `kubectl --validate=strict` does) and defaulting (as the API server applies `default:`).
//
// Structural rules (kubernetes.io, "Specifying a structural schema"): every node has a `type`
// (unless x-kubernetes-int-or-string / preserve-unknown-fields); no $ref, definitions,
// patternProperties, uniqueItems:true or additionalProperties:false; inside allOf/anyOf/oneOf/not
// only value validations (no type, default, description…), and every field they name is also
// declared outside them. `checkStructural` enforces the parts we rely on, in a unit test.

export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface StructuralSchema {
  type?: JsonType;
  description?: string;
  properties?: Record<string, StructuralSchema>;
  /** a schema for map values (labels); `false` is not structural and never appears */
  additionalProperties?: StructuralSchema;
  required?: string[];
  items?: StructuralSchema;
  enum?: (string | number)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  pattern?: string;
  format?: 'date-time';
  nullable?: boolean;
  oneOf?: StructuralSchema[];
  anyOf?: StructuralSchema[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

type AjvNode = Record<string, unknown>;

/**
 * The ajv (draft-07) schema for a structural schema: every object that lists `properties`
 * and gives no `additionalProperties` schema rejects fields it does not list, and the
 * `x-kubernetes-*` annotations (meaningless to ajv, refused by its strict mode) are dropped.
 *
 * Why draft-07 and not 2020-12: the OpenAPI 3.0 Schema Object is a dialect of JSON Schema
 * draft-05 (Wright-00); in the keywords a structural schema may use, draft-07 has the same
 * meaning (`items` as one schema, `required` as a list), whereas 2020-12 renames and changes
 * keywords we would then have to translate. Ajv's draft-07 class also knows `nullable`.
 */
export function toAjvSchema(s: StructuralSchema): AjvNode {
  const out: AjvNode = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-kubernetes-')) continue;
    if (k === 'properties') {
      const props: AjvNode = {};
      for (const [name, sub] of Object.entries(v as Record<string, StructuralSchema>)) props[name] = toAjvSchema(sub);
      out.properties = props;
    } else if (k === 'items' || k === 'additionalProperties') {
      out[k] = toAjvSchema(v as StructuralSchema);
    } else if (k === 'oneOf' || k === 'anyOf') {
      out[k] = (v as StructuralSchema[]).map(toAjvSchema);
    } else {
      out[k] = v;
    }
  }
  if (s.properties && s.additionalProperties === undefined && !s['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  return out;
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Applies `default:` values as the Kubernetes API server does: a field that is absent gets its
 * default; defaulting then recurses into objects that exist (given or defaulted) and into every
 * array item. Mutates and returns `value`. Values of the wrong type are left for validation.
 */
export function applySchemaDefaults<T>(schema: StructuralSchema, target: T): T {
  const value: unknown = target;
  if (schema.type === 'object' && isPlainObject(value)) {
    if (schema.properties) {
      for (const [name, sub] of Object.entries(schema.properties)) {
        if (value[name] === undefined && sub.default !== undefined) value[name] = clone(sub.default);
        if (value[name] !== undefined) applySchemaDefaults(sub, value[name]);
      }
    } else if (schema.additionalProperties) {
      for (const v of Object.values(value)) applySchemaDefaults(schema.additionalProperties, v);
    }
  } else if (schema.type === 'array' && Array.isArray(value) && schema.items) {
    for (const item of value) applySchemaDefaults(schema.items, item);
  }
  return target;
}

const FORBIDDEN_KEYS = ['$ref', 'definitions', '$defs', 'patternProperties', 'dependencies', 'if', 'then', 'else', 'const', 'propertyNames', 'exclusiveMinimum', 'exclusiveMaximum'];
const JUNCTOR_FORBIDDEN = ['type', 'description', 'default', 'additionalProperties', 'nullable', 'format'];

/** Lists the ways `s` is not a structural schema (empty = structural). */
export function checkStructural(s: StructuralSchema, path = '', inJunctor = false): string[] {
  const problems: string[] = [];
  const node = s as Record<string, unknown>;
  for (const k of FORBIDDEN_KEYS) if (k in node) problems.push(`${path || '/'}: ${k} is not allowed`);
  if ((node.additionalProperties as unknown) === false) problems.push(`${path}: additionalProperties:false is not allowed`);
  if ((node.uniqueItems as unknown) === true) problems.push(`${path}: uniqueItems:true is not allowed`);
  if (inJunctor) {
    for (const k of JUNCTOR_FORBIDDEN) if (k in node) problems.push(`${path}: ${k} is not allowed inside oneOf/anyOf`);
  } else if (!s.type && !s['x-kubernetes-preserve-unknown-fields']) {
    problems.push(`${path || '/'}: type is required`);
  }
  if (s.properties && s.additionalProperties) problems.push(`${path}: properties and additionalProperties are exclusive`);
  for (const [name, sub] of Object.entries(s.properties ?? {})) problems.push(...checkStructural(sub, `${path}.${name}`, inJunctor));
  if (s.items) problems.push(...checkStructural(s.items, `${path}[]`, inJunctor));
  if (s.additionalProperties) problems.push(...checkStructural(s.additionalProperties, `${path}{}`, inJunctor));
  for (const key of ['oneOf', 'anyOf'] as const) {
    for (const [i, branch] of (s[key] ?? []).entries()) {
      problems.push(...checkStructural(branch, `${path}.${key}[${i}]`, true));
      // every field a junctor names must also be declared outside it
      for (const f of [...(branch.required ?? []), ...Object.keys(branch.properties ?? {})]) {
        if (!s.properties?.[f]) problems.push(`${path}.${key}[${i}]: field ${f} is not declared outside the junctor`);
      }
    }
  }
  if (s.type === 'array' && !s.items) problems.push(`${path}: arrays need items`);
  if (s['x-kubernetes-list-type'] === 'map') {
    for (const k of s['x-kubernetes-list-map-keys'] ?? []) {
      if (!s.items?.required?.includes(k)) problems.push(`${path}: list-map key ${k} must be required`);
    }
  }
  if (s.default !== undefined && !inJunctor && s.type === 'object' && !isPlainObject(s.default)) {
    problems.push(`${path}: default must be an object`);
  }
  return problems;
}
