// Kind Domain: defaults that a static `default:` cannot express, and the cross-field rules
// that a structural schema cannot (or that Kubernetes would write as CEL
// x-kubernetes-validations).
import { createHash } from 'node:crypto';
import { applySchemaDefaults } from './structural.ts';
import { domainSchema } from './domain.schema.ts';
import type { DefaultedDomain, Domain } from './domain.types.ts';

/** Xen's OUI, the prefix xl gives generated MACs (xl-network-configuration(5)). */
export const XEN_OUI = '00:16:3e';

/**
 * The default MAC of a domain's interface: Xen's prefix plus three bytes of a hash of the domain
 * name and interface index, so a domain keeps its MAC across restarts, moves and controllers.
 * The top bit of the fourth byte is cleared, as libxl does for its random MACs, leaving the
 * upper half of the OUI's space to hand-written addresses.
 */
export function defaultMac(domainName: string, index: number): string {
  const h = createHash('sha256').update(`${domainName}/${index}`).digest();
  const bytes = [h[0]! & 0x7f, h[1]!, h[2]!];
  return `${XEN_OUI}:${bytes.map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

/**
 * Applies every default of a Domain, in place: the schema's `default:` values (as the API
 * server does), then the derived ones (maxMemory = memory, maxVcpus = vcpus, as xl does; MACs).
 * Call it only on an object that validated: it does not check types.
 */
export function applyDomainDefaults(obj: Domain): DefaultedDomain {
  applySchemaDefaults(domainSchema, obj);
  const spec = obj.spec;
  if (spec.maxMemory === undefined && typeof spec.memory === 'number') spec.maxMemory = spec.memory;
  if (spec.maxVcpus === undefined && typeof spec.vcpus === 'number') spec.maxVcpus = spec.vcpus;
  spec.interfaces?.forEach((nic, i) => {
    if (nic.mac === undefined) nic.mac = defaultMac(obj.metadata.name, i);
    else nic.mac = nic.mac.toLowerCase();
  });
  return obj as DefaultedDomain;
}

export interface RuleViolation {
  /** JSON path segments, e.g. ['spec', 'memory'] */
  path: (string | number)[];
  message: string;
  code: string;
}

/**
 * The rules across fields of one Domain, checked after the schema (on an object with
 * defaults applied). Rules across objects (duplicate names, host ports) live in the source.
 */
export function domainRules(obj: DefaultedDomain): RuleViolation[] {
  const out: RuleViolation[] = [];
  const s = obj.spec;
  if (s.memory > s.maxMemory) {
    out.push({ path: ['spec', 'memory'], code: 'MemoryAboveMax', message: `memory ${s.memory} MiB is more than maxMemory ${s.maxMemory} MiB` });
  }
  if (s.vcpus > s.maxVcpus) {
    out.push({ path: ['spec', 'vcpus'], code: 'VcpusAboveMax', message: `vcpus ${s.vcpus} is more than maxVcpus ${s.maxVcpus}` });
  }
  const targets = new Map<string, number>();
  s.disks?.forEach((d, i) => {
    const first = targets.get(d.target);
    if (first !== undefined) out.push({ path: ['spec', 'disks', i, 'target'], code: 'DuplicateDisk', message: `target ${d.target} is already used by spec.disks[${first}]` });
    else targets.set(d.target, i);
  });
  const macs = new Map<string, number>();
  s.interfaces?.forEach((nic, i) => {
    const first = macs.get(nic.mac);
    if (first !== undefined) out.push({ path: ['spec', 'interfaces', i, 'mac'], code: 'DuplicateMac', message: `mac ${nic.mac} is already used by spec.interfaces[${first}]` });
    else macs.set(nic.mac, i);
    const mac0 = parseInt(nic.mac.slice(0, 2), 16);
    if (mac0 & 1) out.push({ path: ['spec', 'interfaces', i, 'mac'], code: 'MulticastMac', message: `mac ${nic.mac} is a multicast address (low bit of the first byte set)` });
  });
  const hostPorts = new Map<number, string>();
  s.interfaces?.forEach((nic, i) => nic.ports?.forEach((p, j) => {
    const first = hostPorts.get(p.host);
    if (first !== undefined) out.push({ path: ['spec', 'interfaces', i, 'ports', j, 'host'], code: 'PortConflict', message: `host port ${p.host} is already used by ${first}` });
    else hostPorts.set(p.host, `spec.interfaces[${i}].ports[${j}]`);
  }));
  const pattern = s.readiness?.console?.pattern;
  if (pattern !== undefined) {
    try {
      new RegExp(pattern);
    } catch (e) {
      out.push({ path: ['spec', 'readiness', 'console', 'pattern'], code: 'InvalidPattern', message: `not a valid regular expression: ${(e as Error).message}` });
    }
  }
  const labelKey = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
  for (const key of Object.keys(obj.metadata.labels ?? {})) {
    const name = key.includes('/') ? key.slice(key.indexOf('/') + 1) : key;
    if (!labelKey.test(key) || name.length > 63 || key.length > 253 + 1 + 63) {
      out.push({ path: ['metadata', 'labels', key], code: 'InvalidLabelKey', message: `label key "${key}" is not a qualified name ([prefix/]name, name at most 63 characters of alphanumerics, '-', '_', '.')` });
    }
  }
  return out;
}
