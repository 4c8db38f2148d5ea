// Turns a reconcile's outcome into what the queue does with its key — controller-runtime's
// one small switch (pkg/internal/controller/controller.go reconcileHandler):
//   throws TerminalError → forget (no retry); throws anything else → addRateLimited (backoff);
//   returns {requeueAfter > 0} → forget + addAfter; returns anything else → forget.
import type { WorkQueue } from './workqueue.ts';

export interface ReconcileResult {
  /** reconcile this key again after this many ms (a wait the object asked for, not an error) */
  requeueAfter?: number;
}

export type Reconcile = (key: string) => Promise<ReconcileResult | void>;

/** An error that retrying cannot fix: the key is not requeued (controller-runtime TerminalError). */
export class TerminalError extends Error {
  readonly code = 'Terminal';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export interface RunOptions {
  /** workers; keys are never processed by two at once (controller-runtime MaxConcurrentReconciles) */
  concurrency?: number;
  onError?: (key: string, err: unknown, retryInMs: number | undefined) => void;
  onReconciled?: (key: string, ms: number) => void;
  now?: () => number;
}

export async function processOne(queue: WorkQueue, reconcile: Reconcile, key: string, opts: RunOptions = {}): Promise<void> {
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  try {
    const r = await reconcile(key);
    if (r && r.requeueAfter !== undefined && r.requeueAfter > 0) {
      queue.forget(key);
      queue.addAfter(key, r.requeueAfter);
    } else {
      queue.forget(key);
    }
  } catch (e) {
    if (e instanceof TerminalError) {
      queue.forget(key);
      opts.onError?.(key, e, undefined);
    } else {
      const delay = queue.addRateLimited(key);
      opts.onError?.(key, e, delay);
    }
  } finally {
    queue.done(key);
    opts.onReconciled?.(key, now() - t0);
  }
}

/** Runs `concurrency` workers until the queue shuts down; resolves when they have all stopped. */
export async function runWorkers(queue: WorkQueue, reconcile: Reconcile, opts: RunOptions = {}): Promise<void> {
  const worker = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      await processOne(queue, reconcile, key, opts);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, worker));
}
