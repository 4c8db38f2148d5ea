// Imperative verbs against declared state (../shared/DESIGN.md §3): each is recorded as an
// intent in the state dir (shown in status and events) and honoured by reconcile. A verb the
// Domain's phase or run strategy cannot accept is refused here with the reason, not recorded.
import type { Domain } from '../../crds/index.ts';
import { XenoformError } from '../errors.ts';
import type { IntentRecord } from '../store/index.ts';

export const VERBS = ['start', 'stop', 'restart', 'pause', 'unpause', 'shutdown', 'reboot', 'destroy'] as const;
export type Verb = (typeof VERBS)[number];

export class IntentRefusedError extends XenoformError {
  readonly code = 'IntentRefused';
}

const RUNNING = ['Running', 'Paused'];
const HAS_DOMAIN = ['Running', 'Paused', 'Starting', 'Stopping', 'Crashed'];

/**
 * Checks `verb` against the Domain as it is now and returns the change to its intents, or
 * throws IntentRefusedError. `message` says what will happen.
 */
export function planIntent(verb: Verb, d: Domain, cur: IntentRecord): { change: (i: IntentRecord) => void; message: string } {
  const phase = d.status?.phase ?? 'Pending';
  const strategy = d.spec.runStrategy ?? 'Always';
  const name = d.metadata.name;
  const refuse = (why: string): never => { throw new IntentRefusedError(`cannot ${verb} Domain ${name}: ${why}`); };
  switch (verb) {
    case 'pause':
      if (cur.paused) return { change: () => undefined, message: `Domain ${name} is already held paused` };
      if (!RUNNING.includes(phase)) refuse(`it is ${phase}, not Running`);
      return { change: (i) => { i.paused = true; }, message: `Domain ${name} will be paused until \`xenoform unpause ${name}\`` };
    case 'unpause':
      if (!cur.paused && phase !== 'Paused') refuse('it is not paused');
      return { change: (i) => { i.paused = false; }, message: `Domain ${name} will be unpaused` };
    case 'stop':
      if (cur.stopped && !HAS_DOMAIN.includes(phase)) return { change: () => undefined, message: `Domain ${name} is already stopped` };
      return {
        change: (i) => { i.stopped = true; i.paused = false; },
        message: `Domain ${name} will be shut down and kept down until \`xenoform start ${name}\`${strategy === 'Always' ? ' (runStrategy Always is parked)' : ''}`,
      };
    case 'start':
      if (strategy === 'Halted') refuse('its manifest says runStrategy Halted; change the manifest to run it');
      if (HAS_DOMAIN.includes(phase) && !cur.stopped) refuse(`it is already ${phase}`);
      // a saved domain comes back from its image (as `xenoform restore FILE`), or boots afresh if the image is gone
      if (cur.saved) return { change: (i) => { i.stopped = false; i.start++; }, message: `Domain ${name} will be restored from ${cur.saved.file} (saved ${cur.saved.at}); if that image is gone it boots afresh` };
      return { change: (i) => { i.stopped = false; i.start++; }, message: `Domain ${name} will be started` };
    case 'restart':
      if (!HAS_DOMAIN.includes(phase)) refuse(`it is ${phase}; use \`xenoform start ${name}\``);
      return { change: (i) => { i.restart++; i.paused = false; }, message: `Domain ${name} will be shut down and started again` };
    case 'reboot':
      if (phase === 'Paused') refuse('it is Paused: a paused guest cannot reboot; unpause it first');
      if (phase !== 'Running') refuse(`it is ${phase}, not Running`);
      return { change: (i) => { i.reboot++; }, message: `Domain ${name} is asked to reboot (onReboot: ${d.spec.onReboot ?? 'restart'})` };
    case 'shutdown':
      if (!RUNNING.includes(phase)) refuse(`it is ${phase}, not Running`);
      return { change: (i) => { i.shutdown++; i.paused = false; }, message: `Domain ${name} is asked to power off (onPoweroff: ${d.spec.onPoweroff ?? 'destroy'}; then runStrategy ${strategy} decides)` };
    case 'destroy':
      if (!HAS_DOMAIN.includes(phase)) refuse(`it is ${phase}: no domain to destroy`);
      return { change: (i) => { i.destroy++; i.paused = false; }, message: `Domain ${name} will be destroyed (then runStrategy ${strategy} decides)` };
  }
}

/**
 * `xenoform save NAME FILE [--checkpoint]` (xl save [-c]): a one-shot request that reconcile
 * carries out on the host the domain runs on. Without checkpoint the domain is then gone and
 * held down (the `saved` intent) until `restore FILE` or `start NAME`.
 */
export function planSave(d: Domain, cur: IntentRecord, file: string, checkpoint: boolean): { change: (i: IntentRecord) => void; message: string } {
  const phase = d.status?.phase ?? 'Pending';
  const name = d.metadata.name;
  if (!RUNNING.includes(phase)) {
    throw new IntentRefusedError(`cannot save Domain ${name}: it is ${phase}, not running${cur.saved ? ` (it is saved to ${cur.saved.file})` : ''}`);
  }
  return {
    change: (i) => { i.save++; i.saveTo = { file, checkpoint }; },
    message: checkpoint ? `Domain ${name} will be saved to ${file} and keep running` : `Domain ${name} will be saved to ${file} and stay down until \`xenoform restore ${file}\` or \`xenoform start ${name}\``,
  };
}
