// xenoform up [DIR=manifests] — run the controller in the foreground, watching DIR, with the
// local host (started in the background if none runs: ../shared/DESIGN.md §2 "Processes").
// Ctrl-C / SIGTERM stop the controller and, unless --keep-host, the host it started itself (its
// domains shut down gracefully); a host it did not start is never stopped.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ApiServer, apiSocketPath } from '../api/server.ts';
import { Controller } from '../controller.ts';
import { SilentExit, UsageError } from '../errors.ts';
import { ensureLocalHost, type LocalHost } from '../hypervisor.ts';
import { DEFAULT_TIMING, scaledTiming } from '../machines/index.ts';
import { collect, err, out, resolveStateDir } from './context.ts';
import { readToken } from './host.ts';

interface UpOptions {
  keepHost?: boolean;
  allowPath: string[];
  clockScale?: string;
  gracePeriod?: string;
  concurrency?: string;
  resync?: string;
  quiet?: boolean;
  hostListen?: string;
  hostTokenFile?: string;
}

function positive(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, not ${JSON.stringify(v)}`);
  return n;
}

function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

export function register(program: Command): void {
  program
    .command('up')
    .description('run the controller in the foreground, watching DIR (default: manifests), starting a local host if none runs')
    .argument('[dir]', 'manifests directory', 'manifests')
    .option('--keep-host', 'on exit, leave the host this command started running (with its domains)')
    .option('--allow-path <dir>', 'another directory that paths in manifests may point into (repeatable)', collect, [])
    .option('--grace-period <seconds>', 'how long a domain gets to shut down before it is destroyed', String(DEFAULT_TIMING.gracePeriodMs / 1000))
    .option('--clock-scale <n>', 'run the controller\'s timers (crash-loop backoff, grace periods) N times faster, for tests (also $XENOFORM_CLOCK_SCALE)')
    .option('--concurrency <n>', 'reconcile workers', '4')
    .option('--resync <seconds>', 'look at every Domain again this often', '60')
    .option('-q, --quiet', 'do not print events')
    .option('--host-listen <addr>', 'the local host also serves TCP on ADDR (HOST:PORT), so domains can be migrated to it (with --host-token-file)')
    .option('--host-token-file <file>', 'the token the local host\'s TCP agent accepts')
    .action(async (dir: string, opts: UpOptions, cmd: Command) => {
      const manifestsDir = resolve(dir);
      if (!existsSync(manifestsDir) || !statSync(manifestsDir).isDirectory()) throw new UsageError(`${dir}: not a directory (the manifests directory to watch)`);
      const stateDir = resolveStateDir(cmd);
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      const scale = positive('--clock-scale', opts.clockScale ?? process.env.XENOFORM_CLOCK_SCALE, 1);
      const grace = positive('--grace-period', opts.gracePeriod, 30);
      const timing = { ...scaledTiming(scale), gracePeriodMs: (grace * 1000) / scale };
      const log = (line: string) => err(`xenoform: ${line}`);

      if ((opts.hostListen === undefined) !== (opts.hostTokenFile === undefined)) throw new UsageError('--host-listen and --host-token-file go together');
      if (opts.hostListen !== undefined && /:0$/.test(opts.hostListen)) throw new UsageError('--host-listen needs a fixed port: migrations to the local host go there');
      const hostArgs = opts.hostListen !== undefined ? ['--listen', opts.hostListen, '--token-file', resolve(opts.hostTokenFile!)] : [];
      const localTarget = opts.hostListen !== undefined ? { address: opts.hostListen, token: readToken(opts.hostTokenFile!) } : undefined;
      let host: LocalHost = await ensureLocalHost(stateDir, { args: hostArgs });
      log(`${host.started ? 'started' : 'using'} host${host.pid ? ` pid ${host.pid}` : ''} on ${stateDir}/host.sock`);
      let stopping = false;
      let restarting = false;
      const controller: Controller = new Controller({
        manifestsDir, stateDir, hv: host.hv, allowPaths: opts.allowPath, timing, localTarget,
        concurrency: positive('--concurrency', opts.concurrency, 4), resyncMs: positive('--resync', opts.resync, 60) * 1000,
        // hosts' heartbeats follow --clock-scale too (never more often than 5 a second)
        heartbeatMs: Math.max(200, 5000 / scale),
        log,
        onHostLost: () => {
          // A host this command started and that died (kill -9: a power cut for its domains) is
          // started again; reconcile then restarts domains as their runStrategy says.
          if (stopping || restarting || !host.started || pidAlive(host.pid)) return;
          restarting = true;
          log(`host pid ${host.pid} is gone; starting a new one`);
          ensureLocalHost(stateDir, { args: hostArgs }).then((h) => { host = { ...h, hv: host.hv, started: true }; log(`started host pid ${h.pid}`); void h.hv.close(); }, (e) => log(`cannot start a host: ${(e as Error).message}`))
            .finally(() => { restarting = false; });
        },
      });
      const api = new ApiServer({ controller, socketPath: apiSocketPath(stateDir), info: { pid: process.pid, manifestsDir, stateDir }, log });
      await api.listen();
      await controller.start();
      if (!opts.quiet) {
        controller.store.events.subscribe((e) => out(`${e.lastTimestamp}  ${e.type.padEnd(7)} ${`${e.kind.toLowerCase()}/${e.name}`.padEnd(24)} ${e.reason.padEnd(18)} ${e.message}`));
      }
      log(`controller watching ${manifestsDir} (state dir ${stateDir}; API on ${apiSocketPath(stateDir)}); Ctrl-C to stop`);

      const code = await new Promise<number>((done) => {
        const stop = (sig: string, code: number) => async () => {
          if (stopping) return;
          stopping = true;
          log(`${sig}: stopping the controller`);
          await api.close();
          await controller.stop();
          if (host.started && !opts.keepHost) {
            log('stopping the host it started (domains shut down gracefully)');
            try {
              const r = await host.hv.stopHost({ graceMs: timing.gracePeriodMs });
              log(`host stopped: ${r.shutdown.length} shut down, ${r.destroyed.length} destroyed after the grace period`);
            } catch (e) {
              log(`stopping the host: ${(e as Error).message}`);
            }
            const end = Date.now() + 10_000;
            while (pidAlive(host.pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
          } else if (host.started) {
            log(`leaving host pid ${host.pid} running (--keep-host)`);
          }
          await host.hv.close();
          done(code);
        };
        process.once('SIGINT', stop('SIGINT', 0));
        process.once('SIGTERM', stop('SIGTERM', 0));
      });
      if (code !== 0) throw new SilentExit(code);
    });
}
