// A Domain's spec as the machine and the hypervisor need it: which fields a running domain can
// take live (memory through the balloon, cpuWeight/cpuCap through the scheduler — what Xen
// changes without a reboot: xl mem-set, xl sched-credit), which need a restart (everything the
// domain builder uses), and which are the controller's own policy (on_*, runStrategy,
// readiness, updateStrategy: they apply at once and touch nothing running).
import { createHash } from 'node:crypto';
import type { DefaultedDomainSpec } from '../../crds/index.ts';
import type { DesiredDomain } from '../machines/index.ts';

/** Fields a running domain cannot take without a restart (xl.cfg keys read at domain build). */
export const BOOT_FIELDS = ['kernel', 'ramdisk', 'cmdline', 'maxMemory', 'vcpus', 'maxVcpus', 'disks', 'interfaces', 'host'] as const;

/** JSON with sorted keys: equal values hash equally whatever order the YAML had. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export const hashOf = (v: unknown): string => createHash('sha256').update(canonical(v)).digest('hex').slice(0, 16);

/** The boot-relevant part of a spec, with the kernel as the resolved path actually used. */
export function bootFields(spec: DefaultedDomainSpec, kernelPath: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of BOOT_FIELDS) out[k] = (spec as unknown as Record<string, unknown>)[k];
  out.kernel = kernelPath;
  return out;
}

/** Names of the boot fields that differ between two bootFields() records. */
export function changedBootFields(a: Record<string, unknown> | undefined, b: Record<string, unknown>): string[] {
  if (!a) return [];
  return BOOT_FIELDS.filter((k) => canonical(a[k]) !== canonical(b[k])).map((k) => `spec.${k}`);
}

/**
 * What the host builds for this spec. Paths (kernel, disk images) are the resolved ones from the
 * manifest source, relative to the manifest's directory and inside the allowed roots.
 */
export function toDesired(name: string, spec: DefaultedDomainSpec, kernelPath: string, generation: number, files: Record<string, string> = {}): DesiredDomain {
  const disks = spec.disks?.map((d, k) => ({
    source: files[`spec.disks[${k}].source`] ?? d.source,
    target: d.target,
    mode: d.mode,
    ...(d.sizeMiB !== undefined ? { sizeMiB: d.sizeMiB } : {}),
  }));
  const interfaces = spec.interfaces?.map((n) => ({ mac: n.mac!, ...(n.ports ? { ports: n.ports } : {}) }));
  return {
    generation,
    bootHash: hashOf(bootFields(spec, kernelPath)),
    create: {
      name,
      kernel: kernelPath,
      memoryMiB: spec.memory,
      maxMemoryMiB: spec.maxMemory,
      vcpus: spec.vcpus,
      maxVcpus: spec.maxVcpus,
      ...(spec.cmdline !== undefined ? { cmdline: spec.cmdline } : {}),
      weight: spec.cpuWeight,
      cap: spec.cpuCap,
      ...(disks?.length ? { disks } : {}),
      ...(interfaces?.length ? { interfaces } : {}),
    },
    memoryMiB: spec.memory,
    cpuWeight: spec.cpuWeight,
    cpuCap: spec.cpuCap,
    runStrategy: spec.runStrategy,
    onPoweroff: spec.onPoweroff,
    onReboot: spec.onReboot,
    onCrash: spec.onCrash,
    onWatchdog: spec.onWatchdog,
    updateStrategy: spec.updateStrategy.type,
  };
}
