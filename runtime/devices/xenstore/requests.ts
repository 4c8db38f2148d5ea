/**
 * Request dispatch for a connection, following process_message() and the
 * wire_funcs[] table of tools/xenstored/core.c: unknown types get ENOSYS,
 * privileged-only types get EACCES from a domU, and tx_id is looked up
 * (ENOENT if unknown) for every type except WATCH and UNWATCH.
 */
import { wireErrorName, XenstoreError } from './errors.ts';
import * as ops from './ops.ts';
import { domainPath } from './paths.ts';
import type { XenstoreCore, XsClient } from './core.ts';
import type { Transaction } from './transaction.ts';
import type { XsMessage } from './wire.ts';
import { joinStrings, latin1ToBytes, oneArg, splitStrings, XENSTORE_PAYLOAD_MAX, XsType } from './wire.ts';

export type ReplyFn = (type: number, payload: Uint8Array) => void;

/** Hooks for the requests that concern domains rather than the tree. */
export interface DomainHooks {
  isIntroduced(domid: number): boolean;
}

const OK = latin1ToBytes('OK\0');
const PRIVILEGED_ONLY = new Set<number>([
  XsType.CONTROL, XsType.INTRODUCE, XsType.RELEASE, XsType.IS_DOMAIN_INTRODUCED,
  XsType.RESUME, XsType.SET_TARGET,
]);
const NO_TXID = new Set<number>([XsType.WATCH, XsType.UNWATCH]);
const DOMID_SELF = 0x7ff0;

/** C atoi(): leading decimal digits, else 0 (GET_DOMAIN_PATH and friends parse this way). */
function atoi(s: string): number {
  const m = /^\s*[+-]?\d+/.exec(s);
  return m ? Number(m[0]) | 0 : 0;
}

function str(s: string): Uint8Array {
  return latin1ToBytes(`${s}\0`);
}

/**
 * Handles one request; the reply (or ERROR reply) goes through `reply`, and
 * WATCH's first event is queued after its acknowledgement. Never throws.
 */
export function handleRequest(
  core: XenstoreCore,
  client: XsClient,
  msg: XsMessage,
  reply: ReplyFn,
  hooks: DomainHooks,
): void {
  const send: ReplyFn = (type, payload) => {
    if (payload.length > XENSTORE_PAYLOAD_MAX) reply(XsType.ERROR, str('E2BIG'));
    else reply(type, payload);
  };
  try {
    dispatch(core, client, msg, send, hooks);
  } catch (e) {
    const code = e instanceof XenstoreError ? e.code : 'EIO';
    reply(XsType.ERROR, str(wireErrorName(code)));
  }
}

function dispatch(core: XenstoreCore, client: XsClient, msg: XsMessage, send: ReplyFn, hooks: DomainHooks): void {
  const t = msg.type;
  const p = msg.payload;
  // Types 0-22 as in xs_wire.h; 20 (RESTRICT) is gone, WATCH_EVENT and ERROR
  // are replies. The 23-26 feature/quota requests are not offered (ENOSYS, as
  // a xenstored that predates them answers).
  const known = t <= XsType.DIRECTORY_PART && t !== 20 && t !== XsType.WATCH_EVENT && t !== XsType.ERROR;
  if (!known) throw new XenstoreError('ENOSYS');
  if (PRIVILEGED_ONLY.has(t) && !client.privileged) throw new XenstoreError('EACCES');
  const tx: Transaction | undefined = NO_TXID.has(t) ? undefined : core.lookupTransaction(client, msg.txId);
  const ctx = core.context(client, tx ?? core.tree);
  const fail = (): never => {
    throw new XenstoreError('EINVAL', 'malformed payload');
  };
  try {
    switch (t) {
      case XsType.READ:
        return send(t, ops.read(ctx, oneArg(p)));
      case XsType.WRITE: {
        const nul = p.indexOf(0);
        if (nul < 0) return fail();
        const path = splitStrings(p.subarray(0, nul + 1)).strings[0];
        ops.write(ctx, path, p.slice(nul + 1));
        return send(t, OK);
      }
      case XsType.MKDIR:
        ops.mkdir(ctx, oneArg(p));
        return send(t, OK);
      case XsType.RM:
        ops.rm(ctx, oneArg(p));
        return send(t, OK);
      case XsType.DIRECTORY:
        return send(t, joinStrings(ops.directory(ctx, oneArg(p))));
      case XsType.DIRECTORY_PART: {
        const { strings } = splitStrings(p);
        if (strings.length !== 2) return fail();
        return send(t, latin1ToBytes(ops.directoryPart(ctx, strings[0], atoi(strings[1]), XENSTORE_PAYLOAD_MAX)));
      }
      case XsType.GET_PERMS:
        return send(t, joinStrings(ops.getPerms(ctx, oneArg(p))));
      case XsType.SET_PERMS: {
        const { strings } = splitStrings(p);
        if (strings.length < 2) return fail();
        ops.setPerms(ctx, strings[0], strings.slice(1));
        return send(t, OK);
      }
      case XsType.WATCH: {
        const { strings } = splitStrings(p);
        if (strings.length !== 2) return fail();
        const w = core.addWatch(client, strings[0], strings[1]);
        send(t, OK);
        // Fired once straight away, with the path as the client gave it (do_watch()).
        return client.sendEvent(w.node.slice(w.prefixLen), w.token);
      }
      case XsType.UNWATCH: {
        const { strings } = splitStrings(p);
        if (strings.length !== 2) return fail();
        core.removeWatch(client, strings[0], strings[1]);
        return send(t, OK);
      }
      case XsType.TRANSACTION_START:
        if (tx) throw new XenstoreError('EBUSY');
        return send(t, str(String(core.startTransaction(client))));
      case XsType.TRANSACTION_END: {
        const arg = oneArg(p);
        if (arg !== 'T' && arg !== 'F') throw new XenstoreError('EINVAL');
        if (!tx) throw new XenstoreError('ENOENT');
        core.endTransaction(client, tx, arg === 'T');
        return send(t, OK);
      }
      case XsType.GET_DOMAIN_PATH: {
        const arg = oneArg(p);
        if (arg === undefined) throw new XenstoreError('EINVAL');
        return send(t, str(domainPath(atoi(arg))));
      }
      case XsType.RESET_WATCHES:
        core.resetClient(client);
        return send(t, OK);
      case XsType.IS_DOMAIN_INTRODUCED: {
        const arg = oneArg(p);
        if (arg === undefined) throw new XenstoreError('EINVAL');
        const d = atoi(arg);
        return send(t, str(d === DOMID_SELF || hooks.isIntroduced(d) ? 'T' : 'F'));
      }
      default:
        // INTRODUCE, RELEASE, RESUME, SET_TARGET, CONTROL, quotas: dom0 drives
        // these through the local API, never over a ring.
        throw new XenstoreError('ENOSYS');
    }
  } catch (e) {
    // An operation that broke half-way poisons its transaction (fail_transaction()).
    if (tx && !(e instanceof XenstoreError)) tx.failed = true;
    throw e;
  }
}
