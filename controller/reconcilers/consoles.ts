// Following each running domain's console: the output is kept in the state dir
// (logs/<name>.log for the current domain, <name>.previous.log for the one before, as
// `kubectl logs --previous`), scanned for a readiness pattern (readiness.console), and fanned
// out to `logs -f` readers. One follower per Domain, for the domid it runs as now.
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ConsoleStream, HypervisorApi } from '../hypervisor.ts';

/** Past this, a domain's log file starts again (the host keeps its own bounded console too). */
export const MAX_LOG_BYTES = 4 * 2 ** 20;
/**
 * Console output is buffered and written this often, synchronously: a thousand domains
 * printing a line a second would otherwise queue a thousand writes a second on libuv's four
 * threads, ahead of the state dir's fsyncs.
 */
export const LOG_FLUSH_MS = 500;

interface Follower {
  name: string;
  domid: number;
  /** the host's API the domain runs on (a domid is only unique on its host) */
  hv: HypervisorApi;
  stream: ConsoleStream;
  fd?: number;
  pending: Uint8Array[];
  written: number;
  partial: string;
  pattern?: RegExp;
  ready?: { at: number; line: string };
  listeners: Set<(chunk: Uint8Array) => void>;
  ended: boolean;
}

export interface ConsoleOptions {
  logsDir: string;
  /** write logs/<name>.log (default true) */
  record?: boolean;
  now: () => number;
  /** a readiness pattern matched, or a follower ended: reconcile this Domain again */
  onChange: (name: string) => void;
  report?: (msg: string) => void;
}

export class ConsoleFollowers {
  private byName = new Map<string, Follower>();

  /** `hv`: the one host, or the host each Domain runs on now (many hosts) */
  constructor(private readonly hv: HypervisorApi | ((name: string) => HypervisorApi | undefined), private readonly opts: ConsoleOptions) {}

  private hvOf(name: string): HypervisorApi | undefined {
    return typeof this.hv === 'function' ? this.hv(name) : this.hv;
  }

  logFile(name: string, previous = false): string {
    return join(this.opts.logsDir, `${name}${previous ? '.previous' : ''}.log`);
  }

  /** Follows `domid`'s console for `name` (a new domid replaces the old follower). */
  ensure(name: string, domid: number, pattern: string | undefined): void {
    const cur = this.byName.get(name);
    const re = pattern !== undefined ? safeRegExp(pattern) : undefined;
    const hv = this.hvOf(name);
    if (!hv) return;
    if (cur && cur.domid === domid && cur.hv === hv && !cur.ended) {
      if (String(cur.pattern) !== String(re)) { cur.pattern = re; cur.ready = undefined; }
      return;
    }
    if (cur) this.stop(name, true);
    const record = this.opts.record ?? true;
    if (!record && re === undefined) return; // nothing to keep, nothing to scan for
    if (record) {
      try { renameSync(this.logFile(name), this.logFile(name, true)); } catch { /* no log yet */ }
    }
    let stream: ConsoleStream;
    try {
      stream = hv.console(domid, { follow: true, since: 0 });
    } catch (e) {
      this.opts.report?.(`console of ${name} (domid ${domid}): ${(e as Error).message}`);
      return;
    }
    const f: Follower = {
      name, domid, hv, stream, written: 0, partial: '', pattern: re, listeners: new Set(), ended: false, pending: [],
      fd: record ? this.openLog(name) : undefined,
    };
    this.byName.set(name, f);
    void this.pump(f);
  }

  private async pump(f: Follower): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of f.stream) {
        this.write(f, chunk);
        for (const l of f.listeners) l(chunk);
        if (f.pattern && !f.ready) {
          const lines = (f.partial + decoder.decode(chunk, { stream: true })).split('\n');
          f.partial = lines.pop()!.slice(-4096);
          for (const line of lines) {
            const text = line.replace(/\r$/, '');
            if (f.pattern.test(text)) {
              f.ready = { at: this.opts.now(), line: text };
              this.opts.onChange(f.name);
              break;
            }
          }
        }
      }
    } catch (e) {
      if (this.byName.get(f.name) === f) this.opts.report?.(`console of ${f.name} (domid ${f.domid}) ended: ${(e as Error).message}`);
    } finally {
      f.ended = true;
      for (const l of f.listeners) l(new Uint8Array(0));
    }
  }

  private openLog(name: string): number | undefined {
    try {
      return openSync(this.logFile(name), 'w', 0o600);
    } catch (e) {
      this.opts.report?.(`log of ${name}: ${(e as Error).message}`);
      return undefined;
    }
  }

  private write(f: Follower, chunk: Uint8Array): void {
    if (f.fd === undefined) return;
    f.pending.push(chunk);
    this.flushTimer ??= setTimeout(() => this.flushAll(), LOG_FLUSH_MS);
    this.flushTimer.unref?.();
  }

  private flushTimer: NodeJS.Timeout | undefined;

  private flushAll(): void {
    this.flushTimer = undefined;
    for (const f of this.byName.values()) this.flush(f);
  }

  private flush(f: Follower): void {
    if (f.fd === undefined || f.pending.length === 0) return;
    const data = Buffer.concat(f.pending);
    f.pending = [];
    try {
      if (f.written + data.length > MAX_LOG_BYTES) {
        closeSync(f.fd);
        renameSync(this.logFile(f.name), this.logFile(f.name, true));
        f.fd = openSync(this.logFile(f.name), 'w', 0o600);
        f.written = 0;
      }
      writeSync(f.fd, data);
      f.written += data.length;
    } catch (e) {
      this.opts.report?.(`log of ${f.name}: ${(e as Error).message}`);
    }
  }

  /** Whether `name`'s readiness pattern has matched on the console of `domid`. */
  readiness(name: string, domid: number): { matched: boolean; at?: number; line?: string } {
    const f = this.byName.get(name);
    if (!f || f.domid !== domid || !f.ready) return { matched: false };
    return { matched: true, at: f.ready.at, line: f.ready.line };
  }

  /** Live output for `logs -f` (an empty chunk means the domain is gone). */
  subscribe(name: string, fn: (chunk: Uint8Array) => void): (() => void) | undefined {
    const f = this.byName.get(name);
    if (!f || f.ended) return undefined;
    f.listeners.add(fn);
    return () => f.listeners.delete(fn);
  }

  following(name: string): number | undefined {
    const f = this.byName.get(name);
    return f && !f.ended ? f.domid : undefined;
  }

  stop(name: string, keepLog = true): void {
    const f = this.byName.get(name);
    if (!f) return;
    this.byName.delete(name);
    f.stream.close();
    this.flush(f);
    if (f.fd !== undefined) try { closeSync(f.fd); } catch { /* closed */ }
    f.fd = undefined;
    if (!keepLog) {
      rmSync(this.logFile(name), { force: true });
      rmSync(this.logFile(name, true), { force: true });
    }
  }

  stopAll(): void {
    for (const name of [...this.byName.keys()]) this.stop(name);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }
}

function safeRegExp(p: string): RegExp | undefined {
  try {
    return new RegExp(p);
  } catch {
    return undefined; // the schema rules refuse invalid patterns; never throw here
  }
}
