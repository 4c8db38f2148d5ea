// What the Domain machine decides from: the observation one reconcile pass makes (desired spec,
// the domain the host runs under that name, the user's intents), and the pure rules it applies —
// xl's on_* actions, KubeVirt's run strategies and crash-loop backoff. No I/O here.
import type { RunStrategy, ShutdownAction, UpdateStrategyType } from '../../crds/index.ts';

/** What a Domain manifest asks for, as the machine needs it (from its last valid spec). */
export interface DesiredDomain {
  generation: number;
  /** hash of the fields that only a restart can change (kernel, cmdline, maxMemory, vcpus, …) */
  bootHash: string;
  /** the create call for this spec */
  create: CreateParams;
  memoryMiB: number;
  cpuWeight: number;
  cpuCap: number;
  runStrategy: RunStrategy;
  onPoweroff: ShutdownAction;
  onReboot: ShutdownAction;
  onCrash: ShutdownAction;
  onWatchdog: ShutdownAction;
  updateStrategy: UpdateStrategyType;
}

export interface CreateParams {
  name: string;
  /** absolute path of the kernel image, read by the host */
  kernel: string;
  memoryMiB: number;
  maxMemoryMiB: number;
  vcpus: number;
  maxVcpus: number;
  cmdline?: string;
  weight: number;
  cap: number;
  /** disk images (source resolved to an absolute path), served by Domain-0's blkback */
  disks?: { source: string; target: string; mode: 'rw' | 'ro'; sizeMiB?: number }[];
  /** network interfaces on the host's switch; ports are forwarded by the gateway */
  interfaces?: { mac: string; ports?: { host: number; guest: number }[] }[];
}

/** The domain the host runs under the Domain's name (the name IS metadata.name). */
export interface ObservedDomain {
  domid: number;
  /** xl's six letters r b p s c d */
  state: string;
  shutdownReason?: string;
  crashReason?: string;
  memoryKiB: number;
  maxMemoryKiB: number;
  weight: number;
  cap: number;
}

/**
 * The user's imperative requests (state dir intents). Held ones are flags; one-shot ones are
 * sequence numbers, done once the machine's `handled` counter reaches them.
 */
export interface Intents {
  paused: boolean;
  stopped: boolean;
  start: number;
  restart: number;
  reboot: number;
  shutdown: number;
  destroy: number;
  /** `xenoform save` requests (one-shot); the latest one's file and mode in `saveTo` */
  save: number;
  saveTo?: SaveRequest;
  /**
   * Held: the domain was saved to this image (xl save without -c) and is intentionally gone —
   * runStrategy does not start it again until `restore FILE` or `start` (which restores it).
   * Written by reconcile once the image is in place; cleared when the domain is back.
   */
  saved?: SavedImage;
}

export interface SaveRequest {
  /** absolute path on the host */
  file: string;
  checkpoint: boolean;
}

export interface SavedImage {
  file: string;
  /** ISO time of the save */
  at: string;
  /** the domain that was saved */
  domid?: number;
  /** the Host it was saved on (where the image file is) */
  host?: string;
}

export type OneShot = 'start' | 'restart' | 'reboot' | 'shutdown' | 'destroy' | 'save';
export const ONE_SHOTS: OneShot[] = ['start', 'restart', 'reboot', 'shutdown', 'destroy', 'save'];

export const noIntents = (): Intents => ({ paused: false, stopped: false, start: 0, restart: 0, reboot: 0, shutdown: 0, destroy: 0, save: 0 });

export interface Observation {
  /** ms since the epoch (the injected clock) */
  now: number;
  /** undefined: no manifest declares this Domain any more */
  desired?: DesiredDomain;
  /** true when a manifest declares it but has never been valid (nothing to run yet) */
  declaredInvalid?: boolean;
  observed?: ObservedDomain;
  intents: Intents;
}

/** Controller timings; scaled down in tests (`--clock-scale`). */
export interface Timing {
  /** crash-loop backoff unit: delay = base × n², KubeVirt's 10 s */
  crashLoopBaseMs: number;
  /** KubeVirt's cap, 300 s */
  crashLoopCapMs: number;
  /** graceful shutdown before destroy */
  gracePeriodMs: number;
  /** running this long clears the crash-loop count */
  stableAfterMs: number;
}

export const DEFAULT_TIMING: Timing = { crashLoopBaseMs: 10_000, crashLoopCapMs: 300_000, gracePeriodMs: 30_000, stableAfterMs: 60_000 };

export function scaledTiming(scale: number, base: Timing = DEFAULT_TIMING): Timing {
  const s = scale > 0 ? scale : 1;
  return {
    crashLoopBaseMs: base.crashLoopBaseMs / s,
    crashLoopCapMs: base.crashLoopCapMs / s,
    gracePeriodMs: base.gracePeriodMs / s,
    stableAfterMs: base.stableAfterMs / s,
  };
}

