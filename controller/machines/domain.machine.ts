// The lifecycle of one Domain as an xstate v5 machine (../shared/DESIGN.md §3):
//
//   Pending → Starting → Running ⇄ Paused → Stopping → Stopped
//                 ↑          │ the domain ends (poweroff, reboot, crash, watchdog, vanished)
//                 │          ▼ xl's on_* action acts first: destroy | restart | rename-restart |
//   CrashLoopBackOff ←─ Restarting ←─ Ended (runStrategy decides) ← preserve → Crashed
//                                        └→ Stopped | Failed
//   Running/Paused ─save─▶ Saving ─(image written, domain gone)─▶ Stopped (intent `saved`: runStrategy
//   does not start it) ─start─▶ Restoring ─▶ Running; a domain restored under its name (`xenoform
//   restore FILE`) is taken back from Stopped. `save --checkpoint` writes the image and stays.
//   + Deleted (final), and Migrating / Patching for the issues that come next.
//
// It is driven by one event per reconcile pass, OBSERVE, carrying what the reconciler saw (the
// desired spec, the domain the host runs under the Domain's name, the user's intents). The
// root stores the observation; every state then decides with eventless (`always`) transitions,
// so one pass moves the machine as far as that observation allows. Effects (create, destroy,
// shutdown…) are named actions with params: xstate's pure `transition()` returns them without
// running anything, and the reconciler executes them against the Hypervisor API. An effect
// marks the observation as used (`acted`): no decision is ever taken twice on one look at the
// world, which is also why a pass never creates a domain it has just destroyed twice.
import { assign, enqueueActions, setup, type ActionFunction } from 'xstate';
import {
  actionFor, crashLoopDelay, DEFAULT_TIMING, dumpsCore, isFailure, liveDrift, pending, restartsAfter, shutdownCause,
  strategyRestarts, wantsStart, type CreateParams, type EndCause, type Observation, type OneShot, type Timing,
} from './domain.policy.ts';

export type StopGoal = 'delete' | 'stop' | 'restart';

export interface DomainContext {
  name: string;
  timing: Timing;
  /** the observation of the current pass */
  obs?: Observation;
  /** an effect has been decided in this pass: the observation is stale */
  acted: boolean;
  domid?: number;
  /** what the running domain was started from */
  boot?: { hash: string; generation: number; kernel: string; maxMemoryMiB: number };
  /** the live values last applied (balloon target, scheduler) */
  applied: { memoryMiB?: number; cpuWeight?: number; cpuCap?: number };
  /** a domain of ours has been seen running at least once */
  everStarted: boolean;
  /** the runStrategy in force when the domain was last left stopped: a new one decides afresh */
  stoppedUnder?: string;
  restarts: number;
  /** consecutive crash/watchdog ends, for crash-loop backoff */
  failCount: number;
  retryAt?: number;
  startedAt?: number;
  lastEnd?: { cause: EndCause; at: number; domid?: number; detail?: string };
  stop?: { goal: StopGoal; requestedAt: number; deadline: number };
  handled: Record<OneShot, number>;
  lastError?: { effect: string; code: string; message: string; at: number };
}

export type DomainEvent =
  | { type: 'OBSERVE'; obs: Observation }
  | { type: 'EFFECT_FAILED'; effect: string; code: string; message: string; at: number };

export interface DomainInput {
  name: string;
  timing?: Timing;
}

/** The effects the machine asks for, with their params (the reconciler's to execute). */
export interface EffectParams {
  createDomain: { spec: CreateParams };
  destroyDomain: { domid: number; why: string };
  requestShutdown: { domid: number; reason: 'poweroff' | 'reboot' };
  pauseDomain: { domid: number };
  unpauseDomain: { domid: number };
  setMemoryTarget: { domid: number; mib: number };
  setSched: { domid: number; weight: number; cap: number };
  /** xl's coredump-* (and rename-restart's stand-in): keep what the API shows of the domain */
  dumpCore: { domid: number; cause: EndCause; kind: 'coredump' | 'renamed' };
  /** xl save [-c]: write the domain's image to `file` (the host destroys it unless checkpoint) */
  saveDomain: { domid: number; file: string; checkpoint: boolean };
  /** xl restore: bring a saved domain back from its image */
  restoreDomain: { file: string };
  /** the saved domain is back (or its image is gone): drop the `saved` intent */
  forgetSaved: { why: string };
  recordEvent: { type: 'Normal' | 'Warning'; reason: string; message: string };
}
export type EffectName = keyof EffectParams;
export const EFFECTS: EffectName[] = ['createDomain', 'destroyDomain', 'requestShutdown', 'pauseDomain', 'unpauseDomain', 'setMemoryTarget', 'setSched', 'dumpCore', 'saveDomain', 'restoreDomain', 'forgetSaved', 'recordEvent'];

