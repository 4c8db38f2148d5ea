// /metrics in the Prometheus text format (controller-runtime's names where they exist:
// controller_runtime_reconcile_total, workqueue_depth, …).
import type { Controller } from '../controller.ts';

export function metricsText(c: Controller): string {
  const m = c.metrics();
  const phases = new Map<string, number>();
  const hosts = c.listHosts();
  for (const d of c.list()) phases.set(d.status?.phase ?? 'Pending', (phases.get(d.status?.phase ?? 'Pending') ?? 0) + 1);
  const lines = [
    '# HELP controller_runtime_reconcile_total Reconciles, by result.',
    '# TYPE controller_runtime_reconcile_total counter',
    `controller_runtime_reconcile_total{controller="domain",result="success"} ${m.reconciles - m.reconcileErrors}`,
    `controller_runtime_reconcile_total{controller="domain",result="error"} ${m.reconcileErrors}`,
    '# HELP controller_runtime_reconcile_time_seconds Time spent reconciling.',
    '# TYPE controller_runtime_reconcile_time_seconds summary',
    `controller_runtime_reconcile_time_seconds_sum{controller="domain"} ${m.reconcileSeconds.sum.toFixed(6)}`,
    `controller_runtime_reconcile_time_seconds_count{controller="domain"} ${m.reconcileSeconds.count}`,
    '# TYPE workqueue_depth gauge',
    `workqueue_depth{name="domain"} ${m.queue.depth}`,
    '# TYPE workqueue_adds_total counter',
    `workqueue_adds_total{name="domain"} ${m.queue.adds}`,
    '# TYPE workqueue_retries_total counter',
    `workqueue_retries_total{name="domain"} ${m.queue.retries}`,
    '# TYPE workqueue_waiting gauge',
    `workqueue_waiting{name="domain"} ${m.queue.waiting}`,
    '# HELP xenoform_domains Domains by phase.',
    '# TYPE xenoform_domains gauge',
    ...[...phases].sort().map(([p, n]) => `xenoform_domains{phase="${p}"} ${n}`),
    // per Host, as kube-state-metrics' kube_node_status_condition and _allocatable
    '# HELP xenoform_host_ready Whether each Host answers its heartbeats (1) or not (0).',
    '# TYPE xenoform_host_ready gauge',
    ...hosts.map((h) => `xenoform_host_ready{host="${h.metadata.name}"} ${h.status?.phase === 'Ready' ? 1 : 0}`),
    '# HELP xenoform_host_memory_capacity_mib Memory placement may use on each Host.',
    '# TYPE xenoform_host_memory_capacity_mib gauge',
    ...hosts.map((h) => `xenoform_host_memory_capacity_mib{host="${h.metadata.name}"} ${h.status?.capacity?.memoryMiB ?? 0}`),
    '# HELP xenoform_host_memory_allocated_mib Memory of the Domains placed on each Host.',
    '# TYPE xenoform_host_memory_allocated_mib gauge',
    ...hosts.map((h) => `xenoform_host_memory_allocated_mib{host="${h.metadata.name}"} ${h.status?.allocated?.memoryMiB ?? 0}`),
  ];
  return lines.join('\n') + '\n';
}
