// reconcile(Domain/<name>) = observe → decide → act → write status once (../shared/DESIGN.md §3).
//   observe: desired from the manifests (or the last valid spec while the manifest is invalid),
//            observed from the host (`xl list` matched by name: the domain name IS metadata.name,
//            so a restarted controller adopts what runs), the user's intents;
//   decide:  the Domain machine's pure transition → effects;
//   act:     the effects, against the Hypervisor API, in order (the first failure stops the
//            rest and is handed back to the machine);
//   write:   one record (metadata, last valid spec, machine snapshot, status) and the pass's
//            events; then requeueAfter, or throw for the queue's backoff.
import { randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Condition, DefaultedDomainSpec, Domain, DomainStatus } from '../../crds/index.ts';
import { formatDiagnostic } from '../errors.ts';
import { errorCode, type DomainInfo, type HypervisorApi, type ObservedDomains } from '../hypervisor.ts';
import { ipForMac } from '../../runtime/api.ts';
import {
  decide, effectFailed, IMAGE_MISSING, initialDomainSnapshot, persistDomainSnapshot, phaseOf, restoreDomainSnapshot, stateOf,
  type DomainSnapshot, type Effect, type Intents, type ObservedDomain, type Timing,
} from '../machines/index.ts';
import type { Clock } from '../queue/index.ts';
import { parseKey, type ReconcileResult } from '../queue/index.ts';
import type { DomainRecord, StateStore } from '../store/index.ts';
import { writeJsonAtomic } from '../store/index.ts';
import type { ConsoleFollowers } from './consoles.ts';
import type { DesiredEntry } from './desired.ts';
import { bootFields, changedBootFields, hashOf, toDesired } from './domain.spec.ts';
import { buildConditions } from './domain.status.ts';
import { scheduledCondition, type DomainHosts, type Site, type Unschedulable } from '../hosts/scheduler.ts';
import type { MigrationManager } from '../migrations/manager.ts';

export interface DomainReconcilerDeps {
  hv: HypervisorApi;
  store: StateStore;
  desired: { get(name: string): DesiredEntry | undefined };
  observed: ObservedDomains;
  consoles?: ConsoleFollowers;
  clock: Clock;
  timing: Timing;
  /** the Host's name shown in status.host (the one host, when `hosts` is not given) */
  hostName: string;
  /** many hosts: where each domain runs or is placed (hosts/scheduler.ts); absent: `hv` is the one host */
  hosts?: DomainHosts;
  newUid?: () => string;
  /** a Domain's object changed (API watchers); undefined = deleted */
  onChange?: (name: string, obj: Domain | undefined) => void;
  /** live migrations (controller/migrations): while one runs, reconcile holds its hands */
  migrations?: MigrationManager;
  /** TCP/HTTP readiness probes on the guests' segment (the gateway's node); absent: not probed */
  probe?: (kind: 'tcp' | 'http', ip: string, port: number, path: string, timeoutMs: number) => Promise<{ ok: boolean; detail: string }>;
}

/** decide → act rounds per pass (each on the hypervisor's answers to the last effects) */
const MAX_ROUNDS = 3;

type PendingEvent = { type: 'Normal' | 'Warning'; reason: string; message: string };

