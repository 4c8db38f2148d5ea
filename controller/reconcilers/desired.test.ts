import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DesiredState } from './desired.ts';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const host = (name: string, extra = '') => `apiVersion: xenoform.dev/v1alpha1\nkind: Host\nmetadata:\n  name: ${name}\nspec:\n  address: 127.0.0.1:7001\n  tokenFile: t.token\n${extra}`;

describe('DesiredState: Hosts', () => {
  it('keeps declared Hosts beside Domains; an invalid edit keeps the last valid Host; a deleted file removes it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'xfd-'));
    writeFileSync(join(dir, 't.token'), 'token-0123456789abcdef');
    const file = join(dir, 'h.yaml');
    writeFileSync(file, host('b'));
    const d = new DesiredState({ dir });
    await d.loadAll();
    expect(d.hosts().map((h) => [h.name, h.files['spec.tokenFile']])).toEqual([['b', join(dir, 't.token')]]);
    expect(d.names()).toEqual([]);
    writeFileSync(file, host('b', '  capacity:\n    memoryMib: 4\n'));
    await d.update([file], []);
    expect(d.hosts().map((h) => h.name)).toEqual(['b']);
    expect(d.hosts()[0]!.object.spec.capacity).toBeUndefined();
    expect(d.problems().map((p) => `${p.line}:${p.col}: ${p.path}: ${p.code}`)).toEqual(['9:5: spec.capacity.memoryMib: UnknownField']);
    await d.update([], [file]);
    expect(d.hosts()).toEqual([]);
  });

  it('reports a Host named local and never declares it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'xfd-'));
    writeFileSync(join(dir, 't.token'), 'token-0123456789abcdef');
    writeFileSync(join(dir, 'h.yaml'), host('local'));
    const d = new DesiredState({ dir });
    await d.loadAll();
    expect(d.hosts()).toEqual([]);
    expect(d.problems()[0]).toMatchObject({ line: 4, col: 9, path: 'metadata.name', code: 'ReservedName' });
  });
});
