// xenoform host [--listen ADDR] [--token-file F] [--state-dir D] — run a host (the hypervisor)
// in the foreground, serving the Hypervisor API on <state-dir>/host.sock (mode 0600), and on
// TCP with a bearer token when asked (../shared/DESIGN.md §2 "Processes", §4).
// xenoform host stop [--save] — ask the local host to stop: its domains shut down gracefully
// (control/shutdown poweroff, a grace period, then destroy).
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { HypervisorError, LocalHypervisor, type DomainEvent } from '../../runtime/api.ts';
import { RemoteHypervisor } from '../../runtime/client.ts';
import { checkSocketPath, HostServer, parseListen, socketIsLive } from '../../runtime/server.ts';
import { SilentExit, UsageError } from '../errors.ts';
import { err, out, resolveStateDir } from './context.ts';

/** How long `host stop` waits for the host process to exit after it answered. */
const EXIT_WAIT_MS = 10_000;

export function hostSocketPath(stateDir: string): string {
  return join(stateDir, 'host.sock');
}

function fail(message: string, code = 1): never {
  err(`error: ${message}`);
  throw new SilentExit(code);
}

export function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return fail(`cannot read token file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, 2);
  }
  const token = text.trim();
  if (token.length < 16) fail(`token file ${file} must hold a token of at least 16 characters`, 2);
  if ((statSync(file).mode & 0o077) !== 0) err(`xenoform host: warning: token file ${file} is readable by other users (chmod 600 it)`);
  return token;
}

/** Writes a file atomically (temp file, rename). */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

function describeEvent(ev: DomainEvent): string {
  const who = `domain ${ev.domid} (${ev.name})`;
  switch (ev.type) {
    case 'created': return `${who} created`;
    case 'shutdown': return `${who} shut down: ${ev.reason}`;
    case 'crashed': return `${who} crashed: ${ev.reason}`;
    case 'destroyed': return `${who} destroyed`;
    default: return `${who} is now ${ev.state}`;
  }
}

async function runHost(opts: { listen?: string; tokenFile?: string }, stateDir: string): Promise<number> {
  const listen = opts.listen ? parseListenOrUsage(opts.listen) : undefined;
  if (listen && !opts.tokenFile) throw new UsageError('--listen needs --token-file: a host never serves TCP without a token');
  const token = opts.tokenFile ? readToken(opts.tokenFile) : undefined;
  const socketPath = hostSocketPath(stateDir);
  try {
    checkSocketPath(socketPath);
  } catch (e) {
    fail((e as Error).message);
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const hv = LocalHypervisor.create({ clock: 'wall' });
  hv.saveDir = join(stateDir, 'saved');
  const log = (line: string) => err(`xenoform host: ${line}`);
  const done = new Promise<number>((resolve) => {
    let server: HostServer | undefined;
    const finish = async (code: number) => {
      await server?.close();
      rmSync(join(stateDir, 'host.pid'), { force: true });
      resolve(code);
    };
    let signalled = 0;
    const onSignal = (code: number) => () => {
      if (signalled++ > 0) {
        // a second signal: no more grace
        for (const d of hv.host.list()) hv.host.destroy(d.domid);
        return void finish(code);
      }
      log('stopping: shutting domains down (a second signal destroys them now)');
      hv.stopHost().then(
        (r) => log(`stopped: ${r.shutdown.length} shut down, ${r.destroyed.length} destroyed after the grace period`),
        (e) => log(`stop failed: ${(e as Error).message}`),
      ).finally(() => void finish(code));
    };
    process.on('SIGINT', onSignal(130));
    process.on('SIGTERM', onSignal(143));
    // a fault in the emulator must not take every domain down: report it and keep serving
    let faults: number[] = [];
    process.on('uncaughtException', (e) => {
      log(`internal error: ${e.message}`);
      if (process.env.XENOFORM_DEBUG) err(String(e.stack));
      const now = Date.now();
      faults = [...faults.filter((t) => now - t < 1000), now];
      if (faults.length > 10) {
        log('too many internal errors; exiting');
        process.exit(1);
      }
      hv.host.stop();
      hv.host.start();
    });
    HostServer.start({
      hv,
      socketPath,
      listen,
      token,
      log,
      onStop: (r) => {
        log(`stopped on request: ${r.saved ? `${r.saved.length} saved, ` : ''}${r.shutdown.length} shut down, ${r.destroyed.length} destroyed after the grace period`);
        void finish(0);
      },
    }).then(
      (s) => {
        server = s;
        writeAtomic(join(stateDir, 'host.pid'), `${process.pid}\n`);
        // domains saved by `host stop --save` come back first (xendomains)
        void hv.restoreSaved(log).then(() => log(`serving the Hypervisor API on ${socketPath}${s.tcp ? ` and ${s.tcp.host}:${s.tcp.port}` : ''} (pid ${process.pid})`));
      },
      (e) => {
        log(e instanceof HypervisorError && e.code === 'EEXIST' ? `${e.message} (state dir ${stateDir})` : `cannot serve: ${(e as Error).message}`);
        void hv.close().then(() => resolve(1));
      },
    );
  });
  const events = hv.events();
  void (async () => {
    for await (const ev of events) log(describeEvent(ev));
  })().catch(() => undefined);
  const code = await done;
  events.close();
  await hv.close();
  return code;
}

function parseListenOrUsage(addr: string): { host: string; port: number } {
  try {
    return parseListen(addr);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function stopHost(opts: { save?: boolean }, stateDir: string): Promise<void> {
  const socketPath = hostSocketPath(stateDir);
  if (!(await socketIsLive(socketPath).catch(() => false))) fail(`no host is running for state dir ${stateDir}`);
  let pid: number | undefined;
  try {
    pid = Number(readFileSync(join(stateDir, 'host.pid'), 'utf8').trim()) || undefined;
  } catch {
    /* the socket is the authority; the pid only lets us wait for the exit */
  }
  const hv = new RemoteHypervisor({ socketPath });
  try {
    const r = await hv.stopHost({ save: opts.save });
    out(`host stopped: ${r.saved ? `${r.saved.length} domain${r.saved.length === 1 ? '' : 's'} saved (restored when it next starts), ` : ''}${r.shutdown.length} domain${r.shutdown.length === 1 ? '' : 's'} shut down, ${r.destroyed.length} destroyed after the grace period`);
  } catch (e) {
    fail(e instanceof HypervisorError && e.code === 'EHOSTDOWN' ? `no host is running for state dir ${stateDir}` : (e as Error).message);
  } finally {
    await hv.close();
  }
  const end = Date.now() + EXIT_WAIT_MS;
  while (pid !== undefined && pid !== process.pid && pidAlive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

export function register(program: Command): void {
  const host = program
    .command('host')
    .description('run a host (the hypervisor) in the foreground, serving the Hypervisor API on <state-dir>/host.sock; `host stop` stops it')
    .option('--listen <addr>', 'also serve on TCP HOST:PORT (needs --token-file)')
    .option('--token-file <file>', 'file holding the bearer token that TCP clients must present')
    .option('--state-dir <dir>', 'state directory (default: $XENOFORM_STATE_DIR, else ./.xenoform)')
    .action(async (opts: { listen?: string; tokenFile?: string }, cmd: Command) => {
      const code = await runHost(opts, resolveStateDir(cmd));
      if (code !== 0) throw new SilentExit(code);
    });
  host
    .command('stop')
    .description('stop the local host: its domains shut down gracefully (or, with --save, are saved for its next start)')
    .option('--save', 'save domains instead of shutting them down; the host restores them when it next starts (xendomains)')
    .action(async (opts: { save?: boolean }, cmd: Command) => {
      await stopHost(opts, resolveStateDir(cmd));
    });
}
