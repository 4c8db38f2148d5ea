// TypeScript types for kind Host, written by hand to match host.schema.ts; host.test.ts checks
// that a full sample of these types validates and covers every schema field.
import type { Condition, ObjectMeta } from './domain.types.ts';
import type { HOST_PHASES } from './host.schema.ts';

export type HostPhase = (typeof HOST_PHASES)[number];

export interface HostSpec {
  /** HOST:PORT of `xenoform host --listen`; absent only for the implicit `local` host */
  address?: string;
  /** the token's file, relative to the manifest; absent only for `local` */
  tokenFile?: string;
  capacity?: { memoryMiB?: number; cpus?: number };
}

export interface HostStatus {
  phase?: HostPhase;
  conditions?: Omit<Condition, 'observedGeneration'>[];
  info?: { version?: string; xenVersion?: string; memoryTotalMiB?: number; memoryFreeMiB?: number; pcpus?: number; domains?: number };
  capacity?: { memoryMiB?: number; cpus?: number };
  allocated?: { memoryMiB?: number; domains?: number };
  lastHeartbeat?: string;
}

export interface Host {
  apiVersion: 'xenoform.dev/v1alpha1';
  kind: 'Host';
  metadata: ObjectMeta;
  spec: HostSpec;
  status?: HostStatus;
}

export interface HostList {
  apiVersion: 'xenoform.dev/v1alpha1';
  kind: 'HostList';
  items: Host[];
}
