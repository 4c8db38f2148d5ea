import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchManifests, type ManifestChanges, type ManifestWatcher } from './watch.ts';

let w: ManifestWatcher | undefined;
afterEach(async () => { await w?.close(); w = undefined; });

function collector() {
  const batches: ManifestChanges[] = [];
  const waitFor = async (pred: (all: ManifestChanges) => boolean, ms = 5000) => {
    const start = Date.now();
    for (;;) {
      const all = { changed: batches.flatMap((b) => b.changed), removed: batches.flatMap((b) => b.removed) };
      if (pred(all)) return all;
      if (Date.now() - start > ms) throw new Error(`timeout; got ${JSON.stringify(batches)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { batches, waitFor, on: (c: ManifestChanges) => batches.push(c) };
}

describe('watchManifests', () => {
  it('reports manifest changes recursively, debounced, ignoring temp files and other names', async () => {
    const d = mkdtempSync(join(tmpdir(), 'xf-watch-'));
    mkdirSync(join(d, 'sub'));
    writeFileSync(join(d, 'old.yaml'), 'a: 1\n');
    const c = collector();
    w = watchManifests(d, c.on, { debounceMs: 30, stabilityMs: 50 });
    await w.ready;
    writeFileSync(join(d, 'a.yaml'), 'a: 1\n');
    writeFileSync(join(d, 'sub', 'b.yml'), 'b: 1\n');
    writeFileSync(join(d, '.a.yaml.swp'), 'x');
    writeFileSync(join(d, 'a.yaml~'), 'x');
    writeFileSync(join(d, 'notes.txt'), 'x');
    // an editor's save: write a temp file, rename it over the manifest
    writeFileSync(join(d, '4913'), 'x');
    writeFileSync(join(d, '.c.yaml.tmp'), 'c: 1\n');
    renameSync(join(d, '.c.yaml.tmp'), join(d, 'c.yaml'));
    rmSync(join(d, 'old.yaml'));
    const all = await c.waitFor((a) => a.changed.length >= 3 && a.removed.length >= 1);
    expect(new Set(all.changed)).toEqual(new Set([join(d, 'a.yaml'), join(d, 'sub', 'b.yml'), join(d, 'c.yaml')]));
    expect(all.removed).toEqual([join(d, 'old.yaml')]);
    expect(c.batches.length).toBeLessThanOrEqual(3);
    rmSync(d, { recursive: true, force: true });
  });
});
