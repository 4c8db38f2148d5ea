// TypeScript types for kind Domain, written by hand to match domain.schema.ts; the unit test
// domain.test.ts checks that a full sample object of these types validates against the schema,
// and that every schema property appears in the sample (so the two cannot drift apart silently).
import type { DOMAIN_PHASES, RUN_STRATEGIES, SHUTDOWN_ACTIONS, UPDATE_STRATEGIES, CONDITION_STATUSES, SHUTDOWN_REASONS } from './domain.schema.ts';

export type ShutdownAction = (typeof SHUTDOWN_ACTIONS)[number];
export type RunStrategy = (typeof RUN_STRATEGIES)[number];
export type UpdateStrategyType = (typeof UPDATE_STRATEGIES)[number];
export type DomainPhase = (typeof DOMAIN_PHASES)[number];
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];
export type ShutdownReason = (typeof SHUTDOWN_REASONS)[number];
export type DiskMode = 'rw' | 'ro';

export interface ObjectMeta {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** set by the controller */
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  resourceVersion?: string;
}

export interface PortMapping {
  /** TCP port on 127.0.0.1 */
  host: number;
  /** guest TCP port */
  guest: number;
}

export interface DomainDisk {
  source: string;
  /** xvd[a-z]+ */
  target: string;
  mode?: DiskMode;
  sizeMiB?: number;
}

export interface DomainInterface {
  mac?: string;
  ports?: PortMapping[];
}

export interface ProbeTiming {
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

/** Exactly one of xenstore, console, tcp, http. */
export interface Readiness extends ProbeTiming {
  xenstore?: { path: string; value?: string };
  console?: { pattern: string };
  tcp?: { port: number };
  http?: { port: number; path?: string };
}

export interface UpdateStrategy {
  type?: UpdateStrategyType;
}

export interface DomainSpec {
  kernel: string;
  ramdisk?: string;
  cmdline?: string;
  /** MiB */
  memory?: number;
  /** MiB */
  maxMemory?: number;
  vcpus?: number;
  maxVcpus?: number;
  cpuWeight?: number;
  cpuCap?: number;
  disks?: DomainDisk[];
  interfaces?: DomainInterface[];
  onPoweroff?: ShutdownAction;
  onReboot?: ShutdownAction;
  onCrash?: ShutdownAction;
  onWatchdog?: ShutdownAction;
  runStrategy?: RunStrategy;
  readiness?: Readiness;
  updateStrategy?: UpdateStrategy;
  host?: string;
}

/** A spec after applyDomainDefaults: every defaulted field is present. */
export interface DefaultedDomainSpec extends DomainSpec {
  memory: number;
  maxMemory: number;
  vcpus: number;
  maxVcpus: number;
  cpuWeight: number;
  cpuCap: number;
  onPoweroff: ShutdownAction;
  onReboot: ShutdownAction;
  onCrash: ShutdownAction;
  onWatchdog: ShutdownAction;
  runStrategy: RunStrategy;
  updateStrategy: { type: UpdateStrategyType };
  disks?: (DomainDisk & { mode: DiskMode })[];
  interfaces?: (DomainInterface & { mac: string })[];
}

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export interface DomainStatus {
  phase?: DomainPhase;
  domid?: number;
  /** six xl letters, e.g. -b---- */
  state?: string;
  host?: string;
  conditions?: Condition[];
  observedGeneration?: number;
  restarts?: number;
  startedAt?: string;
  kernel?: string;
  lastShutdownReason?: ShutdownReason;
  intent?: string;
  startFailure?: { consecutiveFailCount?: number; retryAfterTimestamp?: string };
  interfaces?: { mac?: string; ports?: PortMapping[] }[];
  disks?: { target?: string; source?: string; mode?: DiskMode; sizeMiB?: number }[];
  migrationState?: MigrationState;
}

/** KubeVirt's status.migrationState, with the pre-copy's progress. */
export interface MigrationState {
  phase: 'Running' | 'Succeeded' | 'Failed';
  sourceHost: string;
  targetHost: string;
  startTimestamp: string;
  endTimestamp?: string;
  stage?: 'reserving' | 'precopy' | 'stopcopy' | 'activating';
  round?: number;
  pagesSent?: number;
  pagesDirty?: number;
  dirtyRatePps?: number;
  downtimeMs?: number;
  totalMs?: number;
  failureReason?: string;
  disks?: 'none' | 'shared' | 'copied';
}

export interface Domain {
  apiVersion: 'xenoform.dev/v1alpha1';
  kind: 'Domain';
  metadata: ObjectMeta;
  spec: DomainSpec;
  status?: DomainStatus;
}

export interface DefaultedDomain extends Domain {
  spec: DefaultedDomainSpec;
}

export interface DomainList {
  apiVersion: 'xenoform.dev/v1alpha1';
  kind: 'DomainList';
  items: Domain[];
}
