// Manifest files → validated objects with defaults, and diagnostics that point at
// file:line:col and a field path. Parsing keeps YAML source positions (LineCounter, node
// ranges) so that every schema violation maps back to where it was written.
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { Diagnostic } from '../errors.ts';
import { GUESTS_BUILD_DIR, makeRoots, resolveManifestPath, type AllowedRoot } from './paths.ts';
import { DEFAULT_MAX_MANIFEST_BYTES, readManifestText } from './read.ts';
import { renderPath, validateManifestObject, type PathSeg, type Violation } from './validate.ts';

export interface ManifestObject {
  kind: string;
  name: string;
  /** the object with every default applied (status and controller metadata removed) */
  object: any;
  file: string;
  /** position of metadata.name's value */
  line: number;
  col: number;
  /** index of the document in its file, from 0 */
  doc: number;
  /** resolved absolute paths of the fields naming files, by field path: {'spec.kernel': '/…/hello.elf'} */
  files: Record<string, string>;
  /** values unique across objects, with where they were written (checked by combineResults) */
  claims: { key: string; what: string; path: string; line: number; col: number }[];
}

export interface ParseResult {
  objects: ManifestObject[];
  errors: Diagnostic[];
  warnings: Diagnostic[];
  /**
   * Files with an error not attributable to one named object (unreadable, binary, YAML syntax,
   * a document without a name): a controller keeps acting on what it last had from them.
   */
  heldFiles: string[];
}

export interface SourceOptions {
  /** allowed roots for paths in manifests (the watched directory, --allow-path…); guests/build is always added */
  roots: string[];
  maxFileBytes?: number;
}

type Pos = { line: number; col: number };

/** The node at `path` in `doc`, and the key node of its last segment. */
function locate(doc: Document, path: PathSeg[]): { node?: Node; key?: Node; parent?: Node; parentKey?: Node } {
  let node: unknown = doc.contents;
  let key: Node | undefined;
  let parent: Node | undefined;
  let parentKey: Node | undefined;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    parent = node as Node | undefined;
    parentKey = key;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
      if (!pair) return { parent, parentKey };
      key = pair.key as Node;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      key = undefined;
      node = node.items[seg];
      if (node === undefined) return { parent, parentKey };
    } else {
      return { parent, parentKey };
    }
  }
  return { node: (node ?? undefined) as Node | undefined, key, parent, parentKey };
}

function startOf(n: Node | undefined): number | undefined {
  return n?.range?.[0];
}

function positionFor(doc: Document, lc: LineCounter, v: Pick<Violation, 'path' | 'at'>, fallback: number): Pos {
  const { node, key, parent, parentKey } = locate(doc, v.path);
  let off: number | undefined;
  if (v.at === 'key') off = startOf(key) ?? startOf(node);
  else if (v.at === 'parent') off = startOf(parentKey) ?? startOf(parent);
  else off = startOf(node) ?? startOf(key);
  off ??= startOf(parentKey) ?? startOf(parent) ?? fallback;
  return lc.linePos(off);
}

const emptyResult = (): ParseResult => ({ objects: [], errors: [], warnings: [], heldFiles: [] });

function resolveRoots(opts: SourceOptions): AllowedRoot[] {
  return makeRoots([...opts.roots, GUESTS_BUILD_DIR]);
}

/**
 * Parses and validates the text of one manifest file (one or more YAML documents). Checks that
 * span files (duplicate names, host ports) are left to combineResults.
 */
