/**
 * Serving one blkif request, after the checks Linux's blkback makes (dispatch_rw_block_io,
 * xen_vbd_translate, dispatch_other_io_request in drivers/block/xen-blkback/blkback.c):
 *
 * - READ / WRITE need 1–11 segments; WRITE_BARRIER and FLUSH_DISKCACHE may carry 0–11 (a
 *   flush with data writes it between the flushes). Each segment names a granted page and an
 *   inclusive sector range in it: first_sect ≤ last_sect ≤ 7.
 * - The sectors are contiguous on the disk from sector_number and must lie inside it.
 * - A read-only disk refuses anything that writes (WRITE, WRITE_BARRIER, a flush with data).
 * - Data moves by grant copy, never by mapping: every segment is copied from the guest before
 *   a write touches the image, so a bad grant fails the request without a partial write.
 * - DISCARD and INDIRECT are not advertised (no feature-discard, no
 *   feature-max-indirect-segments), so they, and unknown operations, get EOPNOTSUPP.
 *
 * Any failure answers BLKIF_RSP_ERROR for this request only.
 */
import {
  BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY, SECTOR_SIZE, SECTORS_PER_PAGE, type BlkifRequest,
} from './blkif.ts';
import type { VbdCounters } from './metrics.ts';

/** What serving a request needs: the image and the frontend's grants. */
export interface RequestContext {
  image: {
    readonly readonly: boolean;
    readonly sectors: number;
    read(buf: Uint8Array, offset: number): void;
    write(buf: Uint8Array, offset: number): void;
    flush(): void;
  };
  /** Grant copy from the frontend's page `gref` (GNTTABOP_copy); a number is a GNTST error. */
  copyFromGuest(gref: number, offset: number, len: number): Uint8Array | number;
  copyToGuest(gref: number, offset: number, data: Uint8Array): number;
  counters: VbdCounters;
}

/** Serve `req`; returns its BLKIF_RSP_* status. Throws nothing the frontend can cause. */
export function serveRequest(req: BlkifRequest, ctx: RequestContext): number {
  const c = ctx.counters;
  switch (req.operation) {
    case BLKIF_OP_READ:
      c.rdReq++;
      return count(c, readWrite(req, ctx, false, 1));
    case BLKIF_OP_WRITE:
      c.wrReq++;
      return count(c, readWrite(req, ctx, true, 1));
    case BLKIF_OP_WRITE_BARRIER:
      c.fReq++;
      return count(c, flushWith(req, ctx, true));
    case BLKIF_OP_FLUSH_DISKCACHE:
      c.fReq++;
      return count(c, flushWith(req, ctx, false));
    default:
      return count(c, BLKIF_RSP_EOPNOTSUPP);
  }
}

function count(c: VbdCounters, status: number): number {
  if (status === BLKIF_RSP_ERROR) c.errors++;
  else if (status === BLKIF_RSP_EOPNOTSUPP) c.unsupported++;
  return status;
}

/** Total sectors of a request's segments, or -1 if a segment is malformed. */
function segmentSectors(req: BlkifRequest): number {
  let n = 0;
  for (const s of req.segs) {
    if (s.lastSect >= SECTORS_PER_PAGE || s.firstSect > s.lastSect) return -1;
    n += s.lastSect - s.firstSect + 1;
  }
  return n;
}

/**
 * A barrier: all earlier writes are durable before it, and its own data is durable when it
 * completes. A cache flush is the same with an optional payload. Linux counts both as
 * st_f_req only. On a read-only disk a flush without data has nothing to make durable and
 * succeeds; anything carrying data, and any barrier, is refused.
 */
function flushWith(req: BlkifRequest, ctx: RequestContext, isBarrier: boolean): number {
  if (ctx.image.readonly && (isBarrier || req.nrSegments > 0)) return BLKIF_RSP_ERROR;
  if (!io(() => ctx.image.flush())) return BLKIF_RSP_ERROR;
  if (req.nrSegments > 0) {
    const st = readWrite(req, ctx, true, 0);
    if (st !== BLKIF_RSP_OKAY) return st;
    if (!io(() => ctx.image.flush())) return BLKIF_RSP_ERROR;
  }
  return BLKIF_RSP_OKAY;
}

/** READ or WRITE of the request's segments; `minSegs` is 1 for plain reads and writes. */
function readWrite(req: BlkifRequest, ctx: RequestContext, write: boolean, minSegs: number): number {
  if (req.nrSegments < minSegs || req.nrSegments > BLKIF_MAX_SEGMENTS_PER_REQUEST) return BLKIF_RSP_ERROR;
  if (write && ctx.image.readonly) return BLKIF_RSP_ERROR;
  const nsec = segmentSectors(req);
  if (nsec < 0) return BLKIF_RSP_ERROR;
  const end = req.sector + nsec;
  if (!Number.isSafeInteger(end) || end > ctx.image.sectors) return BLKIF_RSP_ERROR;
  const buf = new Uint8Array(nsec * SECTOR_SIZE);
  const offset = req.sector * SECTOR_SIZE;
  if (write) {
    let at = 0;
    for (const s of req.segs) {
      const len = (s.lastSect - s.firstSect + 1) * SECTOR_SIZE;
      const data = ctx.copyFromGuest(s.gref, s.firstSect * SECTOR_SIZE, len);
      if (typeof data === 'number') return BLKIF_RSP_ERROR;
      buf.set(data, at);
      at += len;
    }
    if (!io(() => ctx.image.write(buf, offset))) return BLKIF_RSP_ERROR;
    ctx.counters.wrSect += nsec;
    return BLKIF_RSP_OKAY;
  }
  if (!io(() => ctx.image.read(buf, offset))) return BLKIF_RSP_ERROR;
  let at = 0;
  for (const s of req.segs) {
    const len = (s.lastSect - s.firstSect + 1) * SECTOR_SIZE;
    if (ctx.copyToGuest(s.gref, s.firstSect * SECTOR_SIZE, buf.subarray(at, at + len)) !== 0) return BLKIF_RSP_ERROR;
    at += len;
  }
  ctx.counters.rdSect += nsec;
  return BLKIF_RSP_OKAY;
}

/** A host I/O error (EIO, ENOSPC) fails the request, as a failed bio does in blkback. */
function io(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}
