// The corpus of bad manifests (tests/fixtures/bad-manifests): every file gives its clear error
// at the expected line:col and field, nothing throws, and a valid manifest beside them is
// still accepted. The 10 MB file is generated here, never committed.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../controller/errors.ts';
import { isManifestName, loadManifests, type ParseResult } from '../../controller/source/parse.ts';

const corpus = fileURLToPath(new URL('../fixtures/bad-manifests/', import.meta.url));
const expected = JSON.parse(readFileSync(join(corpus, 'expected.json'), 'utf8')) as Record<string, string[] | string>;
delete expected._comment;

let dir: string;
let result: ParseResult;
let byFile: Map<string, string[]>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xf-corpus-'));
  cpSync(corpus, dir, { recursive: true, verbatimSymlinks: true });
  const huge = Buffer.alloc(10 * 1024 * 1024, 'a');
  huge.write('apiVersion: xenoform.dev/v1alpha1\nkind: Domain\nmetadata:\n  name: huge\n  annotations:\n    pad: ');
  writeFileSync(join(dir, 'huge-10mb.yaml'), huge);
  writeFileSync(join(dir, 'good.yaml'), 'apiVersion: xenoform.dev/v1alpha1\nkind: Domain\nmetadata:\n  name: good\nspec:\n  kernel: kernel.elf\n');
  result = await loadManifests([dir]);
  byFile = new Map();
  for (const d of result.errors) {
    const f = basename(d.file);
    byFile.set(f, [...(byFile.get(f) ?? []), formatDiagnostic({ ...d, file: f })]);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bad manifest corpus', () => {
  it('has at least 30 bad manifests, each with its expected errors listed', () => {
    const files = readdirSync(corpus).filter(isManifestName).sort();
    expect(files.length).toBeGreaterThanOrEqual(30);
    expect([...files, 'huge-10mb.yaml'].sort()).toEqual(Object.keys(expected).sort());
  });

  it('accepts the one valid manifest among them (and the valid first document of a multi-document file)', () => {
    expect(result.objects.map((o) => o.name).sort()).toEqual(['good', 'multi-doc-first-ok']);
  });

  for (const [file, wants] of Object.entries(expected)) {
    it(`${file}: ${([] as string[]).concat(wants)[0]}`, () => {
      const got = byFile.get(file) ?? [];
      expect(got.length, `no error for ${file}`).toBeGreaterThan(0);
      for (const want of ([] as string[]).concat(wants)) {
        expect(got.some((line) => line.includes(want)), `${file}: wanted "${want}" in:\n${got.join('\n')}`).toBe(true);
      }
      // one clear line each: no stack traces, no multi-line messages
      for (const line of got) expect(line).not.toMatch(/\n|\s+at \S+ \(/);
    });
  }

  it('refuses the 10 MB file without reading it all', () => {
    expect(byFile.get('huge-10mb.yaml')).toEqual(['huge-10mb.yaml: file is too large: 10485760 bytes (manifests are limited to 1048576 bytes)']);
  });
});
