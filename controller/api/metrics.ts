// /metrics in the Prometheus text format (controller-runtime's names where they exist:
// controller_runtime_reconcile_total, workqueue_depth, …).
import type { Controller } from '../controller.ts';

export function metricsText(c: Controller): string {
  const m = c.metrics();
  const phases = new Map<string, number>();
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
  ];
  return lines.join('\n') + '\n';
}
