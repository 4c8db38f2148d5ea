// xenoform crds — print the CustomResourceDefinitions for a Kubernetes cluster.
import type { Command } from 'commander';
import { crdFor, crdsYaml, kinds } from '../../crds/index.ts';
import { out, outputFormat } from './context.ts';

export function register(program: Command): void {
  program
    .command('crds')
    .description('print the CustomResourceDefinitions (apiextensions.k8s.io/v1) for kubectl apply -f -')
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .action((opts: { output: string }) => {
      const format = outputFormat(opts.output, ['yaml', 'json'], 'yaml');
      if (format === 'yaml') out(crdsYaml());
      else out(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...kinds.keys()].map(crdFor) }, null, 2));
    });
}
