// Events per object (reason, message, time), as Kubernetes Events: CamelCase reasons, repeats
// aggregated into a count. Kept in memory for `events -w` and persisted per object under
// <state-dir>/events/<name>.json (the last MAX_PER_OBJECT), written atomically.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { quarantine, readJson, writeJsonAtomic } from './atomic.ts';

export interface ObjectEvent {
  kind: string;
  name: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** first and last time this event was seen (ISO 8601), and how often */
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
}

export const MAX_PER_OBJECT = 100;
const MAX_RECENT = 5000;

export type EventListener = (e: ObjectEvent) => void;

export class EventLog {
  private byObject = new Map<string, ObjectEvent[]>();
  private recent: ObjectEvent[] = [];
  private listeners = new Set<EventListener>();

  constructor(private readonly dir: string, private readonly report: (msg: string) => void = () => undefined) {}

  private file(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  /** Loads every object's saved events (a corrupt file is set aside and reported). */
  async load(): Promise<void> {
    let names: string[] = [];
    try { names = (await readdir(this.dir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)); } catch { return; }
    for (const name of names) {
      const r = await readJson<{ events: ObjectEvent[] }>(this.file(name));
      if (r.state === 'ok' && Array.isArray(r.value.events)) this.byObject.set(name, r.value.events.slice(-MAX_PER_OBJECT));
      else if (r.state === 'corrupt' || r.state === 'ok') {
        const aside = await quarantine(this.file(name));
        this.report(`events of ${name}: ${r.state === 'corrupt' ? r.error : 'not an event list'}; moved to ${aside} and started anew`);
      }
    }
    this.recent = [...this.byObject.values()].flat().sort((a, b) => (a.lastTimestamp < b.lastTimestamp ? -1 : 1)).slice(-MAX_RECENT);
  }

  /** Records events of one object and persists them (one write). */
  async record(kind: string, name: string, items: { type: 'Normal' | 'Warning'; reason: string; message: string }[], at: Date): Promise<void> {
    if (items.length === 0) return;
    const list = this.byObject.get(name) ?? [];
    const time = at.toISOString();
    for (const it of items) {
      const last = list.at(-1);
      let e: ObjectEvent;
      if (last && last.reason === it.reason && last.message === it.message && last.type === it.type) {
        last.count++;
        last.lastTimestamp = time;
        e = last;
      } else {
        e = { kind, name, type: it.type, reason: it.reason, message: it.message, firstTimestamp: time, lastTimestamp: time, count: 1 };
        list.push(e);
        this.recent.push(e);
      }
      for (const l of this.listeners) l(e);
    }
    if (list.length > MAX_PER_OBJECT) list.splice(0, list.length - MAX_PER_OBJECT);
    if (this.recent.length > MAX_RECENT * 1.2) this.recent = this.recent.slice(-MAX_RECENT);
    this.byObject.set(name, list);
    // events are history, not state: a power cut may lose the latest ones (no directory fsync)
    await writeJsonAtomic(this.file(name), { kind, name, events: list }, { syncDir: false });
  }

  /** Events of one object, or of all (oldest first). */
  list(name?: string): ObjectEvent[] {
    if (name !== undefined) return [...(this.byObject.get(name) ?? [])];
    return [...this.recent].sort((a, b) => (a.lastTimestamp < b.lastTimestamp ? -1 : a.lastTimestamp > b.lastTimestamp ? 1 : 0));
  }

  subscribe(fn: EventListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
