// Watching a manifests directory: chokidar, recursive, *.yaml / *.yml only; editor temp files
// and dotfiles ignored; writes awaited until the size is stable; events debounced into one
// batch. The batch says which files to look at again, not what happened to them: the watcher
// stats each path when it flushes, so a file written, removed and written again within one
// batch is simply "changed" (level-triggered, like the controller's loop).
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { isManifestName, isSkippedDir } from './parse.ts';

export interface ManifestChanges {
  /** absolute paths that exist now (added or modified) */
  changed: string[];
  /** absolute paths that no longer exist */
  removed: string[];
}

export interface WatchOptions {
  /** quiet time before a batch is emitted, ms (default 50) */
  debounceMs?: number;
  /** how long a file's size must stay unchanged before it counts as written, ms (default 100) */
  stabilityMs?: number;
  /** poll instead of inotify (network file systems, tests) */
  usePolling?: boolean;
  onError?: (err: Error) => void;
}

export interface ManifestWatcher {
  /** resolves once the initial scan is done (events before it are not reported) */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Watches `dir` recursively and calls `onChange` with each debounced batch of manifest files
 * that changed. Files present at start are not reported (the caller lists them itself with
 * listManifestFiles after `ready`, so nothing is missed between the two).
 */
export function watchManifests(dir: string, onChange: (changes: ManifestChanges) => void, opts: WatchOptions = {}): ManifestWatcher {
  const root = resolve(dir);
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const flush = () => {
    timer = undefined;
    if (closed || pending.size === 0) return;
    const files = [...pending].sort();
    pending.clear();
    const changes: ManifestChanges = { changed: [], removed: [] };
    for (const f of files) (existsSync(f) ? changes.changed : changes.removed).push(f);
    onChange(changes);
  };
  const note = (path: string) => {
    const abs = resolve(root, path);
    if (!isManifestName(basename(abs))) return;
    pending.add(abs);
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, opts.debounceMs ?? 50);
  };

  const watcher: FSWatcher = watch(root, {
    ignoreInitial: true,
    persistent: true,
    followSymlinks: false,
    usePolling: opts.usePolling ?? false,
    interval: 50,
    atomic: true,
    awaitWriteFinish: { stabilityThreshold: opts.stabilityMs ?? 100, pollInterval: 20 },
    // Editor temp files (.x.swp, .#x, x~, 4913, x.yaml.tmp) fail isManifestName: ignored.
    ignored: (path: string, stats?: { isFile(): boolean; isDirectory(): boolean }) => {
      if (resolve(path) === root) return false;
      const name = basename(path);
      if (stats?.isDirectory()) return isSkippedDir(name);
      if (name.startsWith('.')) return true;
      if (stats?.isFile()) return !isManifestName(name);
      return false; // not stat'ed yet: chokidar asks again with stats
    },
  });
  watcher.on('add', note).on('change', note).on('unlink', note);
  // a removed directory removes the manifests in it: chokidar reports each unlink as well
  watcher.on('error', (err) => opts.onError?.(err as Error));
  const ready = new Promise<void>((res) => watcher.once('ready', () => res()));
  return {
    ready,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}