/** EFFECT_FAILED code for a restore whose image file does not exist (any more) */
export const IMAGE_MISSING = 'ImageMissing';

type Ctx = DomainContext;
type O = Observation;
const obsOf = (c: Ctx): O => c.obs!;
const look = (c: Ctx): boolean => c.obs !== undefined && !c.acted;
const present = (c: Ctx) => c.obs?.observed !== undefined;
const deleted = (c: Ctx) => c.obs !== undefined && c.obs.desired === undefined && !c.obs.declaredInvalid;
const strategy = (c: Ctx) => c.obs?.desired?.runStrategy ?? 'Always';
const isPending = (c: Ctx, k: OneShot) => c.obs !== undefined && pending(c.obs.intents, c.handled, k);
const cause = (c: Ctx) => shutdownCause(c.obs?.observed);
const endAction = (c: Ctx) => actionFor(cause(c) ?? 'poweroff', c.obs?.desired);
const observedPaused = (c: Ctx) => c.obs?.observed?.state[2] === 'p';
const restartRequired = (c: Ctx) => c.boot !== undefined && c.obs?.desired !== undefined && c.obs.desired.bootHash !== c.boot.hash;
// A runStrategy changed since the domain stopped starts it as on first declaration
// (Halted → RerunOnFailure runs it: kubevirt/kubevirt PR #11971).
const freshStart = (c: Ctx) => !c.everStarted || (c.stoppedUnder !== undefined && c.stoppedUnder !== strategy(c));
const wantsToRun = (c: Ctx) => !!c.obs?.desired && wantsStart(strategy(c), c.obs.intents, isPending(c, 'start') || isPending(c, 'restart'), freshStart(c));
const haltedOrStopped = (c: Ctx) => !!c.obs && (c.obs.intents.stopped || strategy(c) === 'Halted');
const drift = (c: Ctx) => (c.obs?.desired && c.obs.observed ? liveDrift(c.obs.desired, c.applied, c.obs.observed) : {});
const saveReq = (c: Ctx) => c.obs?.intents.saveTo;
const savedImage = (c: Ctx) => c.obs?.intents.saved;
const sec = (ms: number) => `${Math.round(ms / 100) / 10}s`;

/** A no-op effect: the reconciler runs the effects transition() returns; an actor may provide real ones. */
const effect = <K extends EffectName>(): ActionFunction<Ctx, DomainEvent, DomainEvent, EffectParams[K], never, never, never, never, never> => () => undefined;

