import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../errors.ts';
import { combineResults, isManifestName, listManifestFiles, loadManifestFile, loadManifests, parseManifestText } from './parse.ts';

let dir: string;
const head = (name: string) => `apiVersion: xenoform.dev/v1alpha1\nkind: Domain\nmetadata:\n  name: ${name}\nspec:\n  kernel: k.elf\n`;
const parse = (text: string, file = join(dir, 'm.yaml')) => parseManifestText(text, file, { roots: [dir] });
const lines = (r: { errors: Parameters<typeof formatDiagnostic>[0][] }) => r.errors.map((e) => formatDiagnostic({ ...e, file: 'm.yaml' }));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xf-src-'));
  writeFileSync(join(dir, 'k.elf'), 'ELF');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseManifestText', () => {
  it('returns the object with defaults, the name position and resolved files', () => {
    const r = parse(head('web') + '  memory: 64\n');
    expect(r.errors).toEqual([]);
    expect(r.objects).toHaveLength(1);
    const o = r.objects[0]!;
    expect(o).toMatchObject({ kind: 'Domain', name: 'web', line: 4, col: 9, doc: 0 });
    expect(o.object.spec).toMatchObject({ memory: 64, maxMemory: 64, cpuWeight: 256, runStrategy: 'Always' });
    expect(o.files['spec.kernel']).toBe(join(dir, 'k.elf'));
  });

  it('maps schema errors to line:col and field path', () => {
    const r = parse(head('web') + '  memory: "64"\n  disks:\n    - source: k.elf\n      target: hda\n');
    expect(lines(r)).toEqual([
      'm.yaml:7:11: spec.memory: must be integer, not string "64"',
      'm.yaml:10:15: spec.disks[0].target: must be a PV block device name: xvd followed by letters (xvda, xvdb, …), not string "hda"',
    ]);
    expect(r.errors[0]).toMatchObject({ code: 'InvalidType', kind: 'Domain', name: 'web' });
    expect(r.objects).toEqual([]);
    expect(r.heldFiles).toEqual([]); // attributable to Domain/web
  });

  it('points unknown fields at their key and missing ones at their parent', () => {
    const r = parse('apiVersion: xenoform.dev/v1alpha1\nkind: Domain\nmetadata:\n  name: a\nspec:\n  memory: 32\n  colour: red\n');
    expect(lines(r)).toEqual([
      'm.yaml:5:1: spec.kernel: required field is missing',
      'm.yaml:7:3: spec.colour: unknown field "colour" (known fields: kernel, ramdisk, cmdline, memory, maxMemory, vcpus, maxVcpus, cpuWeight, cpuCap, disks, interfaces, onPoweroff, onReboot, onCrash, onWatchdog, runStrategy, readiness, updateStrategy, host)',
    ]);
  });

  it('reports YAML syntax errors with their position and holds the whole file', () => {
    const r = parse(head('ok') + '---\n' + head('bad') + '  memory: [1, 2\n');
    expect(r.errors[0]).toMatchObject({ code: 'YAMLSyntax' });
    expect(r.errors[0]!.line).toBeGreaterThanOrEqual(14); // the unclosed [ is found at the end
    expect(r.objects).toEqual([]);
    expect(r.heldFiles).toEqual([join(dir, 'm.yaml')]);
  });

  it('reads every document of a multi-document file and skips empty ones', () => {
    const r = parse('---\n' + head('a') + '---\n---\n# nothing\n---\n' + head('b'));
    expect(r.errors).toEqual([]);
    expect(r.objects.map((o) => [o.name, o.doc, o.line])).toEqual([['a', 0, 5], ['b', 3, 15]]);
  });

  it('refuses an empty file and a non-mapping document', () => {
    expect(lines(parse(''))).toEqual(['m.yaml:1:1: file has no documents (expected a Domain manifest)']);
    expect(lines(parse('# only a comment\n'))[0]).toContain('file has no documents');
    expect(parse('- a\n- b\n').errors[0]).toMatchObject({ code: 'NotMapping', line: 1, col: 1 });
  });

  it('warns about and drops status and controller metadata', () => {
    const r = parse(head('web').replace('  name: web\n', '  name: web\n  uid: abc\n') + 'status:\n  phase: Running\n');
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => w.code)).toEqual(['FieldIgnored', 'StatusIgnored']);
    expect(r.objects[0]!.object.status).toBeUndefined();
    expect(r.objects[0]!.object.metadata.uid).toBeUndefined();
  });

  it('keeps paths inside the allowed roots, lexically and through symlinks', () => {
    mkdirSync(join(dir, 'sub'), { recursive: true });
    symlinkSync('/etc/hostname', join(dir, 'sub', 'link.elf'));
    const r1 = parse(head('a').replace('k.elf', '../../../../../../etc/hostname'));
    expect(r1.errors[0]).toMatchObject({ code: 'PathOutsideRoots', path: 'spec.kernel', line: 6, col: 11 });
    const r2 = parse(head('a').replace('k.elf', 'link.elf'), join(dir, 'sub', 'm.yaml'));
    expect(r2.errors[0]).toMatchObject({ code: 'PathOutsideRoots' });
    expect(r2.errors[0]!.message).toContain('symlink');
    const r3 = parse(head('a').replace('k.elf', '../k.elf'), join(dir, 'sub', 'm.yaml'));
    expect(r3.errors).toEqual([]);
    const r4 = parse(head('a') + '  disks:\n    - {source: new.img, target: xvda, sizeMiB: 8}\n    - {source: missing.img, target: xvdb}\n');
    expect(r4.errors.map((e) => [e.path, e.code])).toEqual([['spec.disks[1].source', 'PathNotFound']]);
  });
});

