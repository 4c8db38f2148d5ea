// A fake Hypervisor API for reconciler and manager tests: domains are records whose lifecycle
// the test drives (crash, poweroff, console output), every call is logged, and guests answer a
// shutdown request as told. No CPU, no guest, no time of its own.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  AsyncQueue, ByteStream, HostUnavailableError, ImageRefusedError, InvalidArgumentError, NameTakenError, NoSuchDomainError, NotImplementedError,
  type ConsoleOptions, type ConsoleStream, type CreateSpec, type DomainEvent, type DomainEventType, type DomainInfo, type DomainRow,
  type HostInfo, type HostStats, type HypervisorApi, type IncomingMigration, type MigrationResult, type Stream,
} from '../../runtime/api.ts';

const FAKE_IMAGE = 'XNFSAVE-fake';

interface FakeDomain {
  info: DomainInfo;
  console: Uint8Array[];
  followers: Set<ByteStream>;
  paused: number;
}

export class FakeHypervisor implements HypervisorApi {
  readonly calls: string[] = [];
  private domains = new Map<number, FakeDomain>();
  private nextId = 1;
  private subscribers = new Set<AsyncQueue<DomainEvent>>();
  /** what a guest does when asked to shut down */
  onShutdownRequest: 'comply' | 'ignore' = 'comply';
  /** make the next create fail with this error */
  failNextCreate?: Error;
  /** make the next save fail with this error (the domain keeps running, as the real host's does) */
  failNextSave?: Error;
  down = false;

  private check(): void {
    if (this.down) throw new HostUnavailableError('no host is listening (fake host down)');
  }

  private get(id: number): FakeDomain {
    const d = this.domains.get(id);
    if (!d) throw new NoSuchDomainError(id);
    return d;
  }

  byName(name: string): DomainInfo | undefined {
    return [...this.domains.values()].find((d) => d.info.name === name)?.info;
  }

  live(): DomainInfo[] {
    return [...this.domains.values()].map((d) => d.info);
  }

  private emit(type: DomainEventType, d: DomainInfo, reason?: string): void {
    const ev: DomainEvent = { type, domid: d.domid, name: d.name, state: d.state, ...(reason ? { reason } : {}), timeNs: 0, time: new Date().toISOString(), info: { ...d } };
    for (const q of this.subscribers) q.push(ev);
  }

  // ---- test controls ----------------------------------------------------------------------------

  /** The guest shuts itself down (poweroff, reboot, watchdog) or crashes. */
  end(name: string, reason: 'poweroff' | 'reboot' | 'crash' | 'watchdog'): void {
    const info = this.byName(name);
    if (!info) throw new Error(`no fake domain ${name}`);
    info.state = reason === 'crash' ? '----c-' : '---s--';
    info.shutdownReason = reason;
    this.emit(reason === 'crash' ? 'crashed' : 'shutdown', info, reason);
  }

  print(name: string, text: string): void {
    const info = this.byName(name);
    if (!info) throw new Error(`no fake domain ${name}`);
    const d = this.get(info.domid);
    const bytes = new TextEncoder().encode(text);
    d.console.push(bytes);
    for (const f of d.followers) f.push(bytes);
  }

  /** The host process dies: every domain is gone, domids start again. */
  powerCut(): void {
    for (const d of this.domains.values()) for (const f of d.followers) f.end();
    this.domains.clear();
    this.nextId = 1;
    for (const q of this.subscribers) q.end();
    this.subscribers.clear();
  }

  // ---- the API ---------------------------------------------------------------------------------

  async info(): Promise<HostInfo> {
    this.check();
    return { version: 'fake', xenVersion: '4.19', memoryTotalMiB: 65536, memoryFreeMiB: 65536, pcpus: 1, clock: 'virtual', uptimeS: 0, domains: this.domains.size, pid: process.pid };
  }

