// Human output for the managing verbs: tables like `kubectl get` (the CRD's printer columns,
// NAME first, blank for unknown, ages as kubectl's HumanDuration), `xl list`'s columns, and a
// `kubectl describe`-like page.
import { stringify } from 'yaml';
import type { Condition, Domain, DomainList, DomainStatus, Host, HostList } from '../../crds/index.ts';
import type { DomainRow } from '../hypervisor.ts';
import type { ObjectEvent } from '../store/index.ts';

/** kubectl's duration.HumanDuration, shortened as `kubectl get` shows ages. */
export function age(from: string | undefined, now = Date.now()): string {
  if (!from) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(from)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return `${d}d${h % 24 ? `${h % 24}h` : ''}`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

/** Columns padded as kubectl's tabwriter does (3 spaces between). */
export function table(header: string[], rows: string[][], minWidths: number[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, minWidths[i] ?? 0, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const cond = (d: Domain, type: string): Condition | undefined => d.status?.conditions?.find((c) => c.type === type);

export const DOMAIN_HEADER = ['NAME', 'STATUS', 'DOMID', 'STATE', 'MEMORY', 'READY', 'AGE'];
export const DOMAIN_HEADER_WIDE = [...DOMAIN_HEADER, 'RESTARTS', 'HOST', 'KERNEL', 'PORTS'];

export function domainRow(d: Domain, wide: boolean, now = Date.now()): string[] {
  const s = d.status ?? {};
  const row = [
    d.metadata.name,
    s.phase ?? 'Pending',
    s.domid !== undefined ? String(s.domid) : '',
    s.state ?? '',
    d.spec.memory !== undefined ? String(d.spec.memory) : '',
    cond(d, 'Ready')?.status ?? 'Unknown',
    age(d.metadata.creationTimestamp, now),
  ];
  if (!wide) return row;
  const ports = (d.spec.interfaces ?? []).flatMap((n) => (n.ports ?? []).map((p) => `${p.host}->${p.guest}`)).join(',');
  return [...row, String(s.restarts ?? 0), s.host ?? '', d.spec.kernel, ports];
}

export function domainsTable(items: Domain[], wide: boolean): string {
  if (items.length === 0) return 'No resources found.';
  return table(wide ? DOMAIN_HEADER_WIDE : DOMAIN_HEADER, items.map((d) => domainRow(d, wide)));
}

export const HOST_HEADER = ['NAME', 'ADDRESS', 'STATUS', 'DOMAINS', 'MEMORY', 'AGE'];
export const HOST_HEADER_WIDE = [...HOST_HEADER, 'XEN', 'FREE', 'CPUS', 'HEARTBEAT', 'REASON'];

/** A Host's row: MEMORY is what placement counts, allocated/capacity in MiB. */
export function hostRow(h: Host, wide: boolean, now = Date.now()): string[] {
  const s = h.status ?? {};
  const ready = s.conditions?.find((c) => c.type === 'Ready');
  const row = [
    h.metadata.name,
    h.spec.address ?? '<local>',
    s.phase ?? 'Unknown',
    s.info?.domains !== undefined ? String(s.info.domains) : '',
    `${s.allocated?.memoryMiB ?? 0}/${s.capacity?.memoryMiB ?? '?'}Mi`,
    age(h.metadata.creationTimestamp, now),
  ];
  if (!wide) return row;
  return [...row, s.info?.xenVersion ?? '', s.info?.memoryFreeMiB !== undefined ? `${s.info.memoryFreeMiB}Mi` : '', String(s.capacity?.cpus ?? ''), s.lastHeartbeat ? `${age(s.lastHeartbeat, now)} ago` : '<never>', ready?.status === 'True' ? '' : (ready?.reason ?? '')];
}

export function hostsTable(items: Host[], wide: boolean): string {
  if (items.length === 0) return 'No resources found.';
  return table(wide ? HOST_HEADER_WIDE : HOST_HEADER, items.map((h) => hostRow(h, wide)));
}

/** `kubectl describe node`-like: address, capacity, allocation, what the host reports, conditions. */
export function describeHost(h: Host, domains: Domain[], now = Date.now()): string {
  const s = h.status ?? {};
  const kv = (k: string, v: unknown) => `${(k + ':').padEnd(22)}${v === undefined || v === '' ? '<none>' : String(v)}`;
  const placed = domains.filter((d) => d.status?.host === h.metadata.name);
  return [
    kv('Name', h.metadata.name),
    kv('Address', h.spec.address ?? '<local: the host `up` started or found>'),
    kv('Token File', h.spec.tokenFile),
    kv('Creation Timestamp', h.metadata.creationTimestamp),
    kv('Phase', s.phase),
    kv('Last Heartbeat', s.lastHeartbeat ? `${s.lastHeartbeat} (${age(s.lastHeartbeat, now)} ago)` : '<never>'),
    'Capacity:',
    `  ${kv('Memory', s.capacity?.memoryMiB !== undefined ? `${s.capacity.memoryMiB} MiB${h.spec.capacity?.memoryMiB === undefined ? ' (reported by the host)' : ''}` : undefined)}`,
    `  ${kv('CPUs', s.capacity?.cpus)}`,
    'Allocated:',
    `  ${kv('Memory', `${s.allocated?.memoryMiB ?? 0} MiB`)}`,
    `  ${kv('Domains', s.allocated?.domains ?? 0)}`,
    'Host Info:',
    `  ${kv('Xen Version', s.info?.xenVersion)}`,
    `  ${kv('Xenoform Version', s.info?.version)}`,
    `  ${kv('Memory Total', s.info?.memoryTotalMiB !== undefined ? `${s.info.memoryTotalMiB} MiB` : undefined)}`,
    `  ${kv('Memory Free', s.info?.memoryFreeMiB !== undefined ? `${s.info.memoryFreeMiB} MiB` : undefined)}`,
    `  ${kv('Physical CPUs', s.info?.pcpus)}`,
    `  ${kv('Domains Running', s.info?.domains)}`,
    'Conditions:',
    (s.conditions?.length
      ? table(['  Type', 'Status', 'Reason', 'Last Transition', 'Message'], s.conditions.map((c) => [`  ${c.type}`, c.status, c.reason ?? '', age(c.lastTransitionTime, now), c.message ?? '']))
      : '  <none>'),
    'Domains:',
    placed.length ? table(['  Name', 'Status', 'Domid', 'Memory'], placed.map((d) => [`  ${d.metadata.name}`, d.status?.phase ?? '', d.status?.domid !== undefined ? String(d.status.domid) : '', String(d.spec.memory ?? '')])) : '  <none>',
  ].join('\n');
}

export function formatObject(v: Domain | DomainList | Host | HostList, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(v, null, 2) : stringify(v, { lineWidth: 0 }).trimEnd();
}

/**
 * `xl list` (tools/xl/xl_list.c: "%-40s %5d %5lu %5d     %s %8.1f"). With rows of more than one
 * host, a HOST column comes first (each host has its own Domain-0 and domid space); with one
 * host, xl's columns exactly.
 */
export function xlList(rows: (DomainRow & { host?: string })[], withHost = new Set(rows.map((r) => r.host ?? '')).size > 1): string {
  const multi = withHost;
  const hw = multi ? Math.max(4, ...rows.map((r) => (r.host ?? '').length)) + 1 : 0;
  const pre = (h: string) => (multi ? h.padEnd(hw) : '');
  const head = `${pre('Host')}${'Name'.padEnd(40)}${'ID'.padStart(6)}${'Mem'.padStart(6)} VCPUs\tState\tTime(s)`;
  return [head, ...rows.map((r) => `${pre(r.host ?? '')}${r.name.padEnd(40)} ${String(r.id).padStart(5)} ${String(r.memoryMiB).padStart(5)} ${String(r.vcpus).padStart(5)}     ${r.state} ${r.cpuTimeS.toFixed(1).padStart(8)}`)].join('\n');
}

export const EVENT_HEADER = ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'];

export function eventRow(e: ObjectEvent, now = Date.now()): string[] {
  return [age(e.lastTimestamp, now) + (e.count > 1 ? ` (x${e.count})` : ''), e.type, e.reason, `${e.kind.toLowerCase()}/${e.name}`, e.message];
}

/** `kubectl describe`: the object's fields, conditions and recent events. */
export function describeDomain(d: Domain, events: ObjectEvent[], now = Date.now()): string {
  const s = d.status ?? {};
  const m = d.metadata;
  const kv = (k: string, v: unknown) => `${(k + ':').padEnd(22)}${v === undefined || v === '' ? '<none>' : String(v)}`;
  const map = (o: Record<string, string> | undefined) => (o && Object.keys(o).length ? Object.entries(o).map(([k, v]) => `${k}=${v}`).join('\n' + ' '.repeat(22)) : '<none>');
  const lines = [
    kv('Name', m.name),
    kv('Labels', map(m.labels)),
    kv('Annotations', map(m.annotations)),
    kv('API Version', d.apiVersion),
    kv('Kind', d.kind),
    kv('UID', m.uid),
    kv('Generation', m.generation),
    kv('Creation Timestamp', m.creationTimestamp),
    'Spec:',
    ...stringify(d.spec, { lineWidth: 0 }).trimEnd().split('\n').map((l) => `  ${l}`),
    'Status:',
    `  ${kv('Phase', s.phase)}`,
    `  ${kv('Domid', s.domid)}`,
    `  ${kv('State', s.state)}`,
    `  ${kv('Host', s.host)}`,
    `  ${kv('Kernel', s.kernel)}`,
    `  ${kv('Started At', s.startedAt)}`,
    `  ${kv('Restarts', s.restarts ?? 0)}`,
    `  ${kv('Observed Generation', s.observedGeneration)}`,
    ...(s.lastShutdownReason ? [`  ${kv('Last Shutdown', s.lastShutdownReason)}`] : []),
    ...(s.intent ? [`  ${kv('Intent', s.intent)}`] : []),
    ...(s.migrationState ? migrationLines(s.migrationState, kv) : []),
    ...(s.startFailure ? [`  ${kv('Start Failure', `${s.startFailure.consecutiveFailCount ?? 0} in a row${s.startFailure.retryAfterTimestamp ? `, next start at ${s.startFailure.retryAfterTimestamp}` : ''}`)}`] : []),
    'Conditions:',
    (s.conditions?.length
      ? table(['  Type', 'Status', 'Reason', 'Last Transition', 'Message'], s.conditions.map((c) => [`  ${c.type}`, c.status, c.reason ?? '', age(c.lastTransitionTime, now), c.message ?? '']))
      : '  <none>'),
    'Events:',
    events.length
      ? table(['  Type', 'Reason', 'Age', 'Message'], events.slice(-20).map((e) => [`  ${e.type}`, e.reason, age(e.lastTimestamp, now) + (e.count > 1 ? ` (x${e.count})` : ''), e.message]))
      : '  <none>',
  ];
  return lines.join('\n');
}

/** The last live migration, for `describe` (status.migrationState). */
function migrationLines(m: NonNullable<DomainStatus['migrationState']>, kv: (k: string, v: unknown) => string): string[] {
  const out = [`  Migration:`, `    ${kv('Phase', m.phase)}`, `    ${kv('Hosts', `${m.sourceHost} → ${m.targetHost}`)}`, `    ${kv('Started', m.startTimestamp)}`];
  if (m.endTimestamp) out.push(`    ${kv('Ended', m.endTimestamp)}`);
  if (m.phase === 'Running') out.push(`    ${kv('Progress', `${m.stage ?? 'starting'}, round ${m.round ?? 0}, ${m.pagesSent ?? 0} pages sent, ${m.pagesDirty ?? 0} dirty (${m.dirtyRatePps ?? 0} pages/s)`)}`);
  if (m.downtimeMs !== undefined) out.push(`    ${kv('Downtime', `${m.downtimeMs} ms (total ${m.totalMs ?? '?'} ms, ${m.round ?? '?'} rounds, ${m.pagesSent ?? '?'} pages)`)}`);
  if (m.disks) out.push(`    ${kv('Disks', m.disks)}`);
  if (m.failureReason) out.push(`    ${kv('Failure Reason', m.failureReason)}`);
  return out;
}

/**
 * A table printed row by row (`get -w`, `events -w`): the header once, columns at least as wide
 * as the first rows made them, so later rows line up as kubectl's watch output does.
 */
export class StreamTable {
  private widths: number[] | undefined;

  constructor(private readonly header: string[], private readonly min: number[] = []) {}

  /** The lines to print for these rows (the header with the first call). */
  rows(rows: string[][]): string {
    const first = this.widths === undefined;
    const widths = this.header.map((h, i) => Math.max(h.length, this.min[i] ?? 0, this.widths?.[i] ?? 0, ...rows.map((r) => (r[i] ?? '').length)));
    this.widths = widths;
    const lines = table(this.header, rows, widths).split('\n');
    return (first ? lines : lines.slice(1)).join('\n');
  }
}