export const domainMachine = setup({
  types: {} as { context: DomainContext; events: DomainEvent; input: DomainInput },
  actions: {
    createDomain: effect<'createDomain'>(),
    destroyDomain: effect<'destroyDomain'>(),
    requestShutdown: effect<'requestShutdown'>(),
    pauseDomain: effect<'pauseDomain'>(),
    unpauseDomain: effect<'unpauseDomain'>(),
    setMemoryTarget: effect<'setMemoryTarget'>(),
    setSched: effect<'setSched'>(),
    dumpCore: effect<'dumpCore'>(),
    saveDomain: effect<'saveDomain'>(),
    restoreDomain: effect<'restoreDomain'>(),
    forgetSaved: effect<'forgetSaved'>(),
    recordEvent: effect<'recordEvent'>(),
  },
  guards: {
    look: ({ context }) => look(context),
    vanished: ({ context: c }) => look(c) && !present(c),
    present: ({ context: c }) => look(c) && present(c),
    goneAndDeleted: ({ context: c }) => look(c) && !present(c) && deleted(c),
    deleted: ({ context: c }) => look(c) && deleted(c),
    deletedNow: ({ context: c }) => deleted(c),
    shutDown: ({ context: c }) => look(c) && cause(c) !== undefined,
    endPreserve: ({ context: c }) => look(c) && cause(c) !== undefined && endAction(c) === 'preserve',
    endRestart: ({ context: c }) => look(c) && cause(c) !== undefined && restartsAfter(endAction(c)),
    intentDestroy: ({ context: c }) => look(c) && isPending(c, 'destroy'),
    intentRestart: ({ context: c }) => look(c) && isPending(c, 'restart'),
    intentReboot: ({ context: c }) => look(c) && isPending(c, 'reboot'),
    intentShutdown: ({ context: c }) => look(c) && isPending(c, 'shutdown'),
    intentStartOrRestart: ({ context: c }) => look(c) && !!c.obs?.desired && !haltedOrStopped(c) && (isPending(c, 'start') || isPending(c, 'restart')),
    staleIntent: ({ context: c }) => look(c) && STALE.some((k) => isPending(c, k)),
    intentSave: ({ context: c }) => look(c) && isPending(c, 'save') && saveReq(c) !== undefined && !saveReq(c)!.checkpoint,
    intentCheckpoint: ({ context: c }) => look(c) && isPending(c, 'save') && saveReq(c) !== undefined && saveReq(c)!.checkpoint,
    presentSaved: ({ context: c }) => look(c) && present(c) && savedImage(c) !== undefined,
    restoreSaved: ({ context: c }) => look(c) && !!c.obs?.desired && savedImage(c) !== undefined && !c.obs.intents.stopped && isPending(c, 'start'),
    staleSaved: ({ context: c }) => look(c) && savedImage(c) !== undefined,
    imageMissing: ({ event }) => event.type === 'EFFECT_FAILED' && event.code === IMAGE_MISSING,
    haltedOrStopped: ({ context: c }) => look(c) && haltedOrStopped(c),
    haltedOrStoppedNow: ({ context: c }) => haltedOrStopped(c),
    updateByRestart: ({ context: c }) => look(c) && restartRequired(c) && c.obs!.desired!.updateStrategy === 'Restart',
    wantsPause: ({ context: c }) => look(c) && !!c.obs?.intents.paused,
    wantsUnpause: ({ context: c }) => look(c) && !c.obs?.intents.paused,
    pausedWithoutIntent: ({ context: c }) => look(c) && observedPaused(c) && !c.obs!.intents.paused,
    unpausedWithIntent: ({ context: c }) => look(c) && !observedPaused(c) && !!c.obs!.intents.paused,
    observedPausedWithIntent: ({ context: c }) => look(c) && observedPaused(c) && !!c.obs!.intents.paused,
    liveDrift: ({ context: c }) => look(c) && (drift(c).memoryMiB !== undefined || drift(c).sched !== undefined),
    stable: ({ context: c }) => look(c) && c.failCount > 0 && c.startedAt !== undefined && c.obs!.now - c.startedAt >= c.timing.stableAfterMs,
    wantsToRun: ({ context: c }) => look(c) && wantsToRun(c),
    notWanted: ({ context: c }) => look(c) && !!c.obs?.desired && !wantsToRun(c),
    backoffOver: ({ context: c }) => look(c) && c.obs!.now >= (c.retryAt ?? 0),
    graceOver: ({ context: c }) => look(c) && c.stop !== undefined && c.obs!.now >= c.stop.deadline,
    // decisions on context only (transient states, after an effect in the same pass)
    strategyRestarts: ({ context: c }) => c.lastEnd !== undefined && strategyRestarts(strategy(c), c.lastEnd.cause),
    onceFailed: ({ context: c }) => c.lastEnd !== undefined && isFailure(c.lastEnd.cause) && strategy(c) === 'Once',
    inBackoff: ({ context: c }) => c.retryAt !== undefined && c.obs !== undefined && c.retryAt > c.obs.now,
    canStart: ({ context: c }) => !!c.obs?.desired && !haltedOrStopped(c),
    stopForRestart: ({ context: c }) => c.stop?.goal === 'restart' || (c.stop?.goal === 'delete' && !deleted(c)),
  },
}).createMachine({
  id: 'domain',
  initial: 'Pending',
  context: ({ input }) => ({
    name: input.name,
    timing: input.timing ?? DEFAULT_TIMING,
    acted: false,
    applied: {},
    everStarted: false,
    restarts: 0,
    failCount: 0,
    handled: { start: 0, restart: 0, reboot: 0, shutdown: 0, destroy: 0, save: 0 },
  }),
  on: {
    OBSERVE: { actions: assign(({ event }) => ({ obs: event.obs, acted: false })) },
    EFFECT_FAILED: {
      actions: [
        assign(({ context: c, event }) => ({
          lastError: { effect: event.effect, code: event.code, message: event.message, at: event.at },
          // a live change that failed is tried again on the next pass
          applied: event.effect === 'setMemoryTarget' ? { ...c.applied, memoryMiB: undefined } : event.effect === 'setSched' ? { ...c.applied, cpuWeight: undefined, cpuCap: undefined } : c.applied,
        })),
        warn('EffectFailed', ({ event }) => `${(event as any).effect}: ${(event as any).message}`),
      ],
    },
  },
  states: {
    Pending: {
      description: 'declared; no domain yet',
      always: [...idleTransitions(), { guard: 'notWanted', target: 'Stopped' }],
    },
    Starting: {
      description: 'create issued; waiting to see the domain',
      entry: [
        assign(({ context: c }) => ({
          acted: true,
          restarts: c.restarts + (c.everStarted ? 1 : 0),
          stoppedUnder: undefined,
          retryAt: undefined,
          stop: undefined,
          domid: undefined,
          handled: { ...c.handled, start: Math.max(c.handled.start, c.obs!.intents.start), restart: Math.max(c.handled.restart, c.obs!.intents.restart) },
          boot: { hash: c.obs!.desired!.bootHash, generation: c.obs!.desired!.generation, kernel: c.obs!.desired!.create.kernel, maxMemoryMiB: c.obs!.desired!.create.maxMemoryMiB },
          applied: { memoryMiB: c.obs!.desired!.create.memoryMiB, cpuWeight: c.obs!.desired!.cpuWeight, cpuCap: c.obs!.desired!.cpuCap },
        })),
        { type: 'createDomain', params: ({ context: c }) => ({ spec: c.obs!.desired!.create }) },
      ],
      on: { EFFECT_FAILED: { target: 'Pending', actions: [assign(({ event }) => ({ lastError: { effect: event.effect, code: event.code, message: event.message, at: event.at } })), warn('FailedCreate', ({ event }) => (event as any).message)] } },
      always: [
        {
          guard: 'present', target: 'Running',
          actions: [
            assign(({ context: c }) => ({ domid: c.obs!.observed!.domid, startedAt: c.obs!.now, everStarted: true, lastError: undefined })),
            normal('Started', ({ context: c }) => `started domain ${c.name} (domid ${c.obs!.observed!.domid})${c.restarts ? `, restart ${c.restarts}` : ''}`),
          ],
        },
        { guard: 'goneAndDeleted', target: 'Deleted' },
        { guard: 'vanished', target: 'Pending', actions: [assign({ acted: true }), warn('StartLost', () => 'the created domain is not on the host; starting it again on the next look')] },
      ],
    },
    Running: { description: 'the domain runs', always: upTransitions('Running') },
    Paused: { description: 'paused by the user (pause holds until unpause)', always: upTransitions('Paused') },
    Stopping: {
      description: 'a graceful shutdown was requested; destroyed when the grace period ends',
      always: [
        { guard: 'vanished', target: 'StopDone' },
        { guard: 'shutDown', target: 'StopDone', actions: destroy('shut down') },
        { guard: 'graceOver', target: 'StopDone', actions: [warn('ShutdownTimeout', ({ context: c }) => `did not shut down within ${sec(c.timing.gracePeriodMs)}; destroying it`), ...destroy('grace period over')] },
      ],
    },
    StopDone: {
      description: 'transient: the stop finished; what next',
      always: [
        { guard: 'deletedNow', target: 'Deleted' },
        { guard: 'stopForRestart', target: 'Starting' },
        { target: 'Stopped', actions: assign({ stop: undefined, domid: undefined }) },
      ],
    },
    Ended: {
      description: 'transient: the domain is gone; runStrategy decides',
      always: [
        { guard: 'deletedNow', target: 'Deleted' },
        { guard: 'haltedOrStoppedNow', target: 'Stopped' },
        { guard: 'strategyRestarts', target: 'Restarting' },
        { guard: 'onceFailed', target: 'Failed' },
        { target: 'Stopped' },
      ],
    },
    Restarting: {
      description: 'transient: start again now or after the crash-loop backoff',
      entry: assign(({ context: c }) => {
        const counts = c.lastEnd?.cause === 'crash' || c.lastEnd?.cause === 'watchdog';
        const failCount = counts ? c.failCount + 1 : c.failCount;
        const delay = counts ? crashLoopDelay(failCount, c.timing) : 0;
        return { failCount, retryAt: delay > 0 ? c.obs!.now + delay : undefined, domid: undefined };
      }),
      always: [
        { guard: 'deletedNow', target: 'Deleted' },
        { guard: 'haltedOrStoppedNow', target: 'Stopped' },
        { guard: 'inBackoff', target: 'CrashLoopBackOff', actions: warn('CrashLoopBackOff', ({ context: c }) => `failed ${c.failCount} time(s) in a row; next start in ${sec(c.retryAt! - c.obs!.now)}`) },
        { guard: 'canStart', target: 'Starting' },
        { target: 'Stopped' },
      ],
    },
    CrashLoopBackOff: {
      description: 'waiting before starting a crashing domain again (10 s × n², at most 300 s)',
      always: [
        { guard: 'present', target: 'Running', actions: adopt() },
        { guard: 'deleted', target: 'Deleted' },
        { guard: 'haltedOrStopped', target: 'Stopped', actions: assign({ retryAt: undefined }) },
        { guard: 'intentStartOrRestart', target: 'Starting' },
        { guard: 'backoffOver', target: 'Starting' },
        refuseStale('nothing is running (crash-loop backoff)'),
      ],
    },
    Crashed: {
      description: 'kept for inspection (preserve); nothing restarts it while it is kept',
      always: [
        { guard: 'vanished', target: 'Ended', actions: normal('PreservedGone', () => 'the preserved domain was destroyed') },
        { guard: 'deleted', target: 'Deleted', actions: destroy('manifest deleted') },
        { guard: 'intentDestroy', target: 'Ended', actions: [consume('destroy'), ...destroy('destroy requested')] },
        { guard: 'intentStartOrRestart', target: 'Starting', actions: destroy('start requested') },
        refuseStale('the domain is preserved, not running'),
      ],
    },
    Stopped: {
      description: 'not running, as runStrategy or the user wants',
      entry: assign(({ context: c }) => ({ stoppedUnder: strategy(c) })),
      always: idleTransitions(),
    },
    Failed: {
      description: 'ended by a failure that runStrategy does not restart (Once)',
      entry: assign(({ context: c }) => ({ stoppedUnder: strategy(c) })),
      always: [
        { guard: 'present', target: 'Running', actions: adopt() },
        { guard: 'deleted', target: 'Deleted' },
        { guard: 'intentStartOrRestart', target: 'Starting' },
        refuseStale('the domain has failed and is not running'),
      ],
    },
    Saving: {
      description: 'xl save: the image is being written; once it is, the domain is gone and stays gone',
      on: { EFFECT_FAILED: { target: 'Running', actions: warn('SaveFailed', ({ event }) => `save failed, the domain keeps running: ${(event as any).message}`) } },
      always: [
        { guard: 'vanished', target: 'Stopped', actions: assign({ domid: undefined, stop: undefined }) },
        // still there on a later look (a save interrupted by a controller restart): it runs on
        { guard: 'present', target: 'Running' },
      ],
    },
    Restoring: {
      description: '`start` of a saved domain: restoring it from its image',
      on: {
        EFFECT_FAILED: [
          // the image is gone: forget it; the pending start then boots the domain afresh
          { guard: 'imageMissing', target: 'Stopped', actions: [warn('SavedImageMissing', ({ event }) => `${(event as any).message}; starting the domain afresh`), { type: 'forgetSaved', params: { why: 'image missing' } }] },
          {
            target: 'Stopped',
            actions: [consume('start'), warn('RestoreFailed', ({ event }) => `${(event as any).message}; the domain stays saved (fix or remove the image, then \`xenoform start\` again)`)],
          },
        ],
      },
      always: [
        { guard: 'present', target: 'Running', actions: [consume('start'), ...restored()] },
        { guard: 'vanished', target: 'Stopped' },
      ],
    },
    // Room for the issues that come next: live migration and patch-and-swap enter these states
    // from Running and return to Running (or Failed); until then nothing enters them.
    Migrating: { description: 'moving to another host (live migration)' },
    Patching: { description: 'a patched standby is booting to take over (PatchAndSwap)' },
    Deleted: { type: 'final', description: 'the manifest is gone and so is the domain' },
  },
});