/** Effects that failed in a pass: the queue backs the key off; the status already says why. */
export class EffectError extends Error {
  readonly code: string;
  constructor(readonly domain: string, readonly effect: string, cause: unknown) {
    super(`Domain ${domain}: ${effect} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.code = errorCode(cause);
  }
}

/** How a `save` request ended: written (ok), failed, or refused by the machine. */
export interface SaveOutcome {
  ok: boolean;
  message: string;
  code?: string;
}

export class DomainReconciler {
  private records = new Map<string, DomainRecord>();
  private loaded = new Set<string>();
  /** the API's waiters for save requests, by Domain: settled once the machine has handled their sequence number */
  private saveWaiters = new Map<string, { seq: number; resolve: (o: SaveOutcome) => void }[]>();
  private saveOutcomes = new Map<string, { seq: number } & SaveOutcome>();
  private savesHandled = new Map<string, number>();

  /** the host each Domain's pass acts on (a key is never reconciled twice at once) */
  private sites = new Map<string, Site>();

  constructor(private readonly d: DomainReconcilerDeps) {}

  /** The host this pass acts on for `name` (the one host when there is no registry). */
  private site(name: string): Site {
    return this.sites.get(name) ?? { ok: true, host: this.d.hostName, hv: this.d.hv, observed: this.d.observed };
  }

  /** Where `name` runs or is to run, with many hosts (see hosts/scheduler.ts for the order). */
  private async placeOn(name: string, spec: DefaultedDomainSpec | undefined, rec: DomainRecord | undefined): Promise<Site | Unschedulable> {
    if (!this.d.hosts) return this.site(name);
    const prev = rec?.status;
    // a saved domain comes back where its image is: the host it was saved on
    const host = spec?.host ?? this.d.store.intentsOf(name).saved?.host;
    return this.d.hosts.where(name, { host, memoryMiB: spec?.memory ?? 0, runningOn: prev?.domid !== undefined ? prev.host : undefined });
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { name } = parseKey(key);
    const d = this.d;
    const now = d.clock.now();
    const events: PendingEvent[] = [];

    // ---- observe ------------------------------------------------------------------------
    const rec = await this.record(name, events);
    const entry = d.desired.get(name);
    let meta = rec?.meta;
    let lastValid = rec?.lastValid;
    const current = entry?.object;
    if (current) {
      const h = hashOf(current.object.spec);
      if (!meta) meta = { uid: (d.newUid ?? randomUUID)(), creationTimestamp: new Date(now).toISOString(), generation: 1, specHash: h };
      else if (meta.specHash !== h) meta = { ...meta, generation: meta.generation + 1, specHash: h };
      lastValid = { object: current.object, file: current.file, kernel: current.files['spec.kernel']!, files: current.files };
    } else if (entry && !meta) {
      meta = { uid: (d.newUid ?? randomUUID)(), creationTimestamp: new Date(now).toISOString(), generation: 0, specHash: '' };
    }
    if (!entry && !rec && !d.observed.get(name)) {
      // nothing declared, nothing recorded: a key for an object that is gone
      return {};
    }
    // A live migration moves the domain between hosts: nothing else acts on it meanwhile (the
    // source's copy pauses, then vanishes; the target's appears). Status shows its progress.
    if (rec && d.migrations && await d.migrations.holds(name)) {
      const status: DomainStatus = { ...rec.status, phase: 'Migrating', migrationState: d.migrations.stateOf(name) };
      const next: DomainRecord = { ...rec, status, updatedAt: new Date(now).toISOString() };
      this.records.set(name, next);
      await Promise.all([d.store.saveDomain(next), d.store.events.record('Domain', name, events, new Date(now))]);
      d.onChange?.(name, this.object(name));
      return { requeueAfter: 1000 };
    }
    const spec = lastValid?.object.spec as DefaultedDomainSpec | undefined;
    const desired = entry && spec && lastValid ? toDesired(name, spec, lastValid.kernel, meta!.generation, lastValid.files) : undefined;

    // an unschedulable domain (spec.host unknown or not Ready, no room) stays as it is: nothing
    // runs it, and nothing is started (declared, but not startable: as an invalid spec)
    const wanted = await this.placeOn(name, spec, rec);
    if (wanted.ok) this.sites.set(name, wanted);
    const desiredHere = wanted.ok ? desired : undefined;
    let info: DomainInfo | undefined;
    if (wanted.ok) {
      await wanted.observed.fresh();
      const row = wanted.observed.get(name);
      if (row) {
        try {
          info = await wanted.hv.domain(row.id);
        } catch (e) {
          if (errorCode(e) !== 'ENOENT') throw e;
          wanted.observed.forget(name, row.id);
        }
      }
    }

    // ---- decide → act -----------------------------------------------------------------------
    // The hypervisor's answers to the effects (the domain a create returned, none after a
    // destroy) are observations too: the machine decides again on them, a bounded number of
    // rounds, so a created domain is Running in the same pass. Status is still written once.
    let snapshot = this.snapshotOf(name, rec, events);
    let observed = info;
    let acted: Awaited<ReturnType<DomainReconciler['act']>> = { snapshot, latest: info, created: false, failure: undefined };
    let created = false;
    let actedAtAll = false;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      // re-read each round: an effect (save, restore) may have changed the `saved` intent
      const intents = d.store.intentsOf(name);
      const decided = decide(snapshot, { now: round ? d.clock.now() : now, desired: desiredHere, declaredInvalid: !!entry && !desiredHere, observed: observed && toObserved(observed), intents });
      const world = decided.effects.filter((e) => e.type !== 'recordEvent' && e.type !== 'dumpCore');
      acted = await this.act(name, decided.effects, decided.snapshot, observed, events, intents);
      snapshot = acted.snapshot;
      created ||= acted.created;
      if (world.length === 0) break;
      actedAtAll = true;
      if (acted.failure || stateOf(snapshot) === 'Deleted') break;
      // look again only where the answers say something new: a domain created, paused,
      // unpaused or gone; a shutdown request or a live change settles on the host's time
      if (!world.some((e) => e.type === 'createDomain' || e.type === 'destroyDomain' || e.type === 'pauseDomain' || e.type === 'unpauseDomain'
        || e.type === 'restoreDomain' || (e.type === 'saveDomain' && !e.params.checkpoint))) break;
      observed = acted.latest;
    }
    let running = rec?.running;
    if (created && desired && spec && lastValid) running = { generation: desired.generation, fields: bootFields(spec, lastValid.kernel) };
    if (!running && info && spec && lastValid && stateOf(snapshot) !== 'Pending') running = { generation: meta!.generation, fields: bootFields(spec, lastValid.kernel), assumed: true };

    // ---- write once -------------------------------------------------------------------------
    const state = stateOf(snapshot);
    if (state === 'Deleted') {
      this.records.delete(name);
      await d.store.deleteDomain(name);
      d.consoles?.stop(name);
      await d.store.events.record('Domain', name, [...events, { type: 'Normal', reason: 'Deleted', message: `Domain ${name} is gone` }], new Date(now));
      d.onChange?.(name, undefined);
      this.settleSaves(name, Infinity, 'the Domain was deleted');
      d.hosts?.settle(name, undefined, 0);
      d.migrations?.forget(name);
      this.sites.delete(name);
      if (acted.failure) throw acted.failure;
      return {};
    }
    const xenstoreValue = await this.readinessKey(name, snapshot, acted.latest, lastValid);
    const probed = await this.readinessProbe(snapshot, acted.latest, lastValid);
    const status = this.status(name, snapshot, acted.latest, entry, meta!, lastValid, running, rec?.status, now, xenstoreValue, probed);
    if (d.migrations) {
      const m = d.migrations.stateOf(name);
      if (m) status.migrationState = m;
      await d.migrations.tidy(name, status.host).catch((e) => events.push({ type: 'Warning', reason: 'MigrationSettle', message: (e as Error).message }));
    }
    if (d.hosts) {
      status.conditions = scheduledCondition(status.conditions ?? [], rec?.status?.conditions ?? [], wanted, status.host, now, meta!.generation);
      // what the domain holds on its host: placement counts it until it stops for good
      d.hosts.settle(name, wanted.ok && status.phase !== 'Stopped' && status.phase !== 'Failed' ? wanted.host : undefined, spec?.memory ?? 0);
    }
    const next: DomainRecord = {
      version: 1, name, meta: meta!, ...(lastValid ? { lastValid } : {}), ...(running ? { running } : {}),
      machine: persistDomainSnapshot(snapshot), status, updatedAt: new Date(now).toISOString(),
    };
    this.records.set(name, next);
    // the one record write, and the pass's events beside it (two files, written together)
    await Promise.all([d.store.saveDomain(next), d.store.events.record('Domain', name, events, new Date(now))]);
    this.followConsole(name, snapshot, acted.latest, spec);
    d.onChange?.(name, this.object(name));
    this.settleSaves(name, snapshot.context.handled.save ?? 0, events.filter((e) => e.reason === 'IntentRefused').map((e) => e.message).join('; '));
    if (acted.failure) throw acted.failure;
    const result = requeueFor(snapshot, d.clock.now(), actedAtAll);
    // A readiness key not written yet is looked at again every periodSeconds.
    const r = spec?.readiness;
    if ((r?.xenstore || (this.d.probe && (r?.tcp || r?.http))) && state === 'Running' && status.conditions?.find((x) => x.type === 'Ready')?.status !== 'True') {
      const period = (r.periodSeconds ?? 1) * 1000;
      return { requeueAfter: Math.min(result.requeueAfter ?? period, period) };
    }
    return result;
  }

  /** The record in memory, else from the state dir (a corrupt file is reported and rebuilt). */
  private async record(name: string, events: PendingEvent[]): Promise<DomainRecord | undefined> {
    if (this.loaded.has(name)) return this.records.get(name);
    const r = await this.d.store.loadDomain(name);
    this.loaded.add(name);
    if (r.problem) events.push({ type: 'Warning', reason: 'StateRebuilt', message: r.problem });
    if (r.record) this.records.set(name, r.record);
    return r.record;
  }

  private snapshotOf(name: string, rec: DomainRecord | undefined, events: PendingEvent[]): DomainSnapshot {
    if (rec?.machine) {
      try {
        return restoreDomainSnapshot(rec.machine, this.d.timing);
      } catch (e) {
        events.push({ type: 'Warning', reason: 'StateRebuilt', message: `machine snapshot of ${name} unusable (${(e as Error).message}); rebuilt from what is running` });
      }
    }
    return initialDomainSnapshot({ name, timing: this.d.timing });
  }

  /**
   * The outcome of the `save` request with sequence number `seq` (the API waits on it): settled
   * once reconcile has handled it — written, failed, or refused because nothing is running.
   */
  saveOutcome(name: string, seq: number): Promise<SaveOutcome> {
    return new Promise((resolve) => {
      const list = this.saveWaiters.get(name) ?? [];
      list.push({ seq, resolve });
      this.saveWaiters.set(name, list);
      // a pass may have handled it already (the request was recorded before the wait began)
      if ((this.savesHandled.get(name) ?? 0) >= seq) this.settleSaves(name, this.savesHandled.get(name)!, '');
    });
  }

  private settleSaves(name: string, handled: number, refusal: string): void {
    if (handled !== Infinity) this.savesHandled.set(name, handled);
    else this.savesHandled.delete(name);
    const list = this.saveWaiters.get(name);
    if (!list) return;
    const done = this.saveOutcomes.get(name);
    const keep = list.filter((w) => {
      if (w.seq > handled) return true;
      w.resolve(done && done.seq >= w.seq ? done : { ok: false, code: 'IntentRefused', message: refusal || `Domain ${name}: the save was not carried out (the domain is not running)` });
      return false;
    });
    if (keep.length) this.saveWaiters.set(name, keep);
    else this.saveWaiters.delete(name);
  }

  /** Executes the effects in order; the first failure goes back to the machine and stops the rest. */
  private async act(name: string, effects: Effect[], snapshot: DomainSnapshot, info: DomainInfo | undefined, events: PendingEvent[], intents: Intents) {
    const hv = this.site(name).hv;
    let latest = info;
    let created = false;
    let failure: EffectError | undefined;
    for (const e of effects) {
      if (e.type === 'recordEvent') { events.push(e.params); continue; }
      if (failure) continue;
      try {
        switch (e.type) {
          case 'createDomain':
            latest = await hv.create({ ...e.params.spec });
            this.site(name).observed.put(latest, true);
            created = true;
            break;
          case 'destroyDomain':
            await ignoreGone(hv.destroy(e.params.domid));
            this.site(name).observed.remove(name, e.params.domid);
            latest = undefined;
            break;
          case 'requestShutdown':
            latest = (await ignoreGone(hv.shutdown(e.params.domid, e.params.reason))) ?? latest;
            break;
          case 'pauseDomain':
            latest = await hv.pause(e.params.domid);
            break;
          case 'unpauseDomain':
            latest = await hv.unpause(e.params.domid);
            break;
          case 'setMemoryTarget':
            latest = await hv.setMemoryTarget(e.params.domid, e.params.mib);
            break;
          case 'setSched':
            latest = await hv.setSched(e.params.domid, { weight: e.params.weight, cap: e.params.cap });
            break;
          case 'dumpCore':
            events.push({ type: 'Normal', reason: e.params.kind === 'renamed' ? 'RenamedKept' : 'CoreDumped', message: await this.dumpCore(name, e.params.domid, e.params.cause, e.params.kind) });
            break;
          case 'saveDomain':
            latest = await this.saveDomain(name, e.params, events, intents.save) ?? latest;
            if (!e.params.checkpoint) latest = undefined;
            break;
          case 'restoreDomain':
            latest = await hv.restore(e.params.file);
            this.site(name).observed.put(latest, true);
            break;
          case 'forgetSaved':
            await this.forgetSaved(name, e.params.why);
            break;
        }
      } catch (err) {
        failure = new EffectError(name, e.type, err);
        const missing = e.type === 'restoreDomain' && errorCode(err) === 'IMAGE' && /ENOENT|no such file/i.test((err as Error).message ?? '');
        const code = missing ? IMAGE_MISSING : errorCode(err);
        if (e.type === 'saveDomain') this.saveOutcomes.set(name, { seq: intents.save, ok: false, code, message: `cannot save Domain ${name} to ${e.params.file}: ${(err as Error).message ?? String(err)}` });
        const r = effectFailed(snapshot, { effect: e.type, code, message: (err as Error).message ?? String(err), at: this.d.clock.now() });
        snapshot = r.snapshot;
        for (const x of r.effects) {
          if (x.type === 'recordEvent') events.push(x.params);
          else if (x.type === 'forgetSaved') await this.forgetSaved(name, x.params.why);
        }
      }
    }
    return { snapshot, latest, created, failure };
  }

  /**
   * xl save [-c] on the host the domain runs on. Without checkpoint the host destroys the domain
   * once the image is whole; the `saved` intent is recorded first (and dropped if the save
   * fails), so that even a controller killed mid-save never starts the saved domain afresh —
   * and a domain still running under a `saved` intent has it dropped (the machine's staleSaved).
   */
  private async saveDomain(name: string, p: { domid: number; file: string; checkpoint: boolean }, events: PendingEvent[], seq: number): Promise<DomainInfo | undefined> {
    const at = new Date(this.d.clock.now());
    if (!p.checkpoint) await this.d.store.updateIntents(name, (i) => { i.saved = { file: p.file, at: at.toISOString(), domid: p.domid, host: this.site(name).host }; }, 'saved', at);
    try {
      await this.site(name).hv.save(p.domid, p.file, { checkpoint: p.checkpoint });
    } catch (e) {
      if (!p.checkpoint) await this.forgetSaved(name, 'save failed');
      throw e;
    }
    let latest: DomainInfo | undefined;
    if (p.checkpoint) {
      try { latest = await this.site(name).hv.domain(p.domid); } catch { /* gone meanwhile: the next look says */ }
    } else {
      this.site(name).observed.remove(name, p.domid);
    }
    const message = p.checkpoint
      ? `checkpoint of domain ${p.domid} saved to ${p.file}; the domain keeps running`
      : `domain ${p.domid} saved to ${p.file}; it stays down (runStrategy does not restart it) until \`xenoform restore ${p.file}\` or \`xenoform start ${name}\``;
    events.push({ type: 'Normal', reason: 'Saved', message });
    this.saveOutcomes.set(name, { seq, ok: true, message: `Domain ${name}: ${message}` });
    return latest;
  }

  private async forgetSaved(name: string, why: string): Promise<void> {
    if (!this.d.store.intentsOf(name).saved) return;
    await this.d.store.updateIntents(name, (i) => { delete i.saved; }, why === 'restored' ? 'restored' : 'saved-dropped', new Date(this.d.clock.now()));
  }

  /**
   * xl's coredump-* (and rename-restart, which this host cannot do: it has no rename): what
   * the Hypervisor API exposes of the domain — its record and console output. Guest memory
   * and vCPU registers are not exposed by the API, so they are not in it; the file says so.
   */
  private async dumpCore(name: string, domid: number, cause: string, kind: 'coredump' | 'renamed'): Promise<string> {
    const at = new Date(this.d.clock.now());
    const base = join(this.d.store.coresDir, `${name}-${domid}-${at.toISOString().replace(/[:.]/g, '-')}`);
    let info: DomainInfo | undefined;
    try { info = await this.site(name).hv.domain(domid); } catch { /* gone meanwhile */ }
    const chunks: Uint8Array[] = [];
    try {
      for await (const c of this.site(name).hv.console(domid, { follow: false })) chunks.push(c);
    } catch { /* no console */ }
    const consoleBytes = Buffer.concat(chunks);
    await writeJsonAtomic(`${base}.json`, {
      kind: 'XenoformCore', version: 1, name, domid, cause, action: kind === 'renamed' ? 'rename-restart' : 'coredump',
      time: at.toISOString(), host: this.site(name).host, domain: info ?? null,
      console: { file: `${base}.console`, bytes: consoleBytes.length },
      contents: 'what the Hypervisor API exposes of the domain (its xl record and console output); guest memory and vCPU registers are not exposed by the API and are not included',
      ...(kind === 'renamed' ? { note: 'rename-restart: this host cannot rename a domain, so the old one is kept as this record and destroyed, and a new one is started in its place' } : {}),
    });
    const fh = await open(`${base}.console`, 'w', 0o600);
    try { await fh.writeFile(consoleBytes); await fh.sync(); } finally { await fh.close(); }
    return `${kind === 'renamed' ? 'kept the old domain as' : 'core written to'} ${base}.json (record and console; no guest memory: the API does not expose it)`;
  }

  private followConsole(name: string, snapshot: DomainSnapshot, latest: DomainInfo | undefined, spec: DefaultedDomainSpec | undefined): void {
    const c = this.d.consoles;
    if (!c) return;
    const s = stateOf(snapshot);
    if (latest && (s === 'Running' || s === 'Paused' || s === 'Starting' || s === 'Stopping' || s === 'Crashed')) c.ensure(name, latest.domid, spec?.readiness?.console?.pattern);
  }

  /** The readiness xenstore key of a running domain, if its spec declares one (else undefined). */
  private async readinessKey(name: string, snapshot: DomainSnapshot, latest: DomainInfo | undefined, lastValid: DomainRecord['lastValid']): Promise<string | undefined> {
    const path = (lastValid?.object.spec as DefaultedDomainSpec | undefined)?.readiness?.xenstore?.path;
    if (!path || !latest || stateOf(snapshot) !== 'Running') return undefined;
    try {
      return await this.site(name).hv.xenstoreRead(latest.domid, path);
    } catch {
      return undefined; // the domain went away between the look and the read: the next pass sees it
    }
  }

  /** A TCP or HTTP readiness probe of a running domain's first interface, if its spec declares one. */
  private async readinessProbe(snapshot: DomainSnapshot, latest: DomainInfo | undefined, lastValid: DomainRecord['lastValid']): Promise<{ ok: boolean; detail: string } | undefined> {
    const spec = lastValid?.object.spec as DefaultedDomainSpec | undefined;
    const r = spec?.readiness;
    if (!r || (!r.tcp && !r.http) || !latest || stateOf(snapshot) !== 'Running') return undefined;
    if (!this.d.probe) return undefined;
    const mac = spec?.interfaces?.[0]?.mac;
    if (!mac) return { ok: false, detail: 'the domain has no network interface to probe' };
    const ip = ipForMac(mac);
    if (!ip) return { ok: false, detail: `interface ${mac} has no address on the segment (not a Xen MAC)` };
    const timeoutMs = (r.timeoutSeconds ?? 1) * 1000;
    return r.tcp ? this.d.probe('tcp', ip, r.tcp.port, '/', timeoutMs) : this.d.probe('http', ip, r.http!.port, r.http!.path ?? '/', timeoutMs);
  }

  private status(name: string, snapshot: DomainSnapshot, latest: DomainInfo | undefined, entry: DesiredEntry | undefined, meta: DomainRecord['meta'],
    lastValid: DomainRecord['lastValid'], running: DomainRecord['running'], previous: DomainStatus | undefined, now: number, xenstoreValue?: string,
    probed?: { ok: boolean; detail: string }): DomainStatus {
    const c = snapshot.context;
    const phase = phaseOf(snapshot);
    const s = stateOf(snapshot);
    const ours = latest && ['Running', 'Paused', 'Stopping', 'Starting', 'Crashed', 'Saving'].includes(s) ? latest : undefined;
    const spec = lastValid?.object.spec as DefaultedDomainSpec | undefined;
    const intents = this.d.store.intentsOf(name);
    const restartFields = spec && lastValid && running ? changedBootFields(running.fields, bootFields(spec, lastValid.kernel)) : [];
    const readiness = ours && this.d.consoles ? this.d.consoles.readiness(name, ours.domid) : { matched: false };
    const conditions: Condition[] = buildConditions({
      phase, state: s, generation: meta.generation, now, previous: previous?.conditions ?? [], spec,
      errors: entry?.errors ?? [], invalidFile: entry?.errors[0] ? formatDiagnostic(entry.errors[0]) : undefined,
      declared: !!entry, restartRequired: c.boot !== undefined && spec !== undefined && lastValid !== undefined && hashOf(bootFields(spec, lastValid.kernel)) !== c.boot.hash,
      restartFields, runningGeneration: running?.generation, consoleReady: readiness, xenstoreValue, probed, probesAvailable: this.d.probe !== undefined, lastError: c.lastError,
      saved: ours ? undefined : intents.saved, name,
    });
    const status: DomainStatus = { phase };
    if (ours) {
      status.domid = ours.domid;
      status.state = ours.state;
      status.host = this.site(name).host;
    }
    status.conditions = conditions;
    status.observedGeneration = meta.generation;
    status.restarts = c.restarts;
    if (ours && c.startedAt !== undefined) status.startedAt = new Date(c.startedAt).toISOString();
    if (ours && c.boot) status.kernel = c.boot.kernel;
    const reason = c.lastEnd?.cause;
    if (reason && ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'].includes(reason)) status.lastShutdownReason = reason as DomainStatus['lastShutdownReason'];
    const held = [intents.paused ? 'paused' : '', intents.stopped ? 'stopped' : '', intents.saved && !ours ? 'saved' : ''].filter(Boolean).join(',');
    if (held) status.intent = held;
    if (c.failCount > 0 || c.retryAt !== undefined) {
      status.startFailure = { consecutiveFailCount: c.failCount, ...(c.retryAt !== undefined ? { retryAfterTimestamp: new Date(c.retryAt).toISOString() } : {}) };
    }
    if (spec?.interfaces) status.interfaces = spec.interfaces.map((n) => ({ mac: n.mac, ...(n.ports ? { ports: n.ports } : {}) }));
    if (spec?.disks) status.disks = spec.disks.map((x) => ({ target: x.target, source: x.source, mode: x.mode }));
    return status;
  }

  /** The full object as the API shows it: manifest metadata and spec with defaults, and status. */
  object(name: string): Domain | undefined {
    const rec = this.records.get(name);
    const entry = this.d.desired.get(name);
    const src = entry?.object?.object ?? rec?.lastValid?.object;
    if (!src && !rec) return undefined;
    const obj: Domain = {
      apiVersion: 'xenoform.dev/v1alpha1',
      kind: 'Domain',
      metadata: {
        ...(src?.metadata ?? { name }),
        name,
        ...(rec ? { uid: rec.meta.uid, generation: rec.meta.generation, creationTimestamp: rec.meta.creationTimestamp } : {}),
      },
      spec: src?.spec ?? { kernel: '' },
      status: rec?.status ?? { phase: 'Pending' },
    };
    return obj;
  }

  lastValidKernel(name: string): string | undefined {
    return this.records.get(name)?.lastValid?.kernel;
  }

  /** Names known to the reconciler (recorded), for listing. */
  recordedNames(): string[] {
    return [...this.records.keys()];
  }

  /** Loads every saved record (start-up), so a restarted controller knows what it managed. */
  async loadAll(): Promise<DomainRecord[]> {
    const out: DomainRecord[] = [];
    for (const name of await this.d.store.domainNames()) {
      const events: PendingEvent[] = [];
      const r = await this.record(name, events);
      if (events.length) await this.d.store.events.record('Domain', name, events, new Date(this.d.clock.now()));
      if (r) out.push(r);
    }
    return out;
  }
}

function toObserved(i: DomainInfo): ObservedDomain {
  return {
    domid: i.domid, state: i.state, memoryKiB: i.memoryKiB, maxMemoryKiB: i.maxMemoryKiB, weight: i.weight, cap: i.cap,
    ...(i.shutdownReason !== undefined ? { shutdownReason: i.shutdownReason } : {}),
    ...(i.crashReason !== undefined ? { crashReason: i.crashReason } : {}),
  };
}

async function ignoreGone<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** When to look again without being told: waits the machine is in, and a quick look after acting. */
function requeueFor(s: DomainSnapshot, now: number, acted: boolean): ReconcileResult {
  const c = s.context;
  const waits: number[] = [];
  const state = stateOf(s);
  // after acting, the machine stopped deciding on a stale look: look again soon (states with
  // their own wait below are woken by host events or their timer)
  if (acted && !['Starting', 'Stopping', 'CrashLoopBackOff'].includes(state)) waits.push(20);
  switch (state) {
    case 'Starting': waits.push(500); break;
    case 'Stopping': if (c.stop) waits.push(Math.max(1, Math.min(c.stop.deadline - now, 1000))); break;
    case 'CrashLoopBackOff': if (c.retryAt !== undefined) waits.push(Math.max(1, c.retryAt - now)); break;
    case 'Running':
      if (c.failCount > 0 && c.startedAt !== undefined) waits.push(Math.max(1, c.startedAt + c.timing.stableAfterMs - now));
      break;
  }
  return waits.length ? { requeueAfter: Math.min(...waits) } : {};
}