describe('combineResults', () => {
  it('refuses duplicate names in both places, naming both', () => {
    const a = parse(head('twin'), join(dir, 'a.yaml'));
    const b = parse('# b\n' + head('twin'), join(dir, 'b.yaml'));
    const c = parse(head('other'), join(dir, 'c.yaml'));
    const r = combineResults([a, b, c]);
    expect(r.objects.map((o) => o.name)).toEqual(['other']);
    expect(r.errors.map(formatDiagnostic)).toEqual([
      `${join(dir, 'a.yaml')}:4:9: metadata.name: duplicate Domain "twin": also defined at ${join(dir, 'b.yaml')}:5:9`,
      `${join(dir, 'b.yaml')}:5:9: metadata.name: duplicate Domain "twin": also defined at ${join(dir, 'a.yaml')}:4:9`,
    ]);
    expect(r.errors.every((e) => e.name === 'twin')).toBe(true);
  });

  it('refuses a host port or MAC claimed by two domains', () => {
    const port = (name: string, p: number, mac = '') => parse(head(name) + `  interfaces:\n    - ports: [{host: ${p}, guest: 80}]\n${mac ? `      mac: "${mac}"\n` : ''}`, join(dir, `${name}.yaml`));
    const r = combineResults([port('a', 9000), port('b', 9000), port('c', 9001, '00:16:3e:00:00:09'), port('d', 9002, '00:16:3E:00:00:09'), port('e', 9003)]);
    expect(r.objects.map((o) => o.name)).toEqual(['e']);
    expect(r.errors.map((e) => [e.name, e.path, e.code])).toEqual([
      ['a', 'spec.interfaces[0].ports[0].host', 'Conflict'],
      ['b', 'spec.interfaces[0].ports[0].host', 'Conflict'],
      ['c', 'spec.interfaces[0].mac', 'Conflict'],
      ['d', 'spec.interfaces[0].mac', 'Conflict'],
    ]);
  });
});

describe('files', () => {
  it('lists *.yaml/*.yml recursively, skipping dotfiles, temp files and dot directories', async () => {
    const d = mkdtempSync(join(tmpdir(), 'xf-list-'));
    for (const f of ['a.yaml', 'b.yml', 'sub/c.YAML', '.hidden.yaml', 'x.yaml~', '.x.yaml.swp', '#x.yaml#', 'notes.txt', '.git/d.yaml', 'node_modules/e.yaml']) {
      mkdirSync(join(d, f, '..'), { recursive: true });
      writeFileSync(join(d, f), '');
    }
    expect((await listManifestFiles(d)).map((f) => f.slice(d.length + 1))).toEqual(['a.yaml', 'b.yml', 'sub/c.YAML']);
    expect(isManifestName('web.yaml')).toBe(true);
    expect(isManifestName('.#web.yaml')).toBe(false);
    rmSync(d, { recursive: true, force: true });
  });

  it('refuses large, binary and unreadable files without throwing', async () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, 'a: ' + 'x'.repeat(2048) + '\n');
    expect((await loadManifestFile(big, { roots: [dir], maxFileBytes: 1024 })).errors[0]).toMatchObject({ code: 'FileTooLarge' });
    const bin = join(dir, 'bin.yaml');
    writeFileSync(bin, Buffer.from([0x61, 0x3a, 0x0a, 0x62, 0xff, 0xfe]));
    expect((await loadManifestFile(bin, { roots: [dir] })).errors[0]).toMatchObject({ code: 'NotText', line: 2, col: 2 });
    const missing = await loadManifestFile(join(dir, 'nope.yaml'), { roots: [dir] });
    expect(missing.errors[0]).toMatchObject({ code: 'FileNotFound' });
    expect(missing.heldFiles).toEqual([join(dir, 'nope.yaml')]);
  });

  it('loads files and directories, each directory being an allowed root', async () => {
    const d = mkdtempSync(join(tmpdir(), 'xf-load-'));
    writeFileSync(join(d, 'k.elf'), 'ELF');
    writeFileSync(join(d, 'a.yaml'), head('a'));
    mkdirSync(join(d, 'nested'));
    writeFileSync(join(d, 'nested', 'b.yaml'), head('b').replace('k.elf', '../k.elf'));
    const r = await loadManifests([d]);
    expect(r.errors).toEqual([]);
    expect(r.objects.map((o) => o.name)).toEqual(['a', 'b']);
    // the nested file alone has its own directory as root: ../k.elf escapes it
    const alone = await loadManifests([join(d, 'nested', 'b.yaml')]);
    expect(alone.errors[0]).toMatchObject({ code: 'PathOutsideRoots' });
    const allowed = await loadManifests([join(d, 'nested', 'b.yaml')], { allowPaths: [d] });
    expect(allowed.errors).toEqual([]);
    rmSync(d, { recursive: true, force: true });
  });
});
