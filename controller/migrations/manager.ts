// Live migrations, as the controller runs them (`xenoform migrate NAME HOST`): one task per
// Domain, from the host it runs on to a named Host, through the source host's Hypervisor API
// (runtime/migrate). The Domain's reconciler holds its hands while a migration runs (phase
// Migrating, status.migrationState from here) and adopts the domain on the target afterwards.
//
// Limits as KubeVirt's defaults (controller-facts.md): 2 outbound migrations per source host,
// 5 in all. Each migration's state is kept in <state-dir>/migrations/NAME.json, so a controller
// restarted mid-migration knows to settle it (arbiter.ts: exactly one copy lives).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MigrationState } from '../../crds/index.ts';
import type { DomainRow, HypervisorApi } from '../hypervisor.ts';
import { errorCode } from '../hypervisor.ts';
import type { MigrationProgress, MigrationResult, MigrationTarget } from '../../runtime/api.ts';
import { removeFile, writeJsonAtomic } from '../store/index.ts';
import { arbitrate, type ArbiterAction, type HostView } from './arbiter.ts';

export const MAX_OUTBOUND_PER_HOST = 2;
export const MAX_MIGRATIONS = 5;

/** What the manager needs of the host registry. */
export interface MigrationHosts {
  hvFor(host: string): HypervisorApi | undefined;
  target(host: string): MigrationTarget | undefined;
  isReady(host: string): boolean;
  has(host: string): boolean;
  /** the Domain now takes its memory on `host` */
  place(domain: string, host: string, memoryMiB: number): void;
  /** a host's cached `xl list` (dropped when a migration ends: the domain moved) */
  observedFor(host: string): { invalidate(): void } | undefined;
}

export interface MigrationManagerDeps {
  hosts: MigrationHosts;
  stateDir: string;
  now: () => Date;
  /** reconcile this Domain soon (its status follows the migration) */
  enqueue: (name: string) => void;
  event: (name: string, type: 'Normal' | 'Warning', reason: string, message: string) => void;
  log?: (line: string) => void;
}

export class MigrationRefused extends Error {
  constructor(readonly code: 'NotFound' | 'Invalid' | 'Busy' | 'Conflict', message: string) {
    super(message);
    this.name = 'MigrationRefused';
  }
}

interface Entry {
  state: MigrationState;
  /** a host that may still hold a frozen copy of the domain, to destroy when it answers again */
  tidy?: string;
  domid: number;
  memoryMiB: number;
  /** the migration's task in this controller (absent: loaded from the state dir, or it broke off unsettled) */
  done?: Promise<void>;
}

export class MigrationManager {
  private readonly entries = new Map<string, Entry>();
  private readonly dir: string;

  constructor(private readonly d: MigrationManagerDeps) {
    this.dir = join(d.stateDir, 'migrations');
  }

