// The one source schema for kind Host (xenoform.dev/v1alpha1, cluster-scoped): a machine running
// `xenoform host --listen`, that the controller drives over TCP with a bearer token
// (../shared/DESIGN.md §2 "Processes", §6). ajv's validator, the printed CRD and the TypeScript
// types (host.types.ts) derive from or are checked against it, as for Domain.
import type { StructuralSchema } from './structural.ts';
import { CONDITION_STATUSES, MAX_MEMORY_MIB, objectSchema } from './domain.schema.ts';

/** Kubernetes' NodeReady condition statuses become a phase too (kubectl shows Ready/NotReady). */
export const HOST_PHASES = ['Ready', 'NotReady', 'Unknown'] as const;

/** The implicit Host of the host process `up` starts or finds; no manifest may declare it. */
export const LOCAL_HOST = 'local';

/**
 * HOST:PORT as `xenoform host --listen` takes it: a DNS name or IPv4 address, or an IPv6 address
 * in brackets, then a port (checked 1–65535 by the rules in host.ts).
 */
export const HOST_ADDRESS_PATTERN = '^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?|\\[[0-9A-Fa-f:.]+\\]):[0-9]{1,5}$';

const str = (description: string, extra: Partial<StructuralSchema> = {}): StructuralSchema => ({ type: 'string', description, ...extra });
const int = (description: string, minimum: number, maximum: number): StructuralSchema => ({ type: 'integer', description, minimum, maximum });

/** Host memory is not bounded by a guest's 64 GiB: a host may hold many guests (1 TiB here). */
const MAX_HOST_MEMORY_MIB = 1024 * 1024;

export const hostSpecSchema: StructuralSchema = {
  type: 'object',
  description: 'A host agent (`xenoform host --listen HOST:PORT --token-file F`) the controller places domains on.',
  required: ['address', 'tokenFile'],
  properties: {
    address: str('HOST:PORT of the host agent\'s TCP listener', { pattern: HOST_ADDRESS_PATTERN, maxLength: 261 }),
    tokenFile: str('file holding the agent\'s bearer token, relative to the manifest\'s directory', { minLength: 1, maxLength: 4096 }),
    capacity: {
      type: 'object',
      description: 'what the controller may place there; each field defaults to what the host reports',
      properties: {
        memoryMiB: int('memory for domains, MiB', 1, MAX_HOST_MEMORY_MIB),
        cpus: int('physical CPUs', 1, 4096),
      },
    },
  },
};

const hostCondition: StructuralSchema = {
  type: 'object',
  required: ['type', 'status'],
  properties: {
    type: str('condition type (Ready)', { maxLength: 316 }),
    status: str('True, False or Unknown', { enum: [...CONDITION_STATUSES] }),
    reason: str('CamelCase reason: Heartbeat, Unreachable, Unauthorized, …', { maxLength: 1024 }),
    message: str('human-readable detail', { maxLength: 32768 }),
    lastTransitionTime: { type: 'string', format: 'date-time', description: 'when status last changed' },
  },
};

export const hostStatusSchema: StructuralSchema = {
  type: 'object',
  description: 'Observed state, written by the controller only.',
  properties: {
    phase: str('Ready (heartbeats answer), NotReady (they fail), Unknown (none yet)', { enum: [...HOST_PHASES] }),
    conditions: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: hostCondition,
    },
    info: {
      type: 'object',
      description: 'what the host reported at its last heartbeat (xl info)',
      properties: {
        version: str('Xenoform version of the host agent'),
        xenVersion: str('Xen ABI version the hypervisor implements'),
        memoryTotalMiB: int('machine memory, MiB', 0, Number.MAX_SAFE_INTEGER),
        memoryFreeMiB: int('machine memory not reserved by domains, MiB', 0, Number.MAX_SAFE_INTEGER),
        pcpus: int('physical CPUs', 0, 1_000_000),
        domains: int('guest domains running (Domain-0 not counted)', 0, Number.MAX_SAFE_INTEGER),
      },
    },
    capacity: {
      type: 'object',
      description: 'what placement uses: spec.capacity, else what the host reports',
      properties: {
        memoryMiB: int('memory for domains, MiB', 0, Number.MAX_SAFE_INTEGER),
        cpus: int('physical CPUs', 0, 1_000_000),
      },
    },
    allocated: {
      type: 'object',
      description: 'what the controller placed there',
      properties: {
        memoryMiB: int('sum of the placed domains\' spec.memory, MiB', 0, Number.MAX_SAFE_INTEGER),
        domains: int('Domains placed there', 0, Number.MAX_SAFE_INTEGER),
      },
    },
    lastHeartbeat: { type: 'string', format: 'date-time', description: 'when the host last answered' },
  },
};

export const hostSchema = objectSchema('A host (hypervisor process) that the controller drives and places domains on.', hostSpecSchema, hostStatusSchema);

/** `kubectl get hosts` columns; priority 1 = only with -o wide. */
export const hostPrinterColumns = [
  { name: 'Address', type: 'string', jsonPath: '.spec.address' },
  { name: 'Status', type: 'string', jsonPath: '.status.phase' },
  { name: 'Domains', type: 'integer', jsonPath: '.status.info.domains' },
  { name: 'Allocated', type: 'integer', jsonPath: '.status.allocated.memoryMiB', description: 'MiB placed there' },
  { name: 'Capacity', type: 'integer', jsonPath: '.status.capacity.memoryMiB', description: 'MiB' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  { name: 'Xen', type: 'string', jsonPath: '.status.info.xenVersion', priority: 1 },
  { name: 'Free', type: 'integer', jsonPath: '.status.info.memoryFreeMiB', description: 'MiB the host reports free', priority: 1 },
  { name: 'Heartbeat', type: 'date', jsonPath: '.status.lastHeartbeat', priority: 1 },
] as const;

export { MAX_MEMORY_MIB };
