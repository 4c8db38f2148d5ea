/**
 * The guest's xenstore connection state that the tree export does not carry: its watches.
 * A guest restored without suspending never re-registers them (Linux does so in
 * xenbus resume), so they travel with the image, as oxenstored's live-update connection
 * records keep them. Paths under the old /local/domain/<id> move to the new id.
 * TODO: Xenstored should expose this itself (exportConnection/importConnection); until then
 * the connection map is reached here.
 */
import type { Xenstored } from '../devices/xenstore/xenstored.ts';
import type { Watch, XsClient } from '../devices/xenstore/core.ts';
import { ImageError } from './image.ts';

export const XS_CONN_RECORD_VERSION = 1;

export interface XsConnRecord {
  version: typeof XS_CONN_RECORD_VERSION;
  /** node: absolute, or "~/rest" when under the domain's own path; relative: events strip the prefix. */
  watches: { node: string; token: string; relative: boolean }[];
}

function conn(xs: Xenstored, domid: number): XsClient | undefined {
  return (xs as unknown as { conns: Map<number, XsClient> }).conns.get(domid);
}

export function saveXsConn(xs: Xenstored, domid: number): XsConnRecord {
  const c = conn(xs, domid);
  const home = `/local/domain/${domid}`;
  return {
    version: XS_CONN_RECORD_VERSION,
    watches: (c?.watches ?? []).map((w) => ({
      node: w.node === home ? '~' : w.node.startsWith(home + '/') ? '~' + w.node.slice(home.length) : w.node,
      token: w.token,
      relative: w.prefixLen > 0,
    })),
  };
}

export function checkXsConn(v: unknown): XsConnRecord {
  const r = v as XsConnRecord;
  if (!r || r.version !== XS_CONN_RECORD_VERSION) throw new ImageError(r && typeof r === 'object' && 'version' in r ? 'BAD_VERSION' : 'MALFORMED', 'xenstore connection record version');
  if (!Array.isArray(r.watches) || r.watches.length > 1024) throw new ImageError('MALFORMED', 'xenstore watches');
  for (const w of r.watches) {
    if (!w || typeof w.node !== 'string' || w.node.length > 4096 || typeof w.token !== 'string' || w.token.length > 4096 || typeof w.relative !== 'boolean') {
      throw new ImageError('MALFORMED', 'xenstore watch');
    }
    if (!(w.node.startsWith('/') || w.node.startsWith('@') || w.node === '~' || w.node.startsWith('~/'))) throw new ImageError('MALFORMED', `xenstore watch node ${JSON.stringify(w.node)}`);
  }
  return r;
}

export function restoreXsConn(xs: Xenstored, domid: number, r: XsConnRecord): void {
  const c = conn(xs, domid);
  if (!c) return;
  const home = `/local/domain/${domid}`;
  c.watches = r.watches.map((w): Watch => ({
    node: w.node.startsWith('~') ? home + w.node.slice(1) : w.node,
    token: w.token,
    prefixLen: w.relative ? c.implicitPath.length + 1 : 0,
  }));
}
