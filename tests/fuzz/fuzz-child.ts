/**
 * A child process of `npm run fuzz`: runs one chunk of cases and reports to its parent after
 * every batch. One process per chunk: the CPU's module-level caches (FINDINGS.md F10) are freed
 * when it exits, and the chunks of a run spread over the cores.
 */
import { newStats, runBatch, statsToMessage } from './fuzz.ts';
import { buildTemplates } from './templates.ts';

export interface ChunkOrder {
  seed: number;
  first: number;
  count: number;
  batch: number;
  family?: string;
}

process.once('message', (o: ChunkOrder) => {
  const templates = buildTemplates(o.family ? (t) => t.family === o.family : undefined);
  for (let k = o.first; k < o.first + o.count; k += o.batch) {
    const s = runBatch({ seed: o.seed, first: k, count: Math.min(o.batch, o.first + o.count - k), templates, maxMismatches: 3 }, newStats());
    process.send!({ stats: statsToMessage(s) });
    if (s.mismatches.length) break;
  }
  process.send!({ done: true }, () => process.exit(0));
});
