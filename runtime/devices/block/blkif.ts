/**
 * The blkif ABI on a shared page, as a 32-bit (i386) frontend lays it out: xen/include/public/
 * io/blkif.h and io/ring.h, offsets as gcc -m32 places them (xen-abi.md §8).
 *
 *   ring header   req_prod@0 req_event@4 rsp_prod@8 rsp_event@12, entries from @64
 *   request  108  {u8 operation; u8 nr_segments@1; u16 handle@2; u64 id@4; u64 sector_number@12;
 *                  seg[11]@20 of {u32 gref; u8 first_sect@4; u8 last_sect@5; pad} (8 bytes)}
 *   response  12  {u64 id; u8 operation@8; i16 status@10}
 *
 * Every field a frontend controls is read once into a plain object (readRequest); the backend
 * validates and uses only that copy, as Xen's backends copy a request out of the ring before
 * looking at it (blkif_get_x86_32_req in Linux's xen-blkback/common.h).
 */
import type { FramePage } from '../../hv/shared.ts';

export const BLKIF_OP_READ = 0;
export const BLKIF_OP_WRITE = 1;
export const BLKIF_OP_WRITE_BARRIER = 2;
export const BLKIF_OP_FLUSH_DISKCACHE = 3;
export const BLKIF_OP_RESERVED_1 = 4;
export const BLKIF_OP_DISCARD = 5;
export const BLKIF_OP_INDIRECT = 6;

export const BLKIF_RSP_OKAY = 0;
export const BLKIF_RSP_ERROR = -1;
export const BLKIF_RSP_EOPNOTSUPP = -2;

export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
/** Sectors are 512 bytes whatever the image (blkif.h: sector-based quantities, sector-size 512). */
export const SECTOR_SIZE = 512;
/** Sectors in one 4 KiB page: first_sect and last_sect lie in 0..7. */
export const SECTORS_PER_PAGE = 4096 / SECTOR_SIZE;

/** VDISK_* bits of the backend's `info` node. */
export const VDISK_CDROM = 0x1;
export const VDISK_REMOVABLE = 0x2;
export const VDISK_READONLY = 0x4;

/** The ABI a frontend names in its `protocol` node (io/protocols.h); ours is the i386 one. */
export const XEN_IO_PROTO_ABI_X86_32 = 'x86_32-abi';

// io/ring.h: the shared ring header.
export const RING_REQ_PROD = 0;
export const RING_REQ_EVENT = 4;
export const RING_RSP_PROD = 8;
export const RING_RSP_EVENT = 12;
export const RING_ENTRIES = 64;

export const REQUEST_SIZE = 108;
export const RESPONSE_SIZE = 12;
/** sizeof(union blkif_sring_entry): the larger of the two. */
export const ENTRY_SIZE = Math.max(REQUEST_SIZE, RESPONSE_SIZE);
const SEG_OFFSET = 20;
const SEG_SIZE = 8;

/**
 * __RING_SIZE: entries per page = (4096 - 64) / sizeof(union {req, rsp}), rounded down to a
 * power of two: 4032 / 108 = 37 → 32.
 */
export const BLKIF_RING_SIZE = ringSize(ENTRY_SIZE);

export function ringSize(entryBytes: number): number {
  const n = Math.floor((4096 - RING_ENTRIES) / entryBytes);
  return 2 ** Math.floor(Math.log2(n));
}

export interface Segment {
  gref: number;
  firstSect: number;
  lastSect: number;
}

/** A request as copied out of the ring (nothing here has been validated yet). */
export interface BlkifRequest {
  operation: number;
  nrSegments: number;
  handle: number;
  /** The frontend's 64-bit id, kept as two words to echo back bit for bit. */
  idLo: number;
  idHi: number;
  /** sector_number as a float: exact below 2^53, and anything that large is out of range anyway. */
  sector: number;
  /** min(nr_segments, 11) segments; nr_segments itself is checked by the dispatcher. */
  segs: Segment[];
}

/** Copy ring slot `slot` (already masked) out of the shared page. */
export function readRequest(page: FramePage, slot: number): BlkifRequest {
  const at = RING_ENTRIES + slot * ENTRY_SIZE;
  const nrSegments = page.u8At(at + 1);
  const segs: Segment[] = [];
  for (let i = 0; i < Math.min(nrSegments, BLKIF_MAX_SEGMENTS_PER_REQUEST); i++) {
    const s = at + SEG_OFFSET + i * SEG_SIZE;
    segs.push({ gref: page.u32(s), firstSect: page.u8At(s + 4), lastSect: page.u8At(s + 5) });
  }
  return {
    operation: page.u8At(at),
    nrSegments,
    handle: page.u8At(at + 2) | (page.u8At(at + 3) << 8),
    idLo: page.u32(at + 4),
    idHi: page.u32(at + 8),
    sector: page.u32(at + 12) + page.u32(at + 16) * 2 ** 32,
    segs,
  };
}

/**
 * Write a response into ring slot `slot` (already masked): {u64 id; u8 operation@8; i16 status@10}.
 * Slots are sized for the union of request and response (RING_GET_RESPONSE), so the stride is
 * the request's 108 bytes, not the response's 12.
 */
export function writeResponse(page: FramePage, slot: number, req: BlkifRequest, status: number): void {
  const at = RING_ENTRIES + slot * ENTRY_SIZE;
  page.setU32(at, req.idLo);
  page.setU32(at + 4, req.idHi);
  page.setU8(at + 8, req.operation);
  page.setU8(at + 9, 0);
  page.setU16(at + 10, status & 0xffff);
}