/** KubeVirt's crash-loop delay after `failures` consecutive failures: base × n², capped. */
export function crashLoopDelay(failures: number, t: Timing): number {
  if (failures <= 0) return 0;
  return Math.min(t.crashLoopCapMs, t.crashLoopBaseMs * failures * failures);
}

/** Why a domain ended. poweroff/reboot/suspend are the guest's own; the rest are failures. */
export type EndCause = 'poweroff' | 'reboot' | 'suspend' | 'crash' | 'watchdog' | 'soft_reset' | 'vanished' | 'destroyed';

export const isFailure = (c: EndCause): boolean => c === 'crash' || c === 'watchdog' || c === 'vanished';

/** The shutdown an observed domain has reached, if any (xl state s or c). */
export function shutdownCause(o: ObservedDomain | undefined): EndCause | undefined {
  if (!o) return undefined;
  const shut = o.state[3] === 's';
  const crashed = o.state[4] === 'c';
  if (!shut && !crashed) return undefined;
  if (crashed) return 'crash';
  const r = o.shutdownReason;
  return r === 'poweroff' || r === 'reboot' || r === 'suspend' || r === 'watchdog' || r === 'soft_reset' || r === 'crash' ? r : 'poweroff';
}

/** xl's on_* action for a shutdown cause (xl.cfg(5)); soft_reset and suspend act as poweroff. */
export function actionFor(cause: EndCause, d: Pick<DesiredDomain, 'onPoweroff' | 'onReboot' | 'onCrash' | 'onWatchdog'> | undefined): ShutdownAction {
  const a = d ?? { onPoweroff: 'destroy', onReboot: 'restart', onCrash: 'destroy', onWatchdog: 'destroy' };
  switch (cause) {
    case 'reboot': return a.onReboot;
    case 'crash': return a.onCrash;
    case 'watchdog': return a.onWatchdog;
    default: return a.onPoweroff;
  }
}

export const restartsAfter = (a: ShutdownAction): boolean => a === 'restart' || a === 'rename-restart' || a === 'coredump-restart';
export const dumpsCore = (a: ShutdownAction): boolean => a === 'coredump-destroy' || a === 'coredump-restart' || a === 'rename-restart';

/**
 * Once a domain is gone, whether runStrategy starts it again (KubeVirt's meanings,
 * ../shared/controller-facts.md §1): Always — after any end; RerunOnFailure — after a failure
 * only (crash, watchdog, vanished with the host), not after the guest's own poweroff/reboot;
 * Once, Manual, Halted — never by themselves. A user's destroy is a pulled plug: Always brings
 * the domain back, RerunOnFailure too (it did not end by itself).
 */
export function strategyRestarts(strategy: RunStrategy, cause: EndCause): boolean {
  switch (strategy) {
    case 'Always': return true;
    case 'RerunOnFailure': return isFailure(cause) || cause === 'destroyed';
    default: return false;
  }
}

/** Whether a Domain with no domain running should be started now (Pending/Stopped). */
export function wantsStart(strategy: RunStrategy, intents: Intents, startPending: boolean, firstStart: boolean): boolean {
  // a saved domain comes back by being restored, never by a fresh boot
  if (intents.stopped || intents.saved || strategy === 'Halted') return false;
  if (startPending) return true;
  if (strategy === 'Always') return true;
  // RerunOnFailure and Once start once when first declared; Manual waits for `start`.
  return firstStart && (strategy === 'RerunOnFailure' || strategy === 'Once');
}

// (a snapshot persisted before a one-shot existed has no counter for it: 0)
export const pending = (intents: Intents, handled: Record<OneShot, number>, k: OneShot): boolean => (intents[k] ?? 0) > (handled[k] ?? 0);

/**
 * Live-changeable fields that differ: the balloon target against what was last set (the guest
 * follows it at its own pace, so the reservation is no measure), the scheduler against what the
 * host reports.
 */
export function liveDrift(d: DesiredDomain, applied: { memoryMiB?: number }, o: Pick<ObservedDomain, 'maxMemoryKiB' | 'weight' | 'cap'>):
  { memoryMiB?: number; sched?: { weight: number; cap: number } } {
  const out: { memoryMiB?: number; sched?: { weight: number; cap: number } } = {};
  const target = Math.min(d.memoryMiB, Math.floor(o.maxMemoryKiB / 1024));
  if (applied.memoryMiB !== target) out.memoryMiB = target;
  if (o.weight !== d.cpuWeight || o.cap !== d.cpuCap) out.sched = { weight: d.cpuWeight, cap: d.cpuCap };
  return out;
}
