// A Domain's conditions (metav1.Condition: type, status, reason, message, lastTransitionTime,
// observedGeneration), computed from what one reconcile pass knows. Ready summarizes; the
// others say why. lastTransitionTime moves only when a condition's status changes.
import type { Condition, ConditionStatus, DefaultedDomainSpec, DomainPhase } from '../../crds/index.ts';
import type { Diagnostic } from '../errors.ts';
import type { DomainStateName } from '../machines/index.ts';

export interface ConditionInputs {
  phase: DomainPhase;
  state: DomainStateName;
  generation: number;
  now: number;
  previous: Condition[];
  spec?: DefaultedDomainSpec;
  /** problems with the manifest now */
  errors: Diagnostic[];
  invalidFile?: string;
  declared: boolean;
  restartRequired: boolean;
  restartFields: string[];
  runningGeneration?: number;
  consoleReady: { matched: boolean; line?: string };
  /** The readiness xenstore key's value as last read (undefined: absent or not read). */
  xenstoreValue?: string;
  /** The last TCP/HTTP readiness probe, when one ran. */
  probed?: { ok: boolean; detail: string };
  /** Whether this controller can probe guests at all (it runs the gateway). */
  probesAvailable?: boolean;
  lastError?: { effect: string; code: string; message: string };
  /** the `saved` intent in force (xenoform save): the domain is gone on purpose */
  saved?: { file: string; at: string };
  name?: string;
}

export function buildConditions(x: ConditionInputs): Condition[] {
  const out: Condition[] = [];
  const set = (type: string, status: ConditionStatus, reason: string, message: string) => {
    const prev = x.previous.find((c) => c.type === type);
    const lastTransitionTime = prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : new Date(x.now).toISOString();
    out.push({ type, status, reason, message, lastTransitionTime, observedGeneration: x.generation });
  };

  const [rs, rr, rm] = ready(x);
  set('Ready', rs, rr, rm);

  if (x.errors.length > 0) {
    const more = x.errors.length > 1 ? ` (and ${x.errors.length - 1} more)` : '';
    const keep = x.spec ? `; keeping the last valid spec (generation ${x.generation})` : '; nothing runs until the manifest is valid';
    set('InvalidSpec', 'True', x.errors[0]!.code || 'ManifestInvalid', `${x.invalidFile}${more}${keep}`);
  } else {
    set('InvalidSpec', 'False', x.declared ? 'ManifestValid' : 'ManifestDeleted', x.declared ? 'the manifest is valid' : 'no manifest declares this Domain any more');
  }

  if (x.restartRequired) {
    const what = x.restartFields.length ? x.restartFields.join(', ') : 'fields that need a restart';
    const how = x.spec?.updateStrategy.type === 'Restart'
      ? 'restarting it (updateStrategy Restart)'
      : 'they apply at the next restart (updateStrategy PatchAndSwap is not implemented yet)';
    set('RestartRequired', 'True', 'BootFieldsChanged', `${what} changed since the domain started${x.runningGeneration !== undefined ? ` (generation ${x.runningGeneration})` : ''}; ${how}`);
  } else {
    set('RestartRequired', 'False', 'UpToDate', 'the running domain has the current spec, or changes were applied live');
  }

  set('Paused', x.phase === 'Paused' ? 'True' : 'False', x.phase === 'Paused' ? 'PausedByUser' : 'NotPaused', x.phase === 'Paused' ? 'paused until `xenoform unpause`' : 'not paused');

  // Only on Domains that have been saved: a saved one says where its image is.
  if (x.saved) set('Saved', 'True', 'SavedToFile', `saved to ${x.saved.file} at ${x.saved.at}; \`xenoform restore ${x.saved.file}\` or \`xenoform start ${x.name ?? 'NAME'}\` brings it back`);
  else if (x.previous.some((c) => c.type === 'Saved')) set('Saved', 'False', 'NotSaved', 'the domain is not saved (restored, or its image was dropped)');

  if (x.lastError && (x.phase === 'Failed' || x.state === 'Pending')) set('Failure', 'True', x.lastError.code, `${x.lastError.effect}: ${x.lastError.message}`);
  else set('Failure', 'False', 'NoFailure', 'no failure');
  return out;
}

function ready(x: ConditionInputs): [ConditionStatus, string, string] {
  if (x.phase === 'Paused') return ['False', 'Paused', 'the domain is paused'];
  if (x.saved) return ['False', 'Saved', `the domain is saved to ${x.saved.file}`];
  if (x.phase !== 'Running') return ['False', x.phase, `the domain is ${x.phase}`];
  const r = x.spec?.readiness;
  if (!r) return ['True', 'DomainRunning', 'the domain is running (no readiness check declared)'];
  if (r.console) {
    return x.consoleReady.matched
      ? ['True', 'ConsolePatternMatched', `console line ${JSON.stringify(x.consoleReady.line)} matched /${r.console.pattern}/`]
      : ['False', 'WaitingForConsole', `waiting for a console line matching /${r.console.pattern}/`];
  }
  if (r.xenstore) {
    const want = r.xenstore.value;
    const got = x.xenstoreValue;
    if (got !== undefined && (want === undefined || got === want)) return ['True', 'XenstoreKeyWritten', `the guest wrote ${r.xenstore.path} = ${JSON.stringify(got)}`];
    return ['False', 'WaitingForXenstore', got === undefined ? `waiting for the guest to write ${r.xenstore.path}` : `${r.xenstore.path} is ${JSON.stringify(got)}, waiting for ${JSON.stringify(want)}`];
  }
  if ((r.tcp || r.http) && x.probesAvailable) {
    const what = r.tcp ? `TCP port ${r.tcp.port}` : `HTTP GET ${r.http!.path ?? '/'} on port ${r.http!.port}`;
    if (x.probed?.ok) return ['True', r.tcp ? 'TcpProbeSucceeded' : 'HttpProbeSucceeded', `${what}: ${x.probed.detail}`];
    return ['False', r.tcp ? 'TcpProbeFailed' : 'HttpProbeFailed', `${what}: ${x.probed?.detail ?? 'not probed yet'}`];
  }
  // Without the gateway (a controller driving a host it cannot reach the segment of) nothing
  // can be probed; say so rather than pretend.
  if (r.tcp) return ['Unknown', 'ProbeNotSupported', `readiness by TCP port ${r.tcp.port} is not checked: this controller runs no gateway onto the guests' segment; the domain is running`];
  if (r.http) return ['Unknown', 'ProbeNotSupported', `readiness by HTTP on port ${r.http.port} is not checked: this controller runs no gateway onto the guests' segment; the domain is running`];
  return ['True', 'DomainRunning', 'the domain is running'];
}
