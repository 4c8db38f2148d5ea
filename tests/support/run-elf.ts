/** Run a static i386 Linux ELF on the emulated CPU: `node --import tsx tests/support/run-elf.ts FILE`. */
import { runLinuxElf } from './linux-user.ts';

const r = runLinuxElf(process.argv[2]!);
process.stdout.write(Buffer.from(r.stdout, "latin1"));
process.stderr.write(`[exit ${r.exitCode ?? '-'}${r.fault ? ` fault ${JSON.stringify(r.fault)}` : ''}; ${r.instructions} instructions in ${r.seconds.toFixed(3)} s = ${(r.instructions / r.seconds / 1e6).toFixed(1)} MIPS]\n`);
process.exitCode = r.exitCode ?? 1;