  /** Read what an earlier controller left: a Running migration is settled by `resolve`. */
  load(): string[] {
    if (!existsSync(this.dir)) return [];
    const unsettled: string[] = [];
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.json')) continue;
      try {
        const e = JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as Entry;
        const name = f.slice(0, -5);
        this.entries.set(name, { state: e.state, domid: e.domid, memoryMiB: e.memoryMiB, tidy: e.tidy });
        if (e.state.phase === 'Running') unsettled.push(name);
      } catch (err) {
        this.d.log?.(`migrations: ignoring ${f}: ${(err as Error).message}`);
      }
    }
    return unsettled;
  }

  /** The Domain's migration state for its status (running, or the last one). */
  stateOf(name: string): MigrationState | undefined {
    return this.entries.get(name)?.state;
  }

  /** A migration of this Domain is under way (the reconciler must not act on it). */
  running(name: string): boolean {
    return this.entries.get(name)?.state.phase === 'Running';
  }

  /**
   * Whether reconcile must leave the Domain alone: a migration runs, or one an earlier
   * controller left unsettled cannot be settled yet (asked again on every pass).
   */
  async holds(name: string): Promise<boolean> {
    const e = this.entries.get(name);
    if (!e || e.state.phase !== 'Running') return false;
    if (e.done) return true;
    return (await this.resolve(name).catch(() => undefined)) === undefined;
  }

  /**
   * Start migrating Domain `name` (running as `domid` on `source`) to Host `target`. Checks
   * first, then runs in the background; refusals are MigrationRefused with a clear message.
   */
  start(name: string, from: { host: string; domid: number; memoryMiB: number }, target: string, opts: { maxRateMiBps?: number } = {}): MigrationState {
    const h = this.d.hosts;
    if (this.running(name)) throw new MigrationRefused('Conflict', `Domain ${name} is already migrating (${this.entries.get(name)!.state.sourceHost} → ${this.entries.get(name)!.state.targetHost})`);
    if (!h.has(target)) throw new MigrationRefused('NotFound', `no Host named ${target}`);
    if (target === from.host) throw new MigrationRefused('Invalid', `Domain ${name} already runs on Host ${target}`);
    if (!h.isReady(target)) throw new MigrationRefused('Invalid', `Host ${target} is not Ready`);
    const where = h.target(target);
    if (!where) throw new MigrationRefused('Invalid', `Host ${target} has no TCP address to migrate to (the local host listens only on its unix socket; declare the target as a Host with spec.address)`);
    const hv = h.hvFor(from.host);
    if (!hv) throw new MigrationRefused('Invalid', `Host ${from.host}, where Domain ${name} runs, is not connected`);
    const running = [...this.entries.values()].filter((e) => e.state.phase === 'Running');
    if (running.length >= MAX_MIGRATIONS) throw new MigrationRefused('Busy', `${running.length} migrations are running (the limit is ${MAX_MIGRATIONS}); try again when one ends`);
    const out = running.filter((e) => e.state.sourceHost === from.host).length;
    if (out >= MAX_OUTBOUND_PER_HOST) throw new MigrationRefused('Busy', `Host ${from.host} already runs ${out} outbound migrations (the limit is ${MAX_OUTBOUND_PER_HOST}); try again when one ends`);

    const entry: Entry = {
      state: { phase: 'Running', sourceHost: from.host, targetHost: target, startTimestamp: this.d.now().toISOString(), stage: 'reserving', round: 0, pagesSent: 0 },
      domid: from.domid,
      memoryMiB: from.memoryMiB,
    };
    this.entries.set(name, entry);
    this.persist(name, entry);
    this.d.event(name, 'Normal', 'MigrationStarted', `live migration ${from.host} → ${target} started`);
    entry.done = this.run(name, entry, hv, where, opts);
    this.d.enqueue(name);
    return entry.state;
  }

  private async run(name: string, e: Entry, hv: HypervisorApi, where: MigrationTarget, opts: { maxRateMiBps?: number }): Promise<void> {
    let result: MigrationResult | undefined;
    try {
      result = await hv.migrate(e.domid, where, { ...opts, onProgress: (p) => this.progress(name, e, p) });
    } catch (err) {
      const code = errorCode(err);
      const message = (err as Error).message;
      this.d.log?.(`migration of ${name}: ${message}`);
      // Settle which copy lives (the source's, unless activation happened behind a lost answer).
      const runsOn = await this.resolve(name, false).catch((x) => { this.d.log?.(`migration of ${name}: settling: ${(x as Error).message}`); return undefined; });
      if (runsOn === 'target') {
        this.finish(name, e, { phase: 'Succeeded' }, 'Migrated', `live migration ${e.state.sourceHost} → ${e.state.targetHost} completed (its answer was lost: ${message})`);
        return;
      }
      if (runsOn === undefined) {
        // which copy lives depends on a host that cannot be asked now: stay Running (reconcile
        // holds the Domain) and settle on a later pass (holds → resolve)
        e.state.failureReason = `${code}: ${message}; settling once both hosts answer`;
        e.done = undefined;
        this.persist(name, e);
        this.d.event(name, 'Warning', 'MigrationUnsettled', `live migration ${e.state.sourceHost} → ${e.state.targetHost} broke off (${message}); which copy lives is settled once both hosts answer`);
        return;
      }
      this.finish(name, e, { phase: 'Failed', failureReason: `${code}: ${message}` }, 'MigrationFailed', `live migration ${e.state.sourceHost} → ${e.state.targetHost} failed: ${message}`);
      return;
    }
    this.d.hosts.place(name, e.state.targetHost, e.memoryMiB);
    this.finish(name, e, {
      phase: 'Succeeded', downtimeMs: result.downtimeMs, totalMs: result.totalMs, round: result.rounds, pagesSent: result.pagesSent, disks: result.disks,
    }, 'Migrated', `live migration ${e.state.sourceHost} → ${e.state.targetHost} completed: ${result.rounds} round(s), ${result.pagesSent} pages, disks ${result.disks}, downtime ${result.downtimeMs} ms, total ${result.totalMs} ms`);
  }

  private progress(name: string, e: Entry, p: MigrationProgress): void {
    Object.assign(e.state, { stage: p.phase, round: p.round, pagesSent: p.pagesSent, pagesDirty: p.pagesDirty, dirtyRatePps: p.dirtyRatePps });
    this.d.enqueue(name);
  }

  private finish(name: string, e: Entry, change: Partial<MigrationState>, reason: string, message: string): void {
    // the next pass must see where the domain is now, not a list from before the move
    for (const h of [e.state.sourceHost, e.state.targetHost]) this.d.hosts.observedFor(h)?.invalidate();
    Object.assign(e.state, change, { endTimestamp: this.d.now().toISOString() });
    if (change.phase === 'Failed') delete e.state.stage;
    this.persist(name, e);
    this.d.event(name, change.phase === 'Failed' ? 'Warning' : 'Normal', reason, message);
    this.d.enqueue(name);
  }

  private persist(name: string, e: Entry): void {
    void writeJsonAtomic(join(this.dir, `${name}.json`), { state: e.state, domid: e.domid, memoryMiB: e.memoryMiB, tidy: e.tidy }).catch((err) => this.d.log?.(`migrations: cannot record ${name}: ${(err as Error).message}`));
  }

  /**
   * A stale copy left on a source that could not be asked when the migration settled: destroy
   * it once that host answers (it is paused: the runtime never resumes it on its own).
   */
  async tidy(name: string, runsOn: string | undefined): Promise<void> {
    const e = this.entries.get(name);
    if (!e?.tidy || e.tidy === runsOn) return;
    const view = await this.view(e.tidy, name, false);
    if (!view.reachable) return;
    if (view.domain && view.domain.state.includes('p')) {
      await this.d.hosts.hvFor(e.tidy)!.destroy(view.domain.domid);
      this.d.event(name, 'Normal', 'MigrationSettled', `destroyed the stale copy (domid ${view.domain.domid}) on ${e.tidy}: ${runsOn ?? e.state.targetHost} runs the domain`);
    }
    e.tidy = undefined;
    this.persist(name, e);
  }

  /** Forget a Domain's migration record (the Domain is deleted; a running migration is kept). */
  forget(name: string): void {
    if (this.running(name) || !this.entries.delete(name)) return;
    void removeFile(join(this.dir, `${name}.json`)).catch((err) => this.d.log?.(`migrations: cannot remove ${name}: ${(err as Error).message}`));
  }

  /**
   * Exactly one copy (arbiter.ts): look at the source and target of the Domain's last migration
   * and act. Returns where it runs, or undefined when it must be asked again later.
   */
  async resolve(name: string, finish = true): Promise<'source' | 'target' | 'nowhere' | undefined> {
    const e = this.entries.get(name);
    if (!e) return undefined;
    const { sourceHost, targetHost } = e.state;
    const [source, target] = await Promise.all([this.view(sourceHost, name, false), this.view(targetHost, name, true)]);
    const actions = arbitrate(source, target);
    for (const a of actions) {
      if (a.kind === 'done') e.tidy = a.tidy ? sourceHost : undefined;
      const done = await this.act(name, a, sourceHost, targetHost);
      if (done) {
        if (finish && done !== 'wait' && e.state.phase === 'Running') {
          // settled by a later controller: say how it ended
          if (done === 'target') this.d.hosts.place(name, targetHost, e.memoryMiB);
          this.finish(name, e, done === 'target' ? { phase: 'Succeeded' } : { phase: 'Failed', failureReason: 'the migration was interrupted; the source kept the domain' },
            done === 'target' ? 'Migrated' : 'MigrationFailed', `migration ${sourceHost} → ${targetHost} settled: the domain runs on ${done === 'target' ? targetHost : done === 'source' ? sourceHost : 'no host'}`);
        }
        return done === 'wait' ? undefined : done;
      }
    }
    return undefined;
  }

  private async act(name: string, a: ArbiterAction, sourceHost: string, targetHost: string): Promise<'source' | 'target' | 'nowhere' | 'wait' | undefined> {
    const src = this.d.hosts.hvFor(sourceHost);
    const dst = this.d.hosts.hvFor(targetHost);
    switch (a.kind) {
      case 'destroy-source':
        await src!.destroy(a.domid);
        this.d.event(name, 'Normal', 'MigrationSettled', `destroyed the stale copy (domid ${a.domid}) on ${sourceHost}: ${targetHost} runs the domain`);
        return undefined;
      case 'unpause-source':
        await src!.unpause(a.domid);
        this.d.event(name, 'Normal', 'MigrationSettled', `resumed the domain on ${sourceHost}: the migration did not complete`);
        return undefined;
      case 'abort-incoming':
        await dst!.abortIncoming(name);
        this.d.event(name, 'Normal', 'MigrationSettled', `dropped the incoming copy on ${targetHost}: ${sourceHost} keeps the domain`);
        return undefined;
      case 'commit-incoming':
        await dst!.commitIncoming(name);
        this.d.event(name, 'Normal', 'MigrationSettled', `activated the prepared copy on ${targetHost}: ${sourceHost} no longer has the domain`);
        return undefined;
      case 'wait':
        this.d.log?.(`migration of ${name}: waiting: ${a.why}`);
        return 'wait';
      case 'done':
        return a.runsOn;
    }
  }

  private async view(host: string, name: string, incoming: boolean): Promise<HostView> {
    const hv = this.d.hosts.hvFor(host);
    if (!hv || !this.d.hosts.isReady(host)) return { reachable: false };
    try {
      const rows: DomainRow[] = await hv.list();
      const row = rows.find((r) => r.name === name);
      const view: HostView = { reachable: true, ...(row ? { domain: { domid: row.id, state: row.state } } : {}) };
      if (incoming) {
        const inc = (await hv.incoming()).find((m) => m.name === name);
        if (inc) view.incoming = inc.state;
      }
      return view;
    } catch {
      return { reachable: false };
    }
  }
}
