// Desired state: the manifests directory as the controller holds it. Each file's latest parse
// is kept; a file that cannot be read or parsed as a whole (heldFiles: YAML syntax, binary, …)
// keeps contributing the objects of its last good parse, so a half-written file never deletes
// a domain. Errors tied to a named object make that object invalid: reconcile keeps its
// domain on the last valid spec (condition InvalidSpec).
import { combineResults, listManifestFiles, loadManifestFile, type ManifestObject, type ParseResult } from '../source/index.ts';
import type { Diagnostic } from '../errors.ts';

export interface DesiredEntry {
  name: string;
  /** the valid object now declared, if any */
  object?: ManifestObject;
  /** problems with this object now (it keeps its last valid spec while there are any) */
  errors: Diagnostic[];
}

export interface DesiredOptions {
  /** the watched directory (an allowed root) */
  dir: string;
  /** more allowed roots (--allow-path) */
  allowPaths?: string[];
  maxFileBytes?: number;
}

export class DesiredState {
  private perFile = new Map<string, ParseResult>();
  /** per file, the objects of its last parse that had no file-level error */
  private good = new Map<string, ManifestObject[]>();
  private entries = new Map<string, DesiredEntry>();
  /** Host objects, by name (the same file-level holding as Domains) */
  private hostEntries = new Map<string, DesiredEntry>();
  /** each Host's last valid object: an invalid edit keeps the host connected on it */
  private lastValidHosts = new Map<string, ManifestObject>();
  private unattributed: Diagnostic[] = [];
  private warnings: Diagnostic[] = [];

  constructor(private readonly opts: DesiredOptions) {}

  private get sourceOptions() {
    return { roots: [this.opts.dir, ...(this.opts.allowPaths ?? [])], maxFileBytes: this.opts.maxFileBytes };
  }

  /**
   * What a file held before this controller started (from the state dir's last valid specs), so
   * that a file broken at start-up still holds its domains.
   */
  seed(file: string, objects: ManifestObject[]): void {
    if (!this.good.has(file)) this.good.set(file, objects);
  }

  /** Reads every manifest file; returns the names whose entry changed. */
  async loadAll(): Promise<string[]> {
    const files = await listManifestFiles(this.opts.dir).catch(() => [] as string[]);
    const gone = [...this.perFile.keys()].filter((f) => !files.includes(f));
    return this.update(files, gone);
  }

  /** Re-reads `changed` files and forgets `removed` ones; returns the names whose entry changed. */
  async update(changed: string[], removed: string[]): Promise<string[]> {
    const results = await Promise.all(changed.map((f) => loadManifestFile(f, this.sourceOptions)));
    changed.forEach((f, i) => {
      const r = results[i]!;
      this.perFile.set(f, r);
      if (r.heldFiles.includes(f)) return;
      // objects of this file that are invalid now stay among its good ones (at their last good
      // content), so that a later syntax error in the file still holds them
      const invalidNow = new Set(r.errors.filter((d) => (d.kind === 'Domain' || d.kind === 'Host') && d.name !== undefined).map((d) => `${d.kind}/${d.name}`));
      const valid = new Set(r.objects.map((o) => `${o.kind}/${o.name}`));
      const kept = (this.good.get(f) ?? []).filter((o) => invalidNow.has(`${o.kind}/${o.name}`) && !valid.has(`${o.kind}/${o.name}`));
      this.good.set(f, [...r.objects, ...kept]);
    });
    for (const f of removed) {
      this.perFile.delete(f);
      this.good.delete(f);
    }
    return this.recombine();
  }

  private recombine(): string[] {
    const parts: ParseResult[] = [];
    const heldErrors = new Map<string, Diagnostic[]>();
    for (const [file, r] of this.perFile) {
      if (r.heldFiles.includes(file)) {
        const kept = this.good.get(file) ?? [];
        parts.push({ objects: kept, errors: r.errors, warnings: r.warnings, heldFiles: [] });
        // the file as a whole is broken: each object it held is invalid until it is fixed
        for (const o of kept) if (o.kind === 'Domain') heldErrors.set(o.name, r.errors.filter((e) => e.severity === 'error'));
      } else {
        parts.push(r);
      }
    }
    // seeded files not (yet) seen on disk contribute nothing: they were deleted
    const combined = combineResults(parts);
    const next = new Map<string, DesiredEntry>();
    const entry = (name: string) => {
      let e = next.get(name);
      if (!e) next.set(name, (e = { name, errors: [] }));
      return e;
    };
    for (const o of combined.objects) if (o.kind === 'Domain') entry(o.name).object = o;
    const hosts = new Map<string, DesiredEntry>();
    const hostEntry = (name: string) => {
      let e = hosts.get(name);
      if (!e) hosts.set(name, (e = { name, errors: [] }));
      return e;
    };
    for (const o of combined.objects) if (o.kind === 'Host') hostEntry(o.name).object = o;
    const unattributed: Diagnostic[] = [];
    for (const d of combined.errors) {
      if (d.kind === 'Domain' && d.name !== undefined && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(d.name) && d.name.length <= 63) entry(d.name).errors.push(d);
      // an invalid Host (a bad name included, such as the reserved `local`) is reported, never applied
      else if (d.kind === 'Host' && d.name !== undefined) {
        unattributed.push(d);
        hostEntry(d.name).errors.push(d);
      }
      else if (d.name === undefined) unattributed.push(d);
    }
    for (const [name, errs] of heldErrors) {
      const e = entry(name);
      // the held object itself is the last good one, not a valid current declaration
      if (e.object && errs.length > 0) {
        e.errors.push(...errs);
        delete e.object;
      }
    }
    this.unattributed = unattributed;
    this.warnings = combined.warnings;
    const changed: string[] = [];
    for (const name of new Set([...this.entries.keys(), ...next.keys()])) {
      if (fingerprint(this.entries.get(name)) !== fingerprint(next.get(name))) changed.push(name);
    }
    this.entries = next;
    // a broken file keeps its last good Hosts, as it keeps Domains (they are among `kept` above);
    // an invalid edit of one Host keeps its last valid object (as a Domain keeps its last valid
    // spec): a typo must not disconnect a host and have its domains placed elsewhere
    for (const [name, e] of hosts) {
      if (e.object) this.lastValidHosts.set(name, e.object);
      else if (this.lastValidHosts.has(name)) e.object = this.lastValidHosts.get(name);
      else hosts.delete(name);
    }
    for (const name of [...this.lastValidHosts.keys()]) if (!hosts.has(name)) this.lastValidHosts.delete(name);
    this.hostEntries = hosts;
    return changed;
  }

  get(name: string): DesiredEntry | undefined {
    return this.entries.get(name);
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** The Host objects declared now (valid ones; invalid ones are in problems()). */
  hosts(): ManifestObject[] {
    return [...this.hostEntries.values()].map((e) => e.object!).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Problems that belong to no named object (an unreadable file, a document without a name). */
  problems(): Diagnostic[] {
    return [...this.unattributed];
  }

  warningsNow(): Diagnostic[] {
    return [...this.warnings];
  }
}

function fingerprint(e: DesiredEntry | undefined): string {
  if (!e) return '';
  return JSON.stringify([e.object?.object ?? null, e.object?.file ?? null, e.object?.files ?? null, e.errors.map((d) => [d.file, d.line, d.col, d.path, d.code, d.message])]);
}