  async list(): Promise<DomainRow[]> {
    this.check();
    this.calls.push('list');
    return [
      { name: 'Domain-0', id: 0, memoryMiB: 100, vcpus: 1, state: 'r-----', cpuTimeS: 0 },
      ...[...this.domains.values()].map((d) => ({ name: d.info.name, id: d.info.domid, memoryMiB: Math.floor(d.info.memoryKiB / 1024), vcpus: d.info.vcpus, state: d.info.state, cpuTimeS: 0 })),
    ];
  }

  async domain(id: number): Promise<DomainInfo> {
    this.check();
    return { ...this.get(id).info };
  }

  /** Keys "guests" wrote, by domid then path (tests set them directly). */
  readonly xenstore = new Map<number, Map<string, string>>();

  async xenstoreRead(id: number, path: string): Promise<string | undefined> {
    this.check();
    this.get(id);
    return this.xenstore.get(id)?.get(path.replace(/^\/local\/domain\/\d+\//, ''));
  }

  async create(spec: CreateSpec): Promise<DomainInfo> {
    this.check();
    this.calls.push(`create ${spec.name}`);
    if (this.failNextCreate) {
      const e = this.failNextCreate;
      this.failNextCreate = undefined;
      throw e;
    }
    if (this.byName(spec.name)) throw new NameTakenError(`a domain named "${spec.name}" already exists`);
    const info: DomainInfo = {
      domid: this.nextId++, name: spec.name, state: spec.paused ? '--p---' : 'r-----', memoryKiB: spec.memoryMiB * 1024,
      maxMemoryKiB: (spec.maxMemoryMiB ?? spec.memoryMiB) * 1024, vcpus: spec.vcpus ?? 1, cpuTimeNs: 0, weight: spec.weight ?? 256, cap: spec.cap ?? 0,
    };
    this.domains.set(info.domid, { info, console: [], followers: new Set(), paused: spec.paused ? 1 : 0 });
    this.emit('created', info);
    return { ...info };
  }

  async pause(id: number): Promise<DomainInfo> {
    this.check();
    this.calls.push(`pause ${id}`);
    const d = this.get(id);
    d.paused++;
    d.info.state = '--p---';
    this.emit('state', d.info);
    return { ...d.info };
  }

  async unpause(id: number): Promise<DomainInfo> {
    this.check();
    this.calls.push(`unpause ${id}`);
    const d = this.get(id);
    d.paused = Math.max(0, d.paused - 1);
    if (d.paused === 0 && !d.info.shutdownReason) d.info.state = 'r-----';
    this.emit('state', d.info);
    return { ...d.info };
  }

  async shutdown(id: number, reason: 'poweroff' | 'reboot' | 'suspend'): Promise<DomainInfo> {
    this.check();
    this.calls.push(`shutdown ${id} ${reason}`);
    const d = this.get(id);
    if (this.onShutdownRequest === 'comply' && !d.info.shutdownReason) {
      const info = d.info;
      queueMicrotask(() => {
        if (!this.domains.has(id)) return;
        info.state = '---s--';
        info.shutdownReason = reason;
        this.emit('shutdown', info, reason);
      });
    }
    return { ...d.info };
  }

  async destroy(id: number): Promise<void> {
    this.check();
    this.calls.push(`destroy ${id}`);
    const d = this.get(id);
    this.domains.delete(id);
    for (const f of d.followers) f.end();
    this.emit('destroyed', { ...d.info, state: '-----d' });
  }

  async setMemoryTarget(id: number, mib: number): Promise<DomainInfo> {
    this.check();
    this.calls.push(`mem-set ${id} ${mib}`);
    const d = this.get(id);
    if (mib * 1024 > d.info.maxMemoryKiB) throw new InvalidArgumentError(`memory target ${mib} MiB is more than the maximum`);
    d.info.memoryKiB = mib * 1024;
    return { ...d.info };
  }

  async setSched(id: number, p: { weight?: number; cap?: number }): Promise<DomainInfo> {
    this.check();
    this.calls.push(`sched ${id} ${p.weight}/${p.cap}`);
    const d = this.get(id);
    if (p.weight !== undefined) d.info.weight = p.weight;
    if (p.cap !== undefined) d.info.cap = p.cap;
    return { ...d.info };
  }

  async stats(): Promise<HostStats> {
    return { timeNs: 0, domains: [] };
  }

  console(id: number, opts: ConsoleOptions = {}): ConsoleStream {
    const d = this.get(id);
    const q: ByteStream = new ByteStream(() => d.followers.delete(q));
    for (const c of d.console) q.push(c);
    if (opts.follow) d.followers.add(q);
    else q.end();
    return q;
  }

  async consoleWrite(id: number): Promise<void> {
    this.get(id);
  }

  events(): Stream<DomainEvent> {
    const q: AsyncQueue<DomainEvent> = new AsyncQueue<DomainEvent>(() => this.subscribers.delete(q));
    this.subscribers.add(q);
    return q;
  }

  /**
   * xl save, as LocalHypervisor's (runtime/migrate/files.ts): the image (here JSON: the domain's
   * record and console) appears whole or not at all; a failed write keeps the domain running;
   * without checkpoint the domain is destroyed once the file is in place.
   */
  async save(id: number, file: string, opts: { checkpoint?: boolean } = {}): Promise<void> {
    this.check();
    this.calls.push(`save ${id} ${file}${opts.checkpoint ? ' checkpoint' : ''}`);
    if (typeof file !== 'string' || file.length === 0 || file.includes('\0')) throw new InvalidArgumentError('file must be a path on the host');
    const d = this.get(id);
    if (this.failNextSave) {
      const e = this.failNextSave;
      this.failNextSave = undefined;
      throw e;
    }
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify({ magic: FAKE_IMAGE, info: d.info, console: Buffer.concat(d.console).toString('base64') }), { mode: 0o600, flag: 'wx' });
      renameSync(tmp, file);
    } catch (e) {
      throw new InvalidArgumentError(`cannot write the save image ${file}: ${(e as Error).message}`);
    }
    if (!opts.checkpoint) await this.destroy(id);
  }