export type DomainMachine = typeof domainMachine;
export type DomainStateName = 'Pending' | 'Starting' | 'Running' | 'Paused' | 'Stopping' | 'StopDone' | 'Ended' | 'Restarting' | 'CrashLoopBackOff' | 'Crashed' | 'Stopped' | 'Failed' | 'Saving' | 'Restoring' | 'Migrating' | 'Patching' | 'Deleted';

/** One-shot intents that need a running domain: refused, visibly, where there is none. */
const STALE: OneShot[] = ['restart', 'reboot', 'shutdown', 'destroy', 'save'];

// ---- transition builders --------------------------------------------------------------------

type Msg = (a: { context: Ctx; event: DomainEvent }) => string;
/** Builders outside setup() return config fragments; xstate's config types are invariant in context and events, so they are typed loosely here and checked by the tests. */
type Loose = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function normal(reason: string, message: Msg): Loose {
  return { type: 'recordEvent' as const, params: (a: { context: Ctx; event: DomainEvent }) => ({ type: 'Normal' as const, reason, message: message(a) }) };
}

function warn(reason: string, message: Msg): Loose {
  return { type: 'recordEvent' as const, params: (a: { context: Ctx; event: DomainEvent }) => ({ type: 'Warning' as const, reason, message: message(a) }) };
}

