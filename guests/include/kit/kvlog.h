/*
 * kvlog: a key-value store kept in memory and made durable by a
 * write-ahead log on a block device (used by the kvstore guest; pure, so
 * the native tests run it on a simulated disk with power cuts).
 *
 * Disk layout, in I/O units of `unit` 512-byte sectors (the device's
 * sector size):
 *   unit 0, unit 1   two superblock copies (written alternately, so a torn
 *                    superblock write leaves the other intact); the valid
 *                    one (magic, CRC) with the higher seq wins:
 *                    {magic "XKVS", version 1, u64 seq, epoch, gen, area}
 *   units 2 ..       two equal log areas; `area` says which is live.
 * Log records, packed back to back from the start of the live area:
 *   {u32 magic "XKVR", u32 crc32 of everything after this field,
 *    u32 epoch, u32 gen, u32 seq, u32 vlen, u16 klen, u8 type (1 put,
 *    2 delete), u8 0} then the key, then the value.
 * Replay takes records while each one is whole and valid: magic, CRC,
 * epoch == the superblock's, seq == previous + 1, gen between the previous
 * record's and the superblock's. The first record that fails ends the log
 * (a torn tail after a power cut is simply not there). Every boot raises
 * the superblock's gen (written and flushed before any new record), so a
 * stale record left beyond a torn tail by an earlier boot can never be
 * taken for a new one; compaction raises the epoch, so records of an
 * area's earlier use are never taken either.
 *
 * kv_put / kv_delete append one record, flush the device, and only then
 * change the in-memory index and return 0: a write acknowledged to a
 * client is on disk. When the live area is full, the live keys are
 * written as a fresh log into the other area (flushed), then the
 * superblock switches to it (flushed).
 */
#ifndef KIT_KVLOG_H
#define KIT_KVLOG_H
#include <kit/xen.h>

#define KV_MAX_KEY 255
#define KV_MAX_VALUE (256 * 1024)

struct kv_disk {
    int (*read)(void *ctx, u64 sector, void *buf, u32 n);      /* 512-byte sectors */
    int (*write)(void *ctx, u64 sector, const void *buf, u32 n);
    int (*flush)(void *ctx);
    void *ctx;
    u64 sectors;
    u32 unit;                        /* sectors per I/O unit (sector-size / 512) */
};

struct kv_stats {
    int formatted;                   /* no valid superblock: a new store */
    u32 records;                     /* replayed */
    u64 log_bytes;                   /* live log length */
    u64 area_bytes;                  /* capacity of one area */
    u32 gen, epoch;
    u32 compactions;
};

/* Opens (replaying the log) or formats the store. The allocator holds the
 * keys and values. 0 or -errno (-EIO, -ENOSPC when the disk is too small,
 * -ENOMEM). */
int kv_open(const struct kv_disk *disk, void *(*alloc)(size_t), void (*release)(void *));
/* 0 once durable; -EINVAL (bad key or value size), -ENOSPC (-28: even a
 * compacted log would not fit), -ENOMEM, -EIO. */
int kv_put(const char *key, u32 klen, const void *value, u32 vlen);
/* 0 once durable, -ENOENT (-2) if absent, or an error as kv_put. */
int kv_delete(const char *key, u32 klen);
/* 0 and the value (valid until the next kv_put/kv_delete), or -ENOENT. */
int kv_get(const char *key, u32 klen, const void **value, u32 *vlen);
u32 kv_count(void);
/* Calls fn for every key in byte order; returns the count. */
u32 kv_keys(void (*fn)(const char *key, u32 klen, void *arg), void *arg);
const struct kv_stats *kv_get_stats(void);

#endif
