// xenoform boot KERNEL — run one guest in the foreground on a private in-process host
// (../shared/DESIGN.md §4). stdout carries exactly the guest's console (ring and console_io);
// every diagnostic goes to stderr. Exit: 0 poweroff, 1 crash or watchdog, 3 reboot, 2 image or
// arguments refused, 124 timeout, 130/143 on SIGINT/SIGTERM. `create` runs through the same
// foreground runner with xl's on_poweroff/on_reboot/on_crash/on_watchdog actions.
import { basename } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { HypervisorError, LocalHypervisor, MAX_CONSOLE_WRITE, type CreateSpec, type DomainEvent, type HypervisorApi, type Stream } from '../../runtime/api.ts';
import { SilentExit } from '../errors.ts';
import { err } from './context.ts';

export const EXIT = { poweroff: 0, failure: 1, refused: 2, reboot: 3, timeout: 124, sigint: 130, sigterm: 143 } as const;

/** xl's actions on a domain's end (xl.cfg(5) on_poweroff…). */
export type XlAction = 'destroy' | 'restart' | 'rename-restart' | 'preserve' | 'coredump-destroy' | 'coredump-restart';

export interface ForegroundSpec {
  name: string;
  /** path of the kernel image, read (again at each restart) relative to the current directory */
  kernel: string;
  memoryMiB: number;
  maxMemoryMiB?: number;
  vcpus?: number;
  maxVcpus?: number;
  cmdline?: string;
  weight?: number;
  cap?: number;
  /** wall seconds before the domain is destroyed and the run exits 124 */
  timeoutS?: number;
  /** what to do on each kind of end; boot destroys on every one */
  actions?: { poweroff?: XlAction; reboot?: XlAction; crash?: XlAction; watchdog?: XlAction };
  /** forward stdin to the guest's console (create -c); Ctrl-] detaches */
  interactive?: boolean;
  /** xl's disk = [...] (image paths as written, relative to the current directory) */
  disks?: CreateSpec['disks'];
  /** xl's vif = [...]: interfaces on the private host's switch */
  interfaces?: CreateSpec['interfaces'];
}

const CTRL_RBRACKET = 0x1d;
/** A domain that ends sooner than this after starting is restarted only after this pause. */
const RESTART_MIN_UPTIME_MS = 1000;

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

type Interrupt = { kind: 'signal' | 'timeout' | 'detach'; code: number };

/** The next end (shut down, crashed, gone) of domain `domid` on the event stream. */
async function nextEnd(events: Stream<DomainEvent>, domid: number): Promise<DomainEvent> {
  const it = events[Symbol.asyncIterator]();
  for (;;) {
    const r = await it.next();
    if (r.done) throw new HypervisorError('EHOSTDOWN', 'the host stopped');
    const ev = r.value;
    if (ev.domid === domid && (ev.type === 'shutdown' || ev.type === 'crashed' || ev.type === 'destroyed')) return ev;
  }
}

/** Copies a console stream to stdout, byte for byte. */
async function pump(stream: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of stream) process.stdout.write(chunk);
}

/**
 * Runs one domain (rebuilding it when an action says restart) until it ends for good or the
 * run is interrupted; returns the exit code. Never throws for guest or image problems.
 */
export async function runForeground(spec: ForegroundSpec): Promise<number> {
  const hv: HypervisorApi = LocalHypervisor.create({ clock: 'wall' });
  const interrupt = deferred<Interrupt>();
  const keepAlive = setInterval(() => undefined, 1 << 30); // a blocked guest arms no timer of Node's
  const onSigint = () => interrupt.resolve({ kind: 'signal', code: EXIT.sigint });
  const onSigterm = () => interrupt.resolve({ kind: 'signal', code: EXIT.sigterm });
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  const timer = spec.timeoutS !== undefined ? setTimeout(() => interrupt.resolve({ kind: 'timeout', code: EXIT.timeout }), spec.timeoutS * 1000) : undefined;
  let current: number | undefined;
  const stdin = spec.interactive ? attachStdin(() => current, hv, () => interrupt.resolve({ kind: 'detach', code: 0 })) : undefined;
  const events = hv.events();
  try {
    for (;;) {
      let dom;
      try {
        dom = await hv.create({ name: spec.name, kernel: spec.kernel, memoryMiB: spec.memoryMiB, maxMemoryMiB: spec.maxMemoryMiB, vcpus: spec.vcpus, maxVcpus: spec.maxVcpus, cmdline: spec.cmdline, weight: spec.weight, cap: spec.cap, paused: true, ...(spec.disks?.length ? { disks: spec.disks } : {}), ...(spec.interfaces?.length ? { interfaces: spec.interfaces } : {}) });
      } catch (e) {
        err(`error: ${e instanceof Error ? e.message : String(e)}`);
        return e instanceof HypervisorError && e.code === 'EINTERNAL' ? EXIT.failure : EXIT.refused;
      }
      current = dom.domid;
      const startedAt = Date.now();
      const output = pump(hv.console(dom.domid, { follow: true }));
      await hv.unpause(dom.domid);
      const ended = nextEnd(events, dom.domid);
      ended.catch(() => undefined); // settled by events.close() when an interrupt wins the race
      const end = await Promise.race([ended, interrupt.promise]);
      if ('kind' in end) {
        if (end.kind === 'timeout') err(`xenoform: timeout: ${spec.timeoutS} s passed; domain ${spec.name} destroyed`);
        await hv.destroy(dom.domid).catch(() => undefined);
        await output;
        return end.code;
      }
      const reason = end.type === 'crashed' ? 'crash' : (end.info.shutdownReason ?? 'destroyed');
      const verdict = decide(spec, reason, end);
      if (verdict.message) err(verdict.message);
      if (verdict.action === 'preserve') {
        // keep the domain (and its console) until the user detaches or interrupts
        const i = await interrupt.promise;
        await hv.destroy(dom.domid).catch(() => undefined);
        await output;
        return i.kind === 'detach' ? verdict.code : i.code;
      }
      await hv.destroy(dom.domid).catch(() => undefined);
      await output;
      if (verdict.action !== 'restart') return verdict.code;
      const wait = RESTART_MIN_UPTIME_MS - (Date.now() - startedAt);
      if (wait > 0) {
        const i = await Promise.race([new Promise<undefined>((r) => setTimeout(r, wait)), interrupt.promise]);
        if (i) return i.code;
      }
    }
  } finally {
    clearInterval(keepAlive);
    clearTimeout(timer);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    stdin?.();
    events.close();
    await hv.close();
  }
}