function consume(k: OneShot): Loose {
  return assign(({ context: c }: { context: Ctx }) => ({ handled: { ...c.handled, [k]: c.obs!.intents[k] } }));
}

function destroy(why: string): Loose {
  return [
    { type: 'destroyDomain' as const, params: ({ context: c }: { context: Ctx }) => ({ domid: c.obs!.observed!.domid, why }) },
    assign({ acted: true }),
  ];
}

/** Taking over a domain found on the host under our name (a restarted controller, lost state). */
function adopt(): Loose {
  return [
    assign(({ context: c }: { context: Ctx }) => ({
      domid: c.obs!.observed!.domid,
      everStarted: true,
      retryAt: undefined,
      startedAt: c.startedAt ?? c.obs!.now,
      // without a record of how it was started, assume the current spec
      boot: c.boot ?? (c.obs!.desired ? { hash: c.obs!.desired.bootHash, generation: c.obs!.desired.generation, kernel: c.obs!.desired.create.kernel, maxMemoryMiB: Math.floor(c.obs!.observed!.maxMemoryKiB / 1024) } : undefined),
    })),
    normal('Adopted', ({ context: c }) => `found domain ${c.name} running on the host (domid ${c.obs!.observed!.domid}, state ${c.obs!.observed!.state}); adopted it`),
  ];
}

