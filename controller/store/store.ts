// The state dir (../shared/DESIGN.md §3): per Domain one record — metadata the controller
// owns (uid, generation, creationTimestamp), the last valid spec, the machine snapshot and the
// status — written atomically once per reconcile pass; the user's intents in their own files
// (written by the API, read by reconcile); events; cores; console logs. A corrupt or missing
// file is reported and rebuilt from what is running, never a crash.
import { mkdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DomainStatus } from '../../crds/index.ts';
import type { Intents, PersistedDomainMachine } from '../machines/index.ts';
import { noIntents } from '../machines/index.ts';
import { quarantine, readJson, removeFile, writeJsonAtomic } from './atomic.ts';
import { EventLog } from './events.ts';

export interface DomainMeta {
  uid: string;
  creationTimestamp: string;
  generation: number;
  /** hash of the last valid spec, to tell when generation must increase */
  specHash: string;
}

export interface DomainRecord {
  version: 1;
  name: string;
  meta: DomainMeta;
  /** the last valid object (defaults applied, no status) and where it came from */
  lastValid?: { object: any; file: string; kernel: string; files?: Record<string, string> };
  machine?: PersistedDomainMachine;
  /** the boot fields the running domain was started with (assumed: adopted without a record) */
  running?: { generation: number; fields: Record<string, unknown>; assumed?: boolean };
  status: DomainStatus;
  updatedAt: string;
}

export interface IntentRecord extends Intents {
  /** when each was last asked for, for status and describe */
  updatedAt?: string;
  last?: string;
}

export type LoadedRecord = { record?: DomainRecord; problem?: string };

/** Names that are safe as file names: DNS-1123 labels only (the schema's metadata.name). */
const SAFE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export class StateStore {
  readonly domainsDir: string;
  readonly intentsDir: string;
  readonly coresDir: string;
  readonly logsDir: string;
  readonly events: EventLog;
  private intents = new Map<string, IntentRecord>();

  constructor(readonly dir: string, private readonly report: (msg: string) => void = () => undefined) {
    this.domainsDir = join(dir, 'domains');
    this.intentsDir = join(dir, 'intents');
    this.coresDir = join(dir, 'cores');
    this.logsDir = join(dir, 'logs');
    for (const d of [dir, this.domainsDir, this.intentsDir, this.coresDir, this.logsDir, join(dir, 'events')]) mkdirSync(d, { recursive: true, mode: 0o700 });
    this.events = new EventLog(join(dir, 'events'), report);
  }

  private checkName(name: string): void {
    if (!SAFE_NAME.test(name) || name.length > 63) throw new Error(`not a valid object name for the state dir: ${JSON.stringify(name)}`);
  }

  private domainFile(name: string): string {
    this.checkName(name);
    return join(this.domainsDir, `${name}.json`);
  }

  /** The saved record of a Domain; a corrupt one is set aside and reported (problem). */
  async loadDomain(name: string): Promise<LoadedRecord> {
    const file = this.domainFile(name);
    const r = await readJson<DomainRecord>(file);
    if (r.state === 'missing') return {};
    if (r.state === 'ok' && isRecord(r.value, name)) return { record: r.value };
    const why = r.state === 'corrupt' ? r.error : 'not a Domain record';
    const aside = await quarantine(file);
    const problem = `state file ${file} is corrupt (${why}); moved to ${aside} and rebuilt from what is running`;
    this.report(problem);
    return { problem };
  }

  saveDomain(rec: DomainRecord): Promise<void> {
    return writeJsonAtomic(this.domainFile(rec.name), rec);
  }

  async deleteDomain(name: string): Promise<void> {
    await removeFile(this.domainFile(name));
    await removeFile(join(this.intentsDir, `${name}.json`));
    this.intents.delete(name);
  }

  /** Names with a saved record (valid or not). */
  async domainNames(): Promise<string[]> {
    try {
      return (await readdir(this.domainsDir)).filter((f) => f.endsWith('.json') && !f.startsWith('.')).map((f) => f.slice(0, -5)).filter((n) => SAFE_NAME.test(n));
    } catch {
      return [];
    }
  }

  // ---- intents -------------------------------------------------------------------------------

  async loadIntents(): Promise<void> {
    let files: string[] = [];
    try { files = (await readdir(this.intentsDir)).filter((f) => f.endsWith('.json') && !f.startsWith('.')); } catch { return; }
    for (const f of files) {
      const name = f.slice(0, -5);
      const r = await readJson<IntentRecord>(join(this.intentsDir, f));
      if (r.state === 'ok' && typeof r.value === 'object' && r.value !== null) this.intents.set(name, { ...noIntents(), ...r.value });
      else if (r.state === 'corrupt') {
        const aside = await quarantine(join(this.intentsDir, f));
        this.report(`intents of ${name}: ${r.error}; moved to ${aside}; no intents in force`);
      }
    }
  }

  intentsOf(name: string): IntentRecord {
    return this.intents.get(name) ?? noIntents();
  }

  /** The Domain held down by a save to `file`, if any (restore goes to the host it was saved on). */
  savedTo(file: string): { name: string; host?: string } | undefined {
    for (const [name, i] of this.intents) if (i.saved?.file === file) return { name, host: i.saved.host };
    return undefined;
  }

  /** Changes a Domain's intents and saves them before resolving (the verb then returns). */
  async updateIntents(name: string, change: (i: IntentRecord) => void, label: string, at: Date): Promise<IntentRecord> {
    this.checkName(name);
    const next: IntentRecord = { ...this.intentsOf(name) };
    change(next);
    next.updatedAt = at.toISOString();
    next.last = label;
    this.intents.set(name, next);
    await writeJsonAtomic(join(this.intentsDir, `${name}.json`), next);
    return next;
  }
}

function isRecord(v: unknown, name: string): v is DomainRecord {
  const r = v as DomainRecord;
  return typeof r === 'object' && r !== null && r.version === 1 && r.name === name && typeof r.meta === 'object' && r.meta !== null
    && typeof r.meta.uid === 'string' && typeof r.meta.generation === 'number' && typeof r.status === 'object' && r.status !== null;
}
