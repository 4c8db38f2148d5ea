// xenoform console NAME — attach to a domain's console (xl console); Ctrl-] detaches.
import type { Command } from 'commander';
import { ControllerClient } from '../api/client.ts';
import { API_PREFIX } from '../api/server.ts';
import { err, resolveStateDir } from './context.ts';

const CTRL_RIGHT_BRACKET = 0x1d;

export function register(program: Command): void {
  program
    .command('console')
    .description('attach to a Domain\'s console (Ctrl-] detaches)')
    .argument('<name>', 'the Domain\'s name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const sock = await new ControllerClient(resolveStateDir(cmd)).console(`${API_PREFIX}/${encodeURIComponent(name)}/console`);
      const stdin = process.stdin;
      const tty = stdin.isTTY;
      if (tty) stdin.setRawMode(true);
      if (tty) err(`Connected to ${name}'s console. Escape character is '^]'.`);
      await new Promise<void>((done) => {
        const finish = () => {
          stdin.off('data', onInput);
          if (tty) stdin.setRawMode(false);
          stdin.pause();
          sock.destroy();
          done();
        };
        const onInput = (b: Buffer) => {
          const at = b.indexOf(CTRL_RIGHT_BRACKET);
          if (at >= 0) {
            if (at > 0) sock.write(b.subarray(0, at));
            return finish();
          }
          sock.write(b);
        };
        stdin.on('data', onInput);
        stdin.on('end', () => { /* input closed: keep showing output */ });
        sock.on('data', (b: Buffer) => process.stdout.write(b));
        sock.on('close', finish);
        sock.on('error', finish);
      });
    });
}
