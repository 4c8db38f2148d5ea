// The one source schema for kind Domain (xenoform.dev/v1alpha1, cluster-scoped): ajv's
// validator, the printed CRD and the defaults all derive from it (../shared/DESIGN.md §3).
// Field names follow xl.cfg in Kubernetes dress; numbers cite where their bounds come from.
import type { StructuralSchema } from './structural.ts';

export const GROUP = 'xenoform.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** DNS-1123 label (Kubernetes validation.IsDNS1123Label): at most 63 characters. */
export const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** A Kubernetes label value (validation.IsValidLabelValue), at most 63 characters. */
export const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
/** A MAC address as xl writes it (colon-separated hex pairs). */
export const MAC_PATTERN = '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$';
/** xvd[a-z]+: the PV block device names (docs/man/xen-vbd-interface.7.pandoc). */
export const VDEV_PATTERN = '^xvd[a-z]+$';
/** xl list's six state letters: r b p s, the shutdown reason from "-rscwS", d (xl_info.c). */
export const STATE_PATTERN = '^[r-][b-][p-][s-][-rscwS][d-]$';

/** xl's on_* actions (xl.cfg(5)); soft-reset is left out: Xenoform has no soft reset. */
export const SHUTDOWN_ACTIONS = ['destroy', 'restart', 'rename-restart', 'preserve', 'coredump-destroy', 'coredump-restart'] as const;
/** KubeVirt's run strategies (user-guide compute/run_strategies.md). */
export const RUN_STRATEGIES = ['Always', 'RerunOnFailure', 'Once', 'Manual', 'Halted'] as const;
export const UPDATE_STRATEGIES = ['Restart', 'PatchAndSwap'] as const;
export const DOMAIN_PHASES = [
  'Pending', 'Starting', 'Running', 'Paused', 'Stopping', 'Stopped', 'Crashed',
  'CrashLoopBackOff', 'Migrating', 'Patching', 'Failed',
] as const;
export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;
export const SHUTDOWN_REASONS = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'] as const;

/** A 32-bit PAE guest addresses at most 64 GiB (36-bit physical addresses, Intel SDM 4.4). */
export const MAX_MEMORY_MIB = 65536;
/** shared_info holds vcpu_info for XEN_LEGACY_MAX_VCPUS = 32 vCPUs (public/xen.h). */
export const MAX_VCPUS = 32;
/** MAX_GUEST_CMDLINE (public/xen.h): start_info.cmd_line is 1024 bytes. */
export const MAX_CMDLINE = 1024;

const str = (description: string, extra: Partial<StructuralSchema> = {}): StructuralSchema => ({ type: 'string', description, ...extra });
const int = (description: string, minimum: number, maximum: number, extra: Partial<StructuralSchema> = {}): StructuralSchema =>
  ({ type: 'integer', description, minimum, maximum, ...extra });
const action = (what: string, dflt: string): StructuralSchema =>
  ({ type: 'string', description: `xl's on_${what}: what to do when the guest ${what === 'poweroff' ? 'powers off' : what === 'reboot' ? 'asks to reboot' : what === 'crash' ? 'crashes' : 'is killed by its watchdog'}`, enum: [...SHUTDOWN_ACTIONS], default: dflt });
const port = (description: string) => int(description, 1, 65535);
const dateTime = (description: string): StructuralSchema => ({ type: 'string', format: 'date-time', description });

const portMapping: StructuralSchema = {
  type: 'object',
  required: ['host', 'guest'],
  properties: {
    host: port('TCP port on 127.0.0.1 that the controller\'s gateway listens on'),
    guest: port('TCP port of the guest that connections are forwarded to'),
  },
};

const probeTiming: Record<string, StructuralSchema> = {
  // Kubernetes probe fields; periodSeconds defaults to 1 (not 10) because emulated PV guests
  // boot in milliseconds and a 10 s period would dominate time-to-Ready.
  initialDelaySeconds: int('seconds after start before the first check', 0, 3600, { default: 0 }),
  periodSeconds: int('seconds between checks (tcp, http)', 1, 3600, { default: 1 }),
  timeoutSeconds: int('seconds before one check counts as failed', 1, 3600, { default: 1 }),
  successThreshold: int('consecutive successes to become Ready', 1, 1000, { default: 1 }),
  failureThreshold: int('consecutive failures to become not Ready', 1, 1000, { default: 3 }),
};