/** What the domain's end means: the xl action to take, the exit code, a line for stderr. */
function decide(spec: ForegroundSpec, reason: string, ev: DomainEvent): { action: XlAction; code: number; message?: string } {
  const who = `domain ${ev.name} (id ${ev.domid})`;
  const key = reason === 'crash' ? 'crash' : reason === 'watchdog' ? 'watchdog' : reason === 'reboot' ? 'reboot' : reason === 'poweroff' ? 'poweroff' : undefined;
  if (!key) {
    // suspend (nothing here can save or resume it), soft_reset, or gone from under us
    return { action: 'destroy', code: EXIT.failure, message: `xenoform: ${who} ${reason === 'suspend' ? 'suspended itself (boot keeps no image: run it under `xenoform up` to save and restore it)' : `ended (${reason})`}; destroyed` };
  }
  let action: XlAction = spec.actions?.[key] ?? 'destroy';
  const code = key === 'poweroff' ? EXIT.poweroff : key === 'reboot' ? EXIT.reboot : EXIT.failure;
  const notes: string[] = [];
  if (action === 'coredump-destroy' || action === 'coredump-restart') {
    notes.push('core dumps are not supported yet');
    action = action === 'coredump-destroy' ? 'destroy' : 'restart';
  }
  if (action === 'rename-restart') {
    notes.push('rename-restart acts as restart here');
    action = 'restart';
  }
  const what = key === 'crash' ? `crashed: ${ev.reason ?? 'unknown reason'}` : key === 'watchdog' ? 'was stopped by its watchdog' : key === 'reboot' ? 'asked to reboot' : 'powered off';
  const then = action === 'restart' ? '; restarting' : action === 'preserve' ? '; preserved (Ctrl-C to end)' : '';
  const needsLine = key === 'crash' || key === 'watchdog' || action !== 'destroy' || notes.length > 0 || key === 'reboot';
  const message = needsLine ? `xenoform: ${who} ${what}${then}${notes.length ? ` (${notes.join('; ')})` : ''}` : undefined;
  return { action, code, message };
}

/**
 * Forwards stdin to the current domain's console (raw mode on a terminal, as xl console);
 * Ctrl-] detaches. Returns the function that restores the terminal.
 */
function attachStdin(current: () => number | undefined, hv: HypervisorApi, detach: () => void): () => void {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  const onData = (buf: Buffer) => {
    const cut = buf.indexOf(CTRL_RBRACKET);
    const data = cut >= 0 ? buf.subarray(0, cut) : buf;
    const id = current();
    if (id !== undefined) {
      for (let o = 0; o < data.length; o += MAX_CONSOLE_WRITE) void hv.consoleWrite(id, data.subarray(o, o + MAX_CONSOLE_WRITE)).catch(() => undefined);
    }
    if (cut >= 0) detach();
  };
  stdin.on('data', onData);
  stdin.resume();
  const restore = () => {
    stdin.off('data', onData);
    stdin.pause();
    if (raw) stdin.setRawMode(false);
  };
  process.once('exit', () => raw && stdin.isTTY && stdin.setRawMode(false));
  return restore;
}

// ---- argument parsers (commander reports their errors as usage errors: exit 2) ----------------

export function positiveInt(what: string, max: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v.trim()) || Number(v) < 1 || Number(v) > max) throw new InvalidArgumentError(`${what} must be an integer from 1 to ${max}`);
    return Number(v);
  };
}

function seconds(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return n;
}

/** A domain name from a kernel file name: hello.elf → hello. */
export function nameFromKernel(path: string): string {
  return basename(path).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 64) || 'guest';
}

export function register(program: Command): void {
  program
    .command('boot')
    .description('run one guest kernel in the foreground on a private host; stdout is exactly its console. Exit 0 poweroff, 1 crash/watchdog, 3 reboot, 2 refused, 124 timeout')
    .argument('<kernel>', 'PV kernel image (ELF32 with Xen notes)')
    .option('--memory <MiB>', 'memory in MiB', positiveInt('--memory', 2 ** 24), 32)
    .option('--vcpus <n>', 'virtual CPUs', positiveInt('--vcpus', 32), 1)
    .option('--cmdline <string>', 'kernel command line')
    .option('--timeout <seconds>', 'destroy the domain and exit 124 after this many wall-clock seconds', seconds)
    .action(async (kernel: string, opts: { memory: number; vcpus: number; cmdline?: string; timeout?: number }) => {
      const code = await runForeground({ name: nameFromKernel(kernel), kernel, memoryMiB: opts.memory, vcpus: opts.vcpus, cmdline: opts.cmdline, timeoutS: opts.timeout });
      if (code !== 0) throw new SilentExit(code);
    });
}