export function parseManifestText(text: string, file: string, opts: SourceOptions, roots = resolveRoots(opts)): ParseResult {
  const out = emptyResult();
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, strict: true, merge: false, version: '1.2' });
  const diag = (pos: Pos, v: Pick<Violation, 'path' | 'message' | 'code' | 'severity'>, who?: { kind?: string; name?: string }): Diagnostic =>
    ({ file, line: pos.line, col: pos.col, path: renderPath(v.path), message: v.message, code: v.code, severity: v.severity ?? 'error', ...who });
  const hold = () => { if (!out.heldFiles.includes(file)) out.heldFiles.push(file); };

  const list = Array.isArray(docs) ? docs : [];
  // `---` with nothing after it, `~` or `null`: an empty document, skipped as kubectl does
  const isEmptyDoc = (d: Document.Parsed) => d.errors.length === 0 && (d.contents === null || (isScalar(d.contents) && d.contents.value === null));
  const withContent = list.filter((d) => !isEmptyDoc(d));
  if (withContent.length === 0) {
    out.errors.push(diag({ line: 1, col: 1 }, { path: [], code: 'EmptyFile', message: 'file has no documents (expected a Domain manifest)' }));
    hold();
    return out;
  }
  const syntaxBroken = list.some((d) => d.errors.length > 0);
  list.forEach((doc, index) => {
    for (const e of doc.errors) {
      out.errors.push(diag(lc.linePos(e.pos[0]), { path: [], code: 'YAMLSyntax', message: `YAML syntax error: ${e.message.split('\n')[0]}` }));
    }
    for (const w of doc.warnings) {
      out.warnings.push(diag(lc.linePos(w.pos[0]), { path: [], code: 'YAMLWarning', message: w.message.split('\n')[0]!, severity: 'warning' }));
    }
    if (doc.errors.length > 0 || doc.contents === null || isEmptyDoc(doc)) return;
    const docStart = doc.contents.range?.[0] ?? 0;
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      out.errors.push(diag(lc.linePos(docStart), { path: [], code: 'YAMLSyntax', message: `YAML error: ${(e as Error).message}` }));
      hold();
      return;
    }
    const outcome = validateManifestObject(data);
    const name = typeof (data as any)?.metadata?.name === 'string' ? (data as any).metadata.name as string : undefined;
    const kindName = outcome.kind?.kind ?? (typeof (data as any)?.kind === 'string' ? (data as any).kind : undefined);
    const who = name !== undefined ? { kind: kindName, name } : {};
    if (name === undefined && !outcome.ok) hold();
    for (const v of outcome.violations) {
      const d = diag(positionFor(doc, lc, v, docStart), v, who);
      (d.severity === 'warning' ? out.warnings : out.errors).push(d);
    }
    if (!outcome.ok) return;

    const files: Record<string, string> = {};
    let pathsOk = true;
    for (const f of outcome.kind.fileFields(outcome.object)) {
      const r = resolveManifestPath(f.value, file, roots, f.mustExist);
      if (r.ok) { files[renderPath(f.path)] = r.real ?? r.absolute; continue; }
      pathsOk = false;
      out.errors.push(diag(positionFor(doc, lc, { path: f.path }, docStart), { path: f.path, code: r.code, message: r.message }, who));
    }
    if (!pathsOk || syntaxBroken) return;
    const namePos = positionFor(doc, lc, { path: ['metadata', 'name'] }, docStart);
    out.objects.push({
      kind: outcome.kind.kind,
      name: name!,
      object: outcome.object,
      file,
      line: namePos.line,
      col: namePos.col,
      doc: index,
      files,
      claims: outcome.kind.claims(outcome.object).map((c) => {
        const p = positionFor(doc, lc, { path: c.path }, docStart);
        return { key: c.key, what: c.what, path: renderPath(c.path), line: p.line, col: p.col };
      }),
    });
  });
  if (syntaxBroken) hold();
  out.errors = dedupe(out.errors.sort(byPlace));
  out.warnings = dedupe(out.warnings.sort(byPlace));
  return out;
}

/** Reads and parses one manifest file; never throws for bad content. */
export async function loadManifestFile(file: string, opts: SourceOptions, roots = resolveRoots(opts)): Promise<ParseResult> {
  const r = await readManifestText(file, opts.maxFileBytes ?? DEFAULT_MAX_MANIFEST_BYTES);
  if ('error' in r) return { objects: [], errors: [r.error], warnings: [], heldFiles: [file] };
  return parseManifestText(r.text, file, opts, roots);
}

const where = (o: { file: string; line: number; col: number }) => `${o.file}:${o.line}:${o.col}`;

/**
 * Merges per-file results and applies the checks across objects: two objects of one kind with
 * one name are both refused, each error naming the other places; likewise two objects claiming
 * one host port or MAC. Refused objects are removed from `objects`.
 */