/** One-shot intents that cannot apply in a state without a running domain: refused, visibly. */
function refuseStale(why: string): Loose {
  return {
    guard: 'staleIntent' as const,
    actions: [
      warn('IntentRefused', ({ context: c }) => `${STALE.filter((k) => isPending(c, k)).join(', ')} refused: ${why}`),
      assign(({ context: c }: { context: Ctx }) => ({ handled: { ...c.handled, restart: c.obs!.intents.restart, reboot: c.obs!.intents.reboot, shutdown: c.obs!.intents.shutdown, destroy: c.obs!.intents.destroy, save: c.obs!.intents.save } })),
    ],
  };
}

/** A saved domain back on the host (restored by `start` or `xenoform restore`): ours again. */
function restored(): Loose {
  return [
    assign(({ context: c }: { context: Ctx }) => ({
      acted: true,
      domid: c.obs!.observed!.domid,
      everStarted: true,
      retryAt: undefined,
      stop: undefined,
      lastError: undefined,
      startedAt: c.obs!.now,
      boot: c.boot ?? (c.obs!.desired ? { hash: c.obs!.desired.bootHash, generation: c.obs!.desired.generation, kernel: c.obs!.desired.create.kernel, maxMemoryMiB: Math.floor(c.obs!.observed!.maxMemoryKiB / 1024) } : undefined),
    })),
    normal('Restored', ({ context: c }) => `domain ${c.name} restored${savedImage(c) ? ` from ${savedImage(c)!.file}` : ''} (domid ${c.obs!.observed!.domid}); it continues where it was saved`),
    { type: 'forgetSaved' as const, params: { why: 'restored' } },
  ];
}

/** Pending and Stopped: no domain of ours is running. */
function idleTransitions(): Loose {
  return [
    { guard: 'presentSaved' as const, target: 'Running', actions: restored() },
    { guard: 'present' as const, target: 'Running', actions: adopt() },
    { guard: 'deleted' as const, target: 'Deleted' },
    {
      guard: 'restoreSaved' as const, target: 'Restoring',
      actions: [
        assign({ acted: true }),
        normal('Restoring', ({ context: c }) => `start requested: restoring the saved domain from ${savedImage(c)!.file}`),
        { type: 'restoreDomain' as const, params: ({ context: c }: { context: Ctx }) => ({ file: savedImage(c)!.file }) },
      ],
    },
    { guard: 'wantsToRun' as const, target: 'Starting' },
    refuseStale('the domain is not running'),
  ];
}

