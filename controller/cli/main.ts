// Entry point of the xenoform command (bin/xenoform.js imports this).
import { run } from './program.ts';

// `xenoform get … | head` closes stdout early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
});

const code = await run(process.argv.slice(2));
// let stdout drain before exiting (large outputs to a pipe)
process.stdout.write('', () => process.exit(code));
