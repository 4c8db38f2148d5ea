// xenoform import-xl CONFIG [KEY=VALUE…] — print the Domain manifest for an xl/xm config.
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { formatDiagnostic } from '../errors.ts';
import { importXl } from '../xl/index.ts';
import { err, out, outputFormat } from './context.ts';

export function register(program: Command): void {
  program
    .command('import-xl')
    .description('print the Domain manifest (YAML) for an xl/xm config file; warnings on stderr')
    .argument('<config>', 'xl.cfg / xm config file')
    .argument('[assignments...]', 'extra KEY=VALUE lines, as `xl create CONFIG KEY=VALUE…`')
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .action(async (config: string, assignments: string[], opts: { output: string }) => {
      const format = outputFormat(opts.output, ['yaml', 'json'], 'yaml');
      const { domain, warnings } = await importXl(config, assignments);
      for (const w of warnings) err(formatDiagnostic(w));
      out(format === 'json' ? JSON.stringify(domain, null, 2) : stringify(domain, { lineWidth: 0 }));
    });
}
