/**
 * One CPU workload on the emulator, in a process of its own so that its first run is truly
 * cold (fresh V8, empty handler and block caches): runs it `--runs N` times, each on a fresh
 * LinuxUser, checks every run's output and exit status against the expected file, and prints
 * one JSON line: { instructions, seconds: [cold, warm1, …] }.
 *
 *   node --import tsx bench/cpu/emulate.ts build/sieve.elf build/sieve.txt --runs 4
 */
import { readFileSync } from 'node:fs';
import { LinuxUser } from '../../tests/support/linux-user.ts';

const [elf, expectedPath] = process.argv.slice(2);
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 4;
if (!elf || !expectedPath || !(runs >= 1)) {
  process.stderr.write('usage: emulate.ts FILE.elf EXPECTED.txt [--runs N]\n');
  process.exit(2);
}
const expected = readFileSync(expectedPath, 'latin1');
const image = readFileSync(elf);

const seconds: number[] = [];
let instructions = -1;
for (let k = 0; k < runs; k++) {
  const r = new LinuxUser(image).run();
  if (r.fault) throw new Error(`${elf}: died of exception ${r.fault.vector} at EIP ${r.fault.eip.toString(16)}`);
  if (r.exitCode !== 0 || r.stdout !== expected) {
    throw new Error(`${elf}: wrong result (exit ${r.exitCode}): printed ${JSON.stringify(r.stdout.slice(0, 200))}, expected ${JSON.stringify(expected)}`);
  }
  if (instructions >= 0 && r.instructions !== instructions) throw new Error(`${elf}: instruction count changed between runs (${instructions} → ${r.instructions})`);
  instructions = r.instructions;
  seconds.push(r.seconds);
}
process.stdout.write(`${JSON.stringify({ instructions, seconds })}\n`);