export const domainSpecSchema: StructuralSchema = {
  type: 'object',
  description: 'Desired state of a Xen PV domain (xl.cfg in Kubernetes dress).',
  required: ['kernel'],
  properties: {
    kernel: str('PV kernel image (ELF), relative to the manifest\'s directory', { minLength: 1, maxLength: 4096 }),
    ramdisk: str('initial ramdisk image, relative to the manifest\'s directory', { minLength: 1, maxLength: 4096 }),
    cmdline: str('kernel command line', { maxLength: MAX_CMDLINE - 1 }),
    memory: int('memory at boot, MiB (xl memory; libxl\'s default is 32)', 1, MAX_MEMORY_MIB, { default: 32 }),
    maxMemory: int('maximum memory the balloon may grow to, MiB (xl maxmem; defaults to memory)', 1, MAX_MEMORY_MIB),
    vcpus: int('vCPUs online at boot (xl vcpus)', 1, MAX_VCPUS, { default: 1 }),
    maxVcpus: int('maximum vCPUs (xl maxvcpus; defaults to vcpus)', 1, MAX_VCPUS),
    cpuWeight: int('credit scheduler weight (xl cpu_weight)', 1, 65535, { default: 256 }),
    cpuCap: int('credit scheduler cap in percent of one physical CPU, 0 = none (xl cap)', 0, 100 * MAX_VCPUS, { default: 0 }),
    disks: {
      type: 'array',
      description: 'virtual block devices',
      maxItems: 26,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['target'],
      items: {
        type: 'object',
        required: ['source', 'target'],
        properties: {
          source: str('disk image file, relative to the manifest\'s directory', { minLength: 1, maxLength: 4096 }),
          target: str('virtual device as the guest sees it (xl vdev), e.g. xvda', { pattern: VDEV_PATTERN, maxLength: 8 }),
          mode: str('rw or ro (xl access)', { enum: ['rw', 'ro'], default: 'rw' }),
          sizeMiB: int('size of the image to create when source does not exist, MiB', 1, 1048576),
        },
      },
    },
    interfaces: {
      type: 'array',
      description: 'virtual network interfaces (xl vif)',
      maxItems: 8,
      items: {
        type: 'object',
        properties: {
          mac: str('MAC address; defaults to 00:16:3e (Xen\'s prefix) plus a hash of the domain name', { pattern: MAC_PATTERN }),
          ports: {
            type: 'array',
            description: 'host ports forwarded to guest ports',
            maxItems: 64,
            items: portMapping,
          },
        },
      },
    },
    onPoweroff: action('poweroff', 'destroy'),
    onReboot: action('reboot', 'restart'),
    onCrash: action('crash', 'destroy'),
    onWatchdog: action('watchdog', 'destroy'),
    runStrategy: str('whether the domain is started again once it is gone (KubeVirt\'s run strategies)', { enum: [...RUN_STRATEGIES], default: 'Always' }),
    readiness: {
      type: 'object',
      description: 'when the domain counts as Ready; without it, Ready = running. Exactly one of xenstore, console, tcp, http.',
      properties: {
        xenstore: {
          type: 'object',
          description: 'Ready when the guest writes this key (relative to its /local/domain/<domid>), with this value if given',
          required: ['path'],
          properties: {
            path: str('xenstore path', { minLength: 1, maxLength: 3072, pattern: '^[A-Za-z0-9_@/-]+$' }),
            value: str('expected value', { maxLength: 4096 }),
          },
        },
        console: {
          type: 'object',
          description: 'Ready when a console line matches this regular expression',
          required: ['pattern'],
          properties: { pattern: str('JavaScript regular expression', { minLength: 1, maxLength: 1024 }) },
        },
        tcp: {
          type: 'object',
          description: 'Ready when a TCP connection to this guest port succeeds',
          required: ['port'],
          properties: { port: port('guest TCP port') },
        },
        http: {
          type: 'object',
          description: 'Ready when GET on this guest port and path answers 2xx or 3xx',
          required: ['port'],
          properties: {
            port: port('guest TCP port'),
            path: str('request path', { default: '/', pattern: '^/', maxLength: 2048 }),
          },
        },
        ...probeTiming,
      },
      oneOf: [{ required: ['xenstore'] }, { required: ['console'] }, { required: ['tcp'] }, { required: ['http'] }],
    },
    updateStrategy: {
      type: 'object',
      description: 'how changes that cannot be applied live are rolled out',
      default: { type: 'Restart' },
      properties: {
        type: str('Restart: stop and start with the new spec; PatchAndSwap: boot a patched standby and fail over', { enum: [...UPDATE_STRATEGIES], default: 'Restart' }),
      },
    },
    host: str('the Host to run on (a Host\'s name)', { pattern: DNS1123_LABEL, maxLength: 63 }),
  },
};

const condition: StructuralSchema = {
  type: 'object',
  required: ['type', 'status'],
  properties: {
    type: str('condition type, PascalCase (Ready, InvalidSpec, RestartRequired, …)', { maxLength: 316 }),
    status: str('True, False or Unknown', { enum: [...CONDITION_STATUSES] }),
    reason: str('CamelCase reason for the last transition', { maxLength: 1024 }),
    message: str('human-readable detail', { maxLength: 32768 }),
    lastTransitionTime: dateTime('when status last changed'),
    observedGeneration: int('metadata.generation this condition was computed from', 0, Number.MAX_SAFE_INTEGER),
  },
};

