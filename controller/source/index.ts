// The manifest source: files → validated objects with defaults, diagnostics with positions,
// and a watcher. See parse.ts for the contract (objects, errors with kind/name, heldFiles).
export {
  combineResults, isManifestName, listManifestFiles, loadManifestFile, loadManifests, parseManifestText,
  type LoadOptions, type ManifestObject, type ParseResult, type SourceOptions,
} from './parse.ts';
export { validateManifestObject, renderPath, type Violation } from './validate.ts';
export { readManifestText, DEFAULT_MAX_MANIFEST_BYTES } from './read.ts';
export { resolveManifestPath, makeRoots, GUESTS_BUILD_DIR, PACKAGE_ROOT } from './paths.ts';
export { watchManifests, type ManifestChanges, type ManifestWatcher, type WatchOptions } from './watch.ts';