function beginStop(goal: StopGoal, reason: string, message: Msg): Loose {
  return [
    assign(({ context: c }: { context: Ctx }) => ({ acted: true, stop: { goal, requestedAt: c.obs!.now, deadline: c.obs!.now + c.timing.gracePeriodMs } })),
    normal(reason, message),
    enqueueActions(({ context: c, enqueue }: { context: Ctx; enqueue: any }) => {
      // a paused guest cannot answer a shutdown request: unpause it first
      if (observedPaused(c)) enqueue({ type: 'unpauseDomain', params: { domid: c.obs!.observed!.domid } });
      enqueue({ type: 'requestShutdown', params: { domid: c.obs!.observed!.domid, reason: 'poweroff' } });
    }),
  ];
}

/** What the domain's end means: record it, then xl's action (and its core dump). */
function recordEnd(): Loose {
  return [
    assign(({ context: c }: { context: Ctx }) => ({
      lastEnd: { cause: cause(c)!, at: c.obs!.now, domid: c.obs!.observed!.domid, detail: c.obs!.observed!.crashReason },
    })),
    {
      type: 'recordEvent' as const,
      params: ({ context: c }: { context: Ctx }) => {
        const k = cause(c)!;
        const failed = isFailure(k);
        return {
          type: failed ? 'Warning' as const : 'Normal' as const,
          reason: k === 'crash' ? 'Crashed' : k === 'watchdog' ? 'WatchdogFired' : k === 'reboot' ? 'Rebooted' : 'ShutDown',
          message: `domain ${c.obs!.observed!.domid} ${k === 'crash' ? `crashed${c.obs!.observed!.crashReason ? `: ${c.obs!.observed!.crashReason}` : ''}` : `shut down (${k})`}; on${k === 'crash' ? 'Crash' : k === 'watchdog' ? 'Watchdog' : k === 'reboot' ? 'Reboot' : 'Poweroff'}: ${endAction(c)}`,
        };
      },
    },
  ];
}

/** xl's action on the end it observed: a core first if asked, then destroy (restart follows in Restarting). */
function endEffects(): Loose {
  return enqueueActions(({ context: c, enqueue }: { context: Ctx; enqueue: any }) => {
    const a = endAction(c);
    if (dumpsCore(a)) enqueue({ type: 'dumpCore', params: { domid: c.obs!.observed!.domid, cause: cause(c)!, kind: a === 'rename-restart' ? 'renamed' : 'coredump' } });
    enqueue({ type: 'destroyDomain', params: { domid: c.obs!.observed!.domid, why: `${a} (xl action)` } });
    enqueue.assign({ acted: true });
  });
}

/** Balloon target and scheduler parameters, applied live when they drift from the spec. */
function applyLive(): Loose {
  return enqueueActions(({ context: c, enqueue }: { context: Ctx; enqueue: any }) => {
    const d = drift(c);
    const domid = c.obs!.observed!.domid;
    const applied = { ...c.applied };
    if (d.memoryMiB !== undefined) {
      enqueue({ type: 'recordEvent', params: { type: 'Normal', reason: 'MemoryTarget', message: `balloon target set to ${d.memoryMiB} MiB (live)` } });
      enqueue({ type: 'setMemoryTarget', params: { domid, mib: d.memoryMiB } });
      applied.memoryMiB = d.memoryMiB;
    }
    if (d.sched) {
      enqueue({ type: 'recordEvent', params: { type: 'Normal', reason: 'Scheduler', message: `scheduler set to weight ${d.sched.weight}, cap ${d.sched.cap} (live)` } });
      enqueue({ type: 'setSched', params: { domid, ...d.sched } });
      applied.cpuWeight = d.sched.weight;
      applied.cpuCap = d.sched.cap;
    }
    enqueue.assign({ acted: true, applied });
  });
}

