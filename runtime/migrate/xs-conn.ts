/**
 * The guest's xenstore connection state that the tree export does not carry — its watches
 * (Xenstored.exportWatches) — as a versioned record in the image, checked on the way in.
 */
import type { Xenstored } from '../devices/xenstore/xenstored.ts';
import { ImageError } from './image.ts';

export const XS_CONN_RECORD_VERSION = 1;

export interface XsConnRecord {
  version: typeof XS_CONN_RECORD_VERSION;
  /** node: absolute, or "~/rest" when under the domain's own path; relative: events strip the prefix. */
  watches: { node: string; token: string; relative: boolean }[];
}

export function saveXsConn(xs: Xenstored, domid: number): XsConnRecord {
  return { version: XS_CONN_RECORD_VERSION, watches: xs.exportWatches(domid) };
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
  xs.importWatches(domid, r.watches);
}
