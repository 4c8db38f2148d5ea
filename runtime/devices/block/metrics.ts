/**
 * A virtual block device's counters, as Linux's blkback keeps them (st_rd_req, st_wr_req,
 * st_oo_req, st_f_req, st_rd_sect, st_wr_sect in xen-blkback/common.h) and xentop shows them
 * (VBD_OO VBD_RD VBD_WR VBD_RSECT VBD_WSECT; tools/xentop/xentop.c), plus error counts.
 */
export interface VbdCounters {
  /** READ requests */
  rdReq: number;
  /** WRITE requests */
  wrReq: number;
  /** FLUSH_DISKCACHE and WRITE_BARRIER requests (each flushes the image) */
  fReq: number;
  /** times the backend stopped taking requests because no response slot was free */
  ooReq: number;
  /** sectors read and written (512 bytes) */
  rdSect: number;
  wrSect: number;
  /** responses with BLKIF_RSP_ERROR */
  errors: number;
  /** responses with BLKIF_RSP_EOPNOTSUPP */
  unsupported: number;
}

export function zeroCounters(): VbdCounters {
  return { rdReq: 0, wrReq: 0, fReq: 0, ooReq: 0, rdSect: 0, wrSect: 0, errors: 0, unsupported: 0 };
}

export function addCounters(into: VbdCounters, c: VbdCounters): VbdCounters {
  for (const k of Object.keys(into) as (keyof VbdCounters)[]) into[k] += c[k];
  return into;
}