export const domainStatusSchema: StructuralSchema = {
  type: 'object',
  description: 'Observed state, written by the controller only.',
  properties: {
    phase: str('lifecycle phase', { enum: [...DOMAIN_PHASES] }),
    domid: int('Xen domain id', 0, 0x7fef), // DOMID_FIRST_RESERVED - 1 (public/xen.h)
    state: str('xl list state letters, e.g. -b----', { pattern: STATE_PATTERN }),
    host: str('the Host running the domain'),
    conditions: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: condition,
    },
    observedGeneration: int('metadata.generation the status reflects', 0, Number.MAX_SAFE_INTEGER),
    restarts: int('times the controller started the domain again', 0, Number.MAX_SAFE_INTEGER),
    startedAt: dateTime('when the running domain was created'),
    kernel: str('the kernel image actually running (absolute path)'),
    lastShutdownReason: str('why the domain last shut down', { enum: [...SHUTDOWN_REASONS] }),
    intent: str('an imperative request in force (paused, stopped, …), recorded by the CLI'),
    startFailure: {
      type: 'object',
      description: 'crash-loop backoff (KubeVirt\'s status.startFailure)',
      properties: {
        consecutiveFailCount: int('failures in a row', 0, Number.MAX_SAFE_INTEGER),
        retryAfterTimestamp: dateTime('when the next start is allowed'),
      },
    },
    migrationState: {
      type: 'object',
      description: 'the last live migration (KubeVirt\'s status.migrationState): progress while it runs, then its outcome',
      properties: {
        phase: str('Running, Succeeded or Failed', { enum: ['Running', 'Succeeded', 'Failed'] }),
        sourceHost: str('the Host it left'),
        targetHost: str('the Host it went to'),
        startTimestamp: dateTime('when it started'),
        endTimestamp: dateTime('when it ended'),
        stage: str('reserving, precopy, stopcopy or activating', { enum: ['reserving', 'precopy', 'stopcopy', 'activating'] }),
        round: int('pre-copy round', 0, Number.MAX_SAFE_INTEGER),
        pagesSent: int('pages sent so far', 0, Number.MAX_SAFE_INTEGER),
        pagesDirty: int('pages dirtied during the last round', 0, Number.MAX_SAFE_INTEGER),
        dirtyRatePps: int('pages dirtied per second during the last round', 0, Number.MAX_SAFE_INTEGER),
        downtimeMs: { type: 'number', description: 'the window in which the guest ran nowhere, ms', minimum: 0 },
        totalMs: { type: 'number', description: 'the whole migration, ms', minimum: 0 },
        failureReason: str('why it failed'),
        disks: str('how the disks moved: none, shared (the same image), copied (block migration)', { enum: ['none', 'shared', 'copied'] }),
      },
    },
    interfaces: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          mac: str('MAC address in use'),
          ports: { type: 'array', items: portMapping },
        },
      },
    },
    disks: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          target: str('virtual device'),
          source: str('image file (absolute path)'),
          mode: str('rw or ro', { enum: ['rw', 'ro'] }),
          sizeMiB: int('image size, MiB', 0, Number.MAX_SAFE_INTEGER),
        },
      },
    },
  },
};

export const metadataSchema: StructuralSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: str('DNS-1123 label', { pattern: DNS1123_LABEL, minLength: 1, maxLength: 63 }),
    labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 63, pattern: LABEL_VALUE } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    // Set by the controller; accepted so that `get -o yaml` output validates, ignored in manifests.
    uid: str('unique id, set by the controller'),
    generation: int('spec generation, set by the controller', 0, Number.MAX_SAFE_INTEGER),
    creationTimestamp: dateTime('set by the controller'),
    resourceVersion: str('set by the controller'),
  },
};

/** A kind's whole object: apiVersion, kind, the shared metadata, its spec and status. */
export function objectSchema(description: string, spec: StructuralSchema, status: StructuralSchema): StructuralSchema {
  return {
    type: 'object',
    description,
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: metadataSchema, spec, status },
  };
}

export const domainSchema = objectSchema('A Xen PV domain (virtual machine) that the controller keeps as declared.', domainSpecSchema, domainStatusSchema);

/** `kubectl get` columns; priority 1 = only with -o wide. */
export const domainPrinterColumns = [
  { name: 'Status', type: 'string', jsonPath: '.status.phase' },
  { name: 'Domid', type: 'integer', jsonPath: '.status.domid' },
  { name: 'State', type: 'string', jsonPath: '.status.state' },
  { name: 'Memory', type: 'integer', jsonPath: '.spec.memory', description: 'MiB' },
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  { name: 'Host', type: 'string', jsonPath: '.status.host', priority: 1 },
  { name: 'Kernel', type: 'string', jsonPath: '.spec.kernel', priority: 1 },
  { name: 'Ports', type: 'string', jsonPath: '.spec.interfaces[*].ports[*].host', priority: 1 },
] as const;
