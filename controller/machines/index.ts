// Driving the Domain machine without running it: xstate's pure initialTransition/transition
// compute the next snapshot and the effects to execute; snapshots persist as JSON.
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import type { DomainPhase } from '../../crds/index.ts';
import { domainMachine, EFFECTS, type DomainContext, type DomainInput, type DomainStateName, type EffectName, type EffectParams } from './domain.machine.ts';
import type { Observation, Timing } from './domain.policy.ts';

export * from './domain.machine.ts';
export * from './domain.policy.ts';

export type DomainSnapshot = SnapshotFrom<typeof domainMachine>;

/** One effect to execute, with its params. */
export type Effect = { [K in EffectName]: { type: K; params: EffectParams[K] } }[EffectName];

/** Keeps our named effects (xstate's own built-ins are resolved inside transition()). */
function effectsOf(actions: { type: string; params?: unknown }[]): Effect[] {
  return actions.filter((a) => (EFFECTS as string[]).includes(a.type)).map((a) => ({ type: a.type, params: a.params }) as Effect);
}

export function initialDomainSnapshot(input: DomainInput): DomainSnapshot {
  const [snapshot] = initialTransition(domainMachine, input);
  return snapshot;
}

/** One reconcile pass: the machine's decision on an observation. */
export function decide(snapshot: DomainSnapshot, obs: Observation): { snapshot: DomainSnapshot; effects: Effect[] } {
  const [next, actions] = transition(domainMachine, snapshot, { type: 'OBSERVE', obs });
  return { snapshot: next, effects: effectsOf(actions as { type: string; params?: unknown }[]) };
}

/** An effect the reconciler could not carry out: the machine records it (and may change state). */
export function effectFailed(snapshot: DomainSnapshot, f: { effect: string; code: string; message: string; at: number }): { snapshot: DomainSnapshot; effects: Effect[] } {
  const [next, actions] = transition(domainMachine, snapshot, { type: 'EFFECT_FAILED', ...f });
  return { snapshot: next, effects: effectsOf(actions as { type: string; params?: unknown }[]) };
}

export const stateOf = (s: DomainSnapshot): DomainStateName => s.value as DomainStateName;

/** The versioned record a snapshot is saved as (the state dir's machine file). */
export interface PersistedDomainMachine {
  version: 1;
  snapshot: unknown;
}

export function persistDomainSnapshot(s: DomainSnapshot): PersistedDomainMachine {
  return { version: 1, snapshot: domainMachine.getPersistedSnapshot(s) };
}

export class SnapshotError extends Error {
  readonly code = 'CorruptSnapshot';
}

/**
 * Restores a saved snapshot; throws SnapshotError when it is not one this machine knows.
 * `timing` replaces the saved timings (a controller restarted with another --clock-scale).
 */
export function restoreDomainSnapshot(p: unknown, timing?: Timing): DomainSnapshot {
  const rec = p as PersistedDomainMachine | undefined;
  if (!rec || rec.version !== 1 || typeof rec.snapshot !== 'object' || rec.snapshot === null) throw new SnapshotError('not a version 1 Domain machine snapshot');
  const snap = rec.snapshot as { value?: unknown; context?: Partial<DomainContext> };
  if (typeof snap.value !== 'string' || !(snap.value in domainMachine.config.states!)) throw new SnapshotError(`unknown machine state ${JSON.stringify(snap.value)}`);
  const c = snap.context;
  if (!c || typeof c.name !== 'string' || typeof c.restarts !== 'number' || typeof c.handled !== 'object') throw new SnapshotError('snapshot context is incomplete');
  const snapshot = timing ? { ...(rec.snapshot as object), context: { ...c, timing } } : rec.snapshot;
  return domainMachine.resolveState(snapshot as Parameters<typeof domainMachine.resolveState>[0]);
}

/** status.phase for a machine state (transient states never persist past a pass). */
export function phaseOf(s: DomainSnapshot): DomainPhase {
  const c = s.context;
  switch (stateOf(s)) {
    case 'Pending': return c.lastError ? 'Failed' : 'Pending';
    case 'Starting': return 'Starting';
    case 'Running': return 'Running';
    case 'Paused': return 'Paused';
    case 'Stopping': return 'Stopping';
    case 'Crashed': return c.lastEnd && (c.lastEnd.cause === 'crash' || c.lastEnd.cause === 'watchdog') ? 'Crashed' : 'Stopped';
    case 'CrashLoopBackOff': return 'CrashLoopBackOff';
    case 'Failed': return 'Failed';
    case 'Migrating': return 'Migrating';
    case 'Patching': return 'Patching';
    case 'Restarting': return 'Starting';
    case 'Saving': return 'Stopping';
    case 'Restoring': return 'Starting';
    default: return 'Stopped';
  }
}
