/**
 * `npm run bench` — run every bench suite under bench/ (each folder with an index.ts exporting
 * `suite`), or only those named: `npm run bench -- cpu`. `npm run bench -- --list` lists them.
 *
 * Output: stdout carries one JSON document per suite, one per line (with one suite, exactly one
 * document); stderr carries progress and human-readable tables. Exit status 1 if any suite
 * failed (e.g. a workload printed a wrong checksum); the other suites still run.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchSuite } from './suite.ts';

const BENCH = dirname(fileURLToPath(import.meta.url));

/** Suites present: bench/<name>/index.ts, in name order. */
function discover(): string[] {
  return readdirSync(BENCH, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(BENCH, d.name, 'index.ts')))
    .map((d) => d.name)
    .sort();
}

async function load(name: string): Promise<BenchSuite> {
  const mod = (await import(pathToFileURL(join(BENCH, name, 'index.ts')).href)) as { suite?: BenchSuite };
  const suite = mod.suite;
  if (!suite || typeof suite.run !== 'function' || suite.name !== name) {
    throw new Error(`bench/${name}/index.ts must export \`suite\` (a BenchSuite named '${name}')`);
  }
  return suite;
}

async function main(argv: string[]): Promise<number> {
  const available = discover();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  if (argv.includes('--list')) {
    for (const name of available) process.stdout.write(`${name.padEnd(12)} ${(await load(name)).description}\n`);
    return 0;
  }
  const unknown = argv.filter((a) => !available.includes(a));
  if (unknown.length) {
    log(`unknown bench suite(s): ${unknown.join(', ')}; available: ${available.join(', ')}`);
    return 2;
  }
  const chosen = argv.length ? available.filter((a) => argv.includes(a)) : available;
  let failed = 0;
  for (const name of chosen) {
    log(`== bench ${name}`);
    try {
      const report = await (await load(name)).run(log);
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } catch (e) {
      failed++;
      log(`bench ${name} FAILED: ${(e as Error).message}`);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
