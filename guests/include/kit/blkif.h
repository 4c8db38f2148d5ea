/*
 * Block device ring ABI (io/blkif.h; xen-abi.md §8), i386 layouts.
 * The request is 108 bytes on i386 (id at offset 4), 112 on x86-64 (id at
 * 8), which is why the front end publishes protocol = "x86_32-abi".
 * Sector numbers, first_sect/last_sect and the "sectors" node are always in
 * 512-byte units; requests must be aligned to the backend's sector-size.
 */
#ifndef KIT_BLKIF_H
#define KIT_BLKIF_H
#include <kit/ring.h>

#define BLKIF_OP_READ 0
#define BLKIF_OP_WRITE 1
#define BLKIF_OP_WRITE_BARRIER 2
#define BLKIF_OP_FLUSH_DISKCACHE 3
#define BLKIF_OP_DISCARD 5
#define BLKIF_OP_INDIRECT 6
#define BLKIF_MAX_SEGMENTS_PER_REQUEST 11
#define BLKIF_RSP_EOPNOTSUPP -2
#define BLKIF_RSP_ERROR -1
#define BLKIF_RSP_OKAY 0
#define VDISK_CDROM 0x1
#define VDISK_REMOVABLE 0x2
#define VDISK_READONLY 0x4
#define XEN_IO_PROTO_ABI_X86_32 "x86_32-abi"

struct blkif_request_segment {
    grant_ref_t gref;        /* the I/O buffer page */
    u8 first_sect;           /* first 512-byte sector in the page (incl.) */
    u8 last_sect;            /* last one, inclusive */
    u8 pad[2];
};
KIT_ASSERT_OFF(struct blkif_request_segment, first_sect, 4);
KIT_ASSERT_OFF(struct blkif_request_segment, last_sect, 5);
KIT_ASSERT_SIZE(struct blkif_request_segment, 8);

struct blkif_request {
    u8 operation;            /* BLKIF_OP_* */
    u8 nr_segments;
    u16 handle;              /* the vdev (xvda = 202<<8 = 51712) */
    u64 id;                  /* echoed in the response */
    u64 sector_number;       /* start sector, 512-byte units */
    struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
KIT_ASSERT_OFF(struct blkif_request, nr_segments, 1);
KIT_ASSERT_OFF(struct blkif_request, handle, 2);
KIT_ASSERT_OFF(struct blkif_request, id, 4);
KIT_ASSERT_OFF(struct blkif_request, sector_number, 12);
KIT_ASSERT_OFF(struct blkif_request, seg, 20);
KIT_ASSERT_SIZE(struct blkif_request, 108);

struct blkif_response {
    u64 id;
    u8 operation;            /* @8 */
    u8 pad;
    s16 status;              /* @10: BLKIF_RSP_* */
};
KIT_ASSERT_OFF(struct blkif_response, operation, 8);
KIT_ASSERT_OFF(struct blkif_response, status, 10);
KIT_ASSERT_SIZE(struct blkif_response, 12);

union blkif_sring_entry {
    struct blkif_request req;
    struct blkif_response rsp;
};
#define BLK_RING_SIZE RING_ENTRIES(sizeof(union blkif_sring_entry))
_Static_assert(BLK_RING_SIZE == 32, "blkif ring holds 32 entries");
struct blkif_sring {
    struct ring_hdr h;
    union blkif_sring_entry ring[BLK_RING_SIZE];
};
KIT_ASSERT_OFF(struct blkif_sring, ring, 64);
_Static_assert(sizeof(struct blkif_sring) <= 4096, "blkif ring fits a page");

#endif
