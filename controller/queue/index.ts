// The work queue: keys, de-duplication, per-key backoff, requeueAfter, on an injected clock.
export { FakeClock, realClock, type Clock } from './clock.ts';
export { ExponentialRateLimiter, type RateLimiter } from './rate-limiter.ts';
export { WorkQueue, type WorkQueueMetrics } from './workqueue.ts';
export { processOne, runWorkers, TerminalError, type Reconcile, type ReconcileResult, type RunOptions } from './runner.ts';

/** The queue key of an object: `Domain/<name>`. */
export const keyFor = (kind: string, name: string): string => `${kind}/${name}`;

export function parseKey(key: string): { kind: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { kind: '', name: key } : { kind: key.slice(0, i), name: key.slice(i + 1) };
}