/** Running and Paused: a domain of ours is on the host. The order is the priority. */
function upTransitions(here: 'Running' | 'Paused'): Loose {
  const domidOf = ({ context: c }: { context: Ctx }) => ({ domid: c.obs!.observed!.domid });
  return [
    {
      guard: 'vanished' as const, target: 'Ended',
      actions: [
        assign(({ context: c }: { context: Ctx }) => ({ lastEnd: { cause: 'vanished' as const, at: c.obs!.now, domid: c.domid } })),
        warn('DomainVanished', ({ context: c }) => `domain ${c.domid ?? '?'} is no longer on the host (host restarted or domain destroyed outside the controller)`),
      ],
    },
    { guard: 'endPreserve' as const, target: 'Crashed', actions: recordEnd() },
    { guard: 'endRestart' as const, target: 'Restarting', actions: [...recordEnd(), endEffects()] },
    { guard: 'shutDown' as const, target: 'Ended', actions: [...recordEnd(), endEffects()] },
    { guard: 'deleted' as const, target: 'Stopping', actions: beginStop('delete', 'Deleting', ({ context: c }) => `manifest deleted: shutting domain ${c.obs!.observed!.domid} down (destroyed after ${sec(c.timing.gracePeriodMs)})`) },
    {
      guard: 'intentDestroy' as const, target: 'Ended',
      actions: [consume('destroy'), assign(({ context: c }: { context: Ctx }) => ({ lastEnd: { cause: 'destroyed' as const, at: c.obs!.now, domid: c.obs!.observed!.domid } })), normal('Destroyed', () => 'destroyed by the user'), ...destroy('destroy requested')],
    },
    {
      guard: 'intentSave' as const, target: 'Saving',
      actions: [consume('save'), assign({ acted: true }), { type: 'saveDomain' as const, params: ({ context: c }: { context: Ctx }) => ({ domid: c.obs!.observed!.domid, file: saveReq(c)!.file, checkpoint: false }) }],
    },
    {
      guard: 'intentCheckpoint' as const,
      actions: [consume('save'), assign({ acted: true }), { type: 'saveDomain' as const, params: ({ context: c }: { context: Ctx }) => ({ domid: c.obs!.observed!.domid, file: saveReq(c)!.file, checkpoint: true }) }],
    },
    { guard: 'staleSaved' as const, actions: [assign({ acted: true }), { type: 'forgetSaved' as const, params: { why: 'the domain runs' } }] },
    { guard: 'haltedOrStopped' as const, target: 'Stopping', actions: beginStop('stop', 'Stopping', ({ context: c }) => (c.obs!.intents.stopped ? 'stop requested: shutting down' : 'runStrategy is Halted: shutting down')) },
    { guard: 'intentRestart' as const, target: 'Stopping', actions: [consume('restart'), ...beginStop('restart', 'Restarting', () => 'restart requested: shutting down, then starting again')] },
    { guard: 'updateByRestart' as const, target: 'Stopping', actions: beginStop('restart', 'RestartForUpdate', ({ context: c }) => `spec generation ${c.obs!.desired!.generation} changes fields that need a restart (updateStrategy Restart): shutting down, then starting again`) },
    {
      guard: 'intentReboot' as const,
      actions: [consume('reboot'), assign({ acted: true }), normal('Rebooting', () => 'reboot requested'), { type: 'requestShutdown' as const, params: ({ context: c }: { context: Ctx }) => ({ domid: c.obs!.observed!.domid, reason: 'reboot' as const }) }],
    },
    {
      guard: 'intentShutdown' as const,
      actions: [consume('shutdown'), assign({ acted: true }), normal('ShuttingDown', () => 'shutdown requested (runStrategy decides what follows)'), { type: 'requestShutdown' as const, params: ({ context: c }: { context: Ctx }) => ({ domid: c.obs!.observed!.domid, reason: 'poweroff' as const }) }],
    },
    ...(here === 'Running'
      ? [
          { guard: 'observedPausedWithIntent' as const, target: 'Paused' },
          { guard: 'wantsPause' as const, target: 'Paused', actions: [assign({ acted: true }), normal('Paused', () => 'paused by the user'), { type: 'pauseDomain' as const, params: domidOf }] },
          { guard: 'pausedWithoutIntent' as const, actions: [assign({ acted: true }), warn('Unpausing', () => 'found paused without a pause intent: unpausing'), { type: 'unpauseDomain' as const, params: domidOf }] },
        ]
      : [
          { guard: 'wantsUnpause' as const, target: 'Running', actions: [assign({ acted: true }), normal('Unpaused', () => 'unpaused by the user'), { type: 'unpauseDomain' as const, params: domidOf }] },
          { guard: 'unpausedWithIntent' as const, actions: [assign({ acted: true }), { type: 'pauseDomain' as const, params: domidOf }] },
        ]),
    { guard: 'liveDrift' as const, actions: applyLive() },
    { guard: 'stable' as const, actions: assign({ failCount: 0 }) },
  ];
}
