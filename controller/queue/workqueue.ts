// A work queue of keys (`Domain/<name>`), as client-go's workqueue: a key is queued at most
// once (de-duplication), is never handed to two workers at once (a key added while it is being
// processed is queued again when done()), can be added after a delay (the earliest wins), and
// backs off exponentially per key on errors. Time comes from the injected clock.
import type { Clock } from './clock.ts';
import { ExponentialRateLimiter, type RateLimiter } from './rate-limiter.ts';

export interface WorkQueueMetrics {
  adds: number;
  retries: number;
  depth: number;
  processing: number;
  waiting: number;
}

export class WorkQueue {
  private queue: string[] = [];
  private head = 0;
  private dirty = new Set<string>();
  private processing = new Set<string>();
  /** keys waiting for a delay to pass: when they are due and the timer's cancel */
  private waiting = new Map<string, { at: number; cancel: () => void }>();
  private getters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private counters = { adds: 0, retries: 0 };

  constructor(
    private readonly clock: Clock,
    readonly limiter: RateLimiter = new ExponentialRateLimiter(),
  ) {}

  /** Queues `key` unless it is already queued; a key being processed is queued again on done(). */
  add(key: string): void {
    if (this.shuttingDown) return;
    const w = this.waiting.get(key);
    if (w) { w.cancel(); this.waiting.delete(key); }
    if (this.dirty.has(key)) return;
    this.counters.adds++;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Queues `key` after `ms`; if it is already waiting, the earlier time wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const w = this.waiting.get(key);
    if (w && w.at <= at) return;
    w?.cancel();
    const cancel = this.clock.setTimer(ms, () => {
      if (this.waiting.get(key)?.cancel !== cancel) return;
      this.waiting.delete(key);
      this.add(key);
    });
    this.waiting.set(key, { at, cancel });
  }

  /** Queues `key` after its backoff delay (a failure). */
  addRateLimited(key: string): number {
    this.counters.retries++;
    const delay = this.limiter.when(key);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears `key`'s failure count (a success). */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiter.numRequeues(key);
  }

  /** The next key to process (marks it processing), or undefined once shut down. */
  get(): Promise<string | undefined> {
    const key = this.pop();
    if (key !== undefined || this.shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks `key` processed; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
  }

  /** When `key` is next due: 'queued', a time (ms) it waits for, or undefined. */
  when(key: string): 'queued' | number | undefined {
    if (this.dirty.has(key)) return 'queued';
    return this.waiting.get(key)?.at;
  }

  get length(): number {
    return this.queue.length - this.head;
  }

  metrics(): WorkQueueMetrics {
    return { ...this.counters, depth: this.length, processing: this.processing.size, waiting: this.waiting.size };
  }

  /** True when nothing is queued, processing or waiting. */
  get idle(): boolean {
    return this.length === 0 && this.processing.size === 0 && this.waiting.size === 0;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const w of this.waiting.values()) w.cancel();
    this.waiting.clear();
    for (const g of this.getters.splice(0)) g(undefined);
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  private push(key: string): void {
    const g = this.getters.shift();
    if (g) {
      this.dirty.delete(key);
      this.processing.add(key);
      g(key);
      return;
    }
    this.queue.push(key);
  }

  private pop(): string | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}
