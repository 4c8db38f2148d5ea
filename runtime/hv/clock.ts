/**
 * The host's one injected clock (DESIGN.md §2 "Time"): system time in nanoseconds since the
 * host started. `wall` follows real time; `virtual` advances only when told to — by the
 * instructions vCPUs retire and by jumps to the next timer when every vCPU is idle — so a
 * run on virtual time is deterministic and takes no real time to wait.
 */
export interface Clock {
  readonly kind: 'wall' | 'virtual';
  /** System time, ns since the host started. */
  now(): number;
  /** Wall-clock time of system time 0, ns since the Unix epoch (for shared_info wallclock). */
  readonly epochNs: number;
}

export class WallClock implements Clock {
  readonly kind = 'wall';
  private readonly start = process.hrtime.bigint();
  readonly epochNs = Date.now() * 1e6;

  now(): number {
    return Number(process.hrtime.bigint() - this.start);
  }
}

export class VirtualClock implements Clock {
  readonly kind = 'virtual';
  private t = 0;

  constructor(readonly epochNs = Date.UTC(2026, 0, 1) * 1e6) {}

  now(): number {
    return this.t;
  }

  /** Move time forward (never back). */
  advance(ns: number): void {
    if (ns > 0) this.t += ns;
  }

  advanceTo(t: number): void {
    if (t > this.t) this.t = t;
  }
}