  /** xl restore: a new domid, the saved name (EEXIST while it is taken), IMAGE for a file that is no image. */
  async restore(file: string, opts: { paused?: boolean } = {}): Promise<DomainInfo> {
    this.check();
    this.calls.push(`restore ${file}`);
    let img: { magic?: string; info?: DomainInfo; console?: string };
    try {
      img = JSON.parse(readFileSync(file, 'utf8')) as typeof img;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new ImageRefusedError(err.code ? `cannot read the save image ${file}: ${err.message}` : `${file} is not a save image (BAD_MAGIC)`);
    }
    if (img?.magic !== FAKE_IMAGE || !img.info) throw new ImageRefusedError(`${file} is not a save image (BAD_MAGIC)`);
    if (this.byName(img.info.name)) throw new NameTakenError(`a domain named "${img.info.name}" already exists`);
    const info: DomainInfo = { ...img.info, domid: this.nextId++, state: opts.paused ? '--p---' : 'r-----' };
    delete info.shutdownReason;
    this.domains.set(info.domid, { info, console: [], followers: new Set(), paused: opts.paused ? 1 : 0 });
    this.emit('created', info);
    return { ...info };
  }

  async migrate(): Promise<MigrationResult> { throw new NotImplementedError('migrate'); }
  async incoming(): Promise<IncomingMigration[]> { return []; }
  async commitIncoming(name: string): Promise<DomainInfo> { throw new NotImplementedError(`commitIncoming ${name}`); }
  async abortIncoming(name: string): Promise<void> { throw new NotImplementedError(`abortIncoming ${name}`); }
  async stopHost() { return { shutdown: [], destroyed: [] }; }
  async close(): Promise<void> { /* nothing */ }
}
