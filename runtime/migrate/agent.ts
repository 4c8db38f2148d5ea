/**
 * A host's migration service, behind the Hypervisor API (LocalHypervisor delegates to it):
 * outgoing migrations (at most MAX_OUTGOING_MIGRATIONS at once, KubeVirt's
 * parallelOutboundMigrationsPerNode) and the domains arriving here, by name, until they are
 * activated or dropped. Errors leave as the API's error classes.
 */
import type { Duplex } from 'node:stream';
import type { Host } from '../host.ts';
import type { Domain } from '../hv/domain.ts';
import {
  BusyError, errorFromCode, InvalidArgumentError, NoSuchDomainError, toHypervisorError,
  type IncomingMigration, type MigrateOptions, type MigrationResult, type MigrationTarget,
} from '../api.ts';
import { openMigrationChannel } from './connect.ts';
import { MigrationError } from './errors.ts';
import { IncomingDomain } from './receive.ts';
import { migrateOut } from './send.ts';
import { MigrationChannel } from './wire.ts';

/** Outgoing live migrations at once per host (KubeVirt's parallelOutboundMigrationsPerNode: 2). */
export const MAX_OUTGOING_MIGRATIONS = 2;

export class MigrationAgent {
  private outgoingCount = 0;
  private readonly arriving = new Map<string, IncomingDomain>();

  constructor(private readonly host: Host) {}

  /** xl migrate: live migration of `d` to another host's agent (send.ts). */
  async migrate(d: Domain, target: MigrationTarget, opts: MigrateOptions = {}): Promise<MigrationResult> {
    if (typeof target?.address !== 'string' || typeof target.token !== 'string') throw new InvalidArgumentError('target must be {address: "HOST:PORT", token}');
    if (this.outgoingCount >= MAX_OUTGOING_MIGRATIONS) {
      throw new BusyError(`this host already runs ${this.outgoingCount} outgoing migrations (the limit is ${MAX_OUTGOING_MIGRATIONS}); try again when one ends`);
    }
    if (d.isShutdown) throw new InvalidArgumentError(`domain ${d.id} (${d.name}) has shut down; there is nothing to migrate`);
    this.outgoingCount++;
    try {
      const ch = await openMigrationChannel(target);
      return await migrateOut(this.host, d.id, ch, { ...opts, hostId: this.host.hostId });
    } catch (e) {
      if (e instanceof MigrationError) throw errorFromCode(e.code, e.message);
      throw toHypervisorError(e);
    } finally {
      this.outgoingCount--;
    }
  }

  /** The target's side: a source host's agent connected (server.ts upgrade) — serve the stream. */
  accept(socket: Duplex, head: Buffer, from: string): void {
    const ch = new MigrationChannel(socket, head);
    const inc = new IncomingDomain(this.host, ch, from, {
      hostId: this.host.hostId,
      claim: (name, who) => {
        if (this.arriving.has(name) || this.host.list().some((x) => x.name === name)) return false;
        this.arriving.set(name, who);
        return true;
      },
      release: (name, who) => {
        if (this.arriving.get(name) === who) this.arriving.delete(name);
      },
    });
    void inc.run();
  }

  incoming(): IncomingMigration[] {
    return [...this.arriving.values()].map((m) => ({
      name: m.name, domid: m.domid, state: m.state === 'prepared' ? 'prepared' : 'receiving', from: m.from, sinceMs: Date.now() - m.since,
    }));
  }

  /** Activate a prepared arrival whose source is gone (the controller's arbiter decided). */
  commit(name: string): Domain {
    const m = this.arrival(name);
    if (m.state !== 'prepared') throw new InvalidArgumentError(`the migration of "${name}" is still receiving; only a prepared one can be committed`);
    try {
      return m.activate();
    } catch (e) {
      throw e instanceof MigrationError ? errorFromCode(e.code, e.message) : toHypervisorError(e);
    }
  }

  /** Drop an arrival (the source's copy lives on). */
  abort(name: string): void {
    this.arrival(name).drop();
  }

  private arrival(name: string): IncomingDomain {
    const m = this.arriving.get(name);
    if (!m) throw Object.assign(new NoSuchDomainError(0), { message: `no migration of "${name}" is arriving on this host` });
    return m;
  }
}