export function combineResults(results: ParseResult[]): ParseResult {
  const out = emptyResult();
  const all: ManifestObject[] = [];
  for (const r of results) {
    all.push(...r.objects);
    out.errors.push(...r.errors);
    out.warnings.push(...r.warnings);
    for (const f of r.heldFiles) if (!out.heldFiles.includes(f)) out.heldFiles.push(f);
  }
  const refused = new Set<ManifestObject>();
  const byName = new Map<string, ManifestObject[]>();
  for (const o of all) {
    const k = `${o.kind}/${o.name}`;
    byName.set(k, [...(byName.get(k) ?? []), o]);
  }
  for (const group of byName.values()) {
    if (group.length < 2) continue;
    for (const o of group) {
      refused.add(o);
      const others = group.filter((g) => g !== o).map(where).join(', ');
      out.errors.push({ file: o.file, line: o.line, col: o.col, path: 'metadata.name', code: 'DuplicateName', severity: 'error', kind: o.kind, name: o.name, message: `duplicate ${o.kind} "${o.name}": also defined at ${others}` });
    }
  }
  const byClaim = new Map<string, { o: ManifestObject; c: ManifestObject['claims'][number] }[]>();
  for (const o of all) {
    if (refused.has(o)) continue;
    for (const c of o.claims) byClaim.set(c.key, [...(byClaim.get(c.key) ?? []), { o, c }]);
  }
  for (const group of byClaim.values()) {
    if (new Set(group.map((g) => g.o)).size < 2) continue;
    for (const { o, c } of group) {
      refused.add(o);
      const others = group.filter((g) => g.o !== o).map((g) => `${g.o.kind} "${g.o.name}" at ${where({ file: g.o.file, ...g.c })}`).join(', ');
      out.errors.push({ file: o.file, line: c.line, col: c.col, path: c.path, code: 'Conflict', severity: 'error', kind: o.kind, name: o.name, message: `${c.what} is also used by ${others}` });
    }
  }
  out.objects = all.filter((o) => !refused.has(o));
  out.errors = dedupe(out.errors.sort(byPlace));
  out.warnings = dedupe(out.warnings.sort(byPlace));
  return out;
}

export const byPlace = (a: Diagnostic, b: Diagnostic): number => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col);

/** One diagnostic per place: YAML often reports one mistake twice at one position. */
function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.file}:${d.line}:${d.col}:${d.path}:${d.code}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** True for names the source reads: *.yaml / *.yml, not dotfiles or editor temp files. */
export function isManifestName(name: string): boolean {
  if (name.startsWith('.') || name.endsWith('~') || (name.startsWith('#') && name.endsWith('#'))) return false;
  return /\.ya?ml$/i.test(name);
}

/** Directory names the source never descends into. */
export function isSkippedDir(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules';
}

/** Every manifest file under `dir`, recursively, sorted; symlinked directories are not followed. */
export async function listManifestFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = join(d, e.name);
      if (e.isDirectory()) { if (!isSkippedDir(e.name)) await walk(p); }
      else if ((e.isFile() || e.isSymbolicLink()) && isManifestName(e.name)) out.push(p);
    }
  };
  await walk(dir);
  return out;
}

export interface LoadOptions {
  /** more allowed roots (--allow-path) */
  allowPaths?: string[];
  maxFileBytes?: number;
}

/**
 * Loads manifests from files and directories (as `validate PATH…` does): a directory is read
 * recursively and is an allowed root; a file's own directory is its root.
 */
export async function loadManifests(paths: string[], opts: LoadOptions = {}): Promise<ParseResult> {
  const files: { file: string; root: string }[] = [];
  const missing: Diagnostic[] = [];
  for (const p of paths) {
    let isDir = false;
    try { isDir = (await stat(p)).isDirectory(); } catch { /* reported by loadManifestFile */ }
    if (isDir) {
      const listed = await listManifestFiles(p);
      if (listed.length === 0) missing.push({ file: p, line: 0, col: 0, path: '', code: 'NoManifests', severity: 'warning', message: 'no *.yaml or *.yml files in this directory' });
      for (const f of listed) files.push({ file: f, root: p });
    } else {
      files.push({ file: p, root: resolve(p, '..') });
    }
  }
  const results = await Promise.all(files.map(({ file, root }) =>
    loadManifestFile(file, { roots: [root, ...(opts.allowPaths ?? [])], maxFileBytes: opts.maxFileBytes })));
  const combined = combineResults(results);
  combined.warnings.push(...missing);
  return combined;
}
