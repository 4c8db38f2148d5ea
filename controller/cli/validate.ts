// xenoform validate PATH… — check manifests without a controller (../shared/DESIGN.md §4).
import type { Command } from 'commander';
import { formatDiagnostic, SilentExit } from '../errors.ts';
import { loadManifests } from '../source/parse.ts';
import { collect, err, out, outputFormat } from './context.ts';

export function register(program: Command): void {
  program
    .command('validate')
    .description('check manifests: print file:line:col: field: message for each problem; exit 1 if any is invalid')
    .argument('<paths...>', 'manifest files or directories (read recursively)')
    .option('--allow-path <dir>', 'another directory that paths in manifests may point into (repeatable)', collect, [])
    .option('-o, --output <format>', 'text or json', 'text')
    .option('-q, --quiet', 'print nothing when everything is valid')
    .action(async (paths: string[], opts: { allowPath: string[]; output: string; quiet?: boolean }) => {
      const format = outputFormat(opts.output === 'text' ? 'table' : opts.output, ['table', 'json'], 'table');
      const r = await loadManifests(paths, { allowPaths: opts.allowPath });
      if (format === 'json') {
        out(JSON.stringify({ valid: r.errors.length === 0, objects: r.objects.map(({ kind, name, file, line, col }) => ({ kind, name, file, line, col })), errors: r.errors, warnings: r.warnings }, null, 2));
      } else {
        for (const d of [...r.errors, ...r.warnings].sort((a, b) => (a.file === b.file ? a.line - b.line || a.col - b.col : a.file < b.file ? -1 : 1))) err(formatDiagnostic(d));
        const files = new Set([...r.objects.map((o) => o.file), ...r.errors.map((e) => e.file)]).size;
        if (r.errors.length > 0) {
          const bad = new Set(r.errors.map((e) => e.file)).size;
          err(`${r.errors.length} error${r.errors.length === 1 ? '' : 's'} in ${bad} of ${files} file${files === 1 ? '' : 's'}`);
        } else if (!opts.quiet) {
          out(`OK: ${r.objects.length} object${r.objects.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}${r.objects.length ? ` (${r.objects.map((o) => `${o.kind}/${o.name}`).join(', ')})` : ''}`);
        }
      }
      if (r.errors.length > 0) throw new SilentExit(1);
    });
}
