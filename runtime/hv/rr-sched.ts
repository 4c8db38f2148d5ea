/** Interim round-robin scheduler with the credit scheduler's interface (replaced by sched/credit.ts). */
export interface SchedUnit {
  readonly domainId: number;
  readonly vcpuId: number;
  readonly runnable: boolean;
}

export class CreditScheduler {
  private readonly units: SchedUnit[] = [];
  private cursor = 0;
  constructor(_opts?: { pcpus?: number }) {}
  addDomain(_d: number, _w?: number, _c?: number): void {}
  setDomain(_d: number, _p: { weight?: number; cap?: number }): void {}
  removeDomain(_d: number): void {}
  insert(u: SchedUnit): void {
    this.units.push(u);
  }
  remove(u: SchedUnit): void {
    const k = this.units.indexOf(u);
    if (k >= 0) this.units.splice(k, 1);
  }
  wake(_u: SchedUnit, _now: number): void {}
  sleep(_u: SchedUnit): void {}
  pick(_now: number): { unit: SchedUnit; sliceNs: number } | undefined {
    for (let k = 0; k < this.units.length; k++) {
      const u = this.units[(this.cursor + k) % this.units.length]!;
      if (u.runnable) {
        this.cursor = (this.cursor + k + 1) % this.units.length;
        return { unit: u, sliceNs: 30_000_000 };
      }
    }
    return undefined;
  }
  charge(_u: SchedUnit, _ns: number, _now: number): void {}
  nextEventAt(_now: number): number {
    return Infinity;
  }
}
