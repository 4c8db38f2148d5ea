/*
 * blkfront: a block device front end (io/blkif.h; xen-abi.md §8).
 *
 * One ring page (32 requests), an unbound event channel for the back end,
 * and BLK_BOUNCE_PAGES bounce pages granted read-write to the back end for
 * the life of the connection: data is copied between the caller's buffer
 * and those pages, so callers need no alignment and never grant anything.
 * Up to 11 pages per request, several requests in flight per call. The
 * calls are synchronous: each returns when every request it issued has
 * been answered, blocking the vCPU (SCHEDOP_block) meanwhile.
 *
 * Sector numbers are in 512-byte units (as blkif); a request must be
 * aligned to the back end's sector-size (sector and count multiples of
 * sector_size / 512).
 */
#ifndef KIT_BLKFRONT_H
#define KIT_BLKFRONT_H
#include <kit/xen.h>

#define BLK_BOUNCE_PAGES 88         /* 8 full 11-segment requests */

struct blk_info {
    char node[64];           /* "device/vbd/51712" */
    char backend[128];
    u16 handle;              /* vdev: 202<<8 | disk<<4 | part */
    u64 sectors;             /* size in 512-byte sectors */
    u32 sector_size;         /* bytes, a multiple of 512 */
    u32 info;                /* VDISK_* */
    int readonly;
    int flush_op;            /* BLKIF_OP_FLUSH_DISKCACHE, _WRITE_BARRIER, or -1 */
};

/* Connects to device/vbd/<id> (NULL: the first vbd). 0 or -errno. */
int blkfront_init(const char *id);
const struct blk_info *blk_info(void);
/* n 512-byte sectors at `sector`; 0 or -errno (-EINVAL unaligned or out of
 * range, -EROFS, -EIO when the back end answered an error). */
int blk_read(u64 sector, void *buf, u32 n);
int blk_write(u64 sector, const void *buf, u32 n);
/* Makes every completed write durable: BLKIF_OP_FLUSH_DISKCACHE if the
 * back end offers feature-flush-cache, else WRITE_BARRIER if it offers
 * feature-barrier, else nothing to do (writes are durable on completion).
 * 0 or -errno (-EOPNOTSUPP -95 if the back end refused it). */
int blk_flush(void);
/* Requests answered with an error so far (diagnostics). */
u32 blk_errors(void);
/* Closing -> Closed; revokes the grants. */
void blkfront_shutdown(void);

#endif
