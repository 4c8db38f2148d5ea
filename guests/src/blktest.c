/*
 * blktest: exercises blkfront against the domain's first vbd, for back-end
 * engineers to test against.
 *
 * Console output (exact; values in <> vary with the disk):
 *
 *   blktest: vbd <handle> <sectors> sectors, sector-size <bytes>, <rw|ro>, flush <flush-cache|barrier|none>
 *   blktest: PASS wrote <n> sectors in <k> runs, flushed, read back, verified
 *
 * or, on the first mismatch or error,
 *
 *   blktest: FAIL <what> (<detail>)
 *
 * then it powers off (exit 0 from `xenoform boot` either way; grep the
 * PASS line). With no vbd: "blktest: FAIL no vbd (<errno>)".
 *
 * The runs (each a write of a pseudo-random pattern, then a read of the
 * same sectors after one flush) cover a single sector-size unit at 0, a
 * transfer of 200 KiB from sector 8 (several 11-segment requests in flight
 * at once), a transfer not a multiple of a page, and the disk's last 32
 * KiB; every run is skipped if the disk is too small for it. The pattern
 * depends on the sector number and a seed, so stale data from an earlier
 * run never verifies.
 *
 * A read-only disk: "blktest: PASS read-only: read <n> sectors, write
 * refused" (a write must fail with EROFS before reaching the back end).
 *
 * Command line (`--cmdline`), space-separated:
 *   seed=N        use seed N (default: from the TSC)
 *   mode=write    write and flush only, then print
 *                 "blktest: PASS wrote <n> sectors in <k> runs, flushed"
 *   mode=verify   read and verify only (after a mode=write boot with the
 *                 same seed, e.g. across a destroy = power cut), printing
 *                 "blktest: PASS verified <n> sectors in <k> runs"
 *   bench=M       afterwards, time M MiB of sequential 44 KiB writes, a
 *                 flush, M MiB of sequential reads, and 1000 random 4 KiB
 *                 reads and writes; prints "blktest: bench <name> <value>
 *                 <unit>" lines (nondeterministic by nature).
 */
#include <kit/kit.h>
#include <kit/blkfront.h>
#include <kit/blkif.h>

#define MAX_RUN 512u                             /* sectors */
static u8 wbuf[MAX_RUN * 512] __attribute__((aligned(PAGE_SIZE)));
static u8 rbuf[MAX_RUN * 512] __attribute__((aligned(PAGE_SIZE)));
static u32 seed;

static u32 mix(u32 x)
{
    x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16;
    return x;
}

static void pattern(u8 *buf, u64 sector, u32 n)
{
    for (u32 s = 0; s < n; s++) {
        u32 h = mix((u32)(sector + s) * 2654435761u ^ seed ^ (u32)((sector + s) >> 32));
        for (u32 i = 0; i < 512; i += 4) {
            h = mix(h + i);
            memcpy(buf + s * 512 + i, &h, 4);
        }
    }
}

static const char *arg(const char *name)
{
    const char *c = start_info->cmd_line;
    u32 n = strlen(name);
    while (*c) {
        while (*c == ' ')
            c++;
        if (!strncmp(c, name, n) && c[n] == '=')
            return c + n + 1;
        while (*c && *c != ' ')
            c++;
    }
    return NULL;
}

struct run { u64 sector; u32 n; };

static void bench(u32 mib)
{
    const struct blk_info *bi = blk_info();
    u32 chunk = 88;                              /* 44 KiB */
    u64 total = (u64)mib * 2048;
    if (total + chunk > bi->sectors)
        total = (bi->sectors / chunk - 1) * chunk;
    pattern(wbuf, 0, chunk);
    u64 t0 = now_ns();
    for (u64 s = 0; s < total; s += chunk)
        if (blk_write(s, wbuf, chunk) < 0) { printf("blktest: bench write failed\n"); return; }
    u64 t1 = now_ns();
    blk_flush();
    u64 t2 = now_ns();
    for (u64 s = 0; s < total; s += chunk)
        if (blk_read(s, rbuf, chunk) < 0) { printf("blktest: bench read failed\n"); return; }
    u64 t3 = now_ns();
    u64 bytes = total * 512;
    printf("blktest: bench seq-write %llu KiB/s\n", bytes * 1000000000ull / 1024 / (t1 - t0 + 1));
    printf("blktest: bench flush %llu us\n", (t2 - t1) / 1000);
    printf("blktest: bench seq-read %llu KiB/s\n", bytes * 1000000000ull / 1024 / (t3 - t2 + 1));
    u32 units = (u32)(bi->sectors / 8 > 0xFFFFFFFFull ? 0xFFFFFFFFu : bi->sectors / 8);
    u32 x = seed | 1;
    u64 t4 = now_ns();
    for (int i = 0; i < 1000; i++) {
        x = mix(x + 1);
        blk_read((u64)(x % units) * 8, rbuf, 8);
    }
    u64 t5 = now_ns();
    for (int i = 0; i < 1000; i++) {
        x = mix(x + 1);
        blk_write((u64)(x % units) * 8, wbuf, 8);
    }
    blk_flush();
    u64 t6 = now_ns();
    printf("blktest: bench rand-read-4k %llu IOPS\n", 1000ull * 1000000000ull / (t5 - t4 + 1));
    printf("blktest: bench rand-write-4k %llu IOPS\n", 1000ull * 1000000000ull / (t6 - t5 + 1));
}

void guest_main(void)
{
    kit_init(KIT_DEFAULT);
    int rc = blkfront_init(NULL);
    if (rc < 0) {
        printf("blktest: FAIL no vbd (%d)\n", rc);
        return;
    }
    const struct blk_info *bi = blk_info();
    const char *fl = bi->flush_op == BLKIF_OP_FLUSH_DISKCACHE ? "flush-cache" :
                     bi->flush_op == BLKIF_OP_WRITE_BARRIER ? "barrier" : "none";
    printf("blktest: vbd %u %llu sectors, sector-size %u, %s, flush %s\n",
           bi->handle, bi->sectors, bi->sector_size, bi->readonly ? "ro" : "rw", fl);

    const char *a = arg("seed");
    seed = a ? (u32)strtoull(a, NULL) : (u32)rdtsc();
    a = arg("mode");
    int do_write = !a || !strncmp(a, "write", 5), do_verify = !a || !strncmp(a, "verify", 6);

    u32 unit = bi->sector_size / 512;
    u64 n = bi->sectors;
    struct run runs[4] = {
        { 0, unit },
        { 8 * unit, 400 / unit * unit },
        { 512, (MAX_RUN - 3 * unit) / unit * unit },
        { n >= 64 ? (n - 64) / unit * unit : 0, 64 },
    };
    u32 nr = 0, total = 0;
    struct run use[4];
    for (int i = 0; i < 4; i++)
        if (runs[i].n && runs[i].sector + runs[i].n <= n && runs[i].n <= MAX_RUN)
            use[nr++] = runs[i];

    if (bi->readonly) {
        for (u32 i = 0; i < nr; i++) {
            rc = blk_read(use[i].sector, rbuf, use[i].n);
            if (rc < 0) {
                printf("blktest: FAIL read sector %llu (%d)\n", use[i].sector, rc);
                return;
            }
            total += use[i].n;
        }
        rc = blk_write(0, wbuf, unit);
        if (rc != -30) {
            printf("blktest: FAIL write to read-only disk gave %d\n", rc);
            return;
        }
        printf("blktest: PASS read-only: read %u sectors, write refused\n", total);
        return;
    }

    for (u32 i = 0; do_write && i < nr; i++) {
        pattern(wbuf, use[i].sector, use[i].n);
        rc = blk_write(use[i].sector, wbuf, use[i].n);
        if (rc < 0) {
            printf("blktest: FAIL write sector %llu (%d)\n", use[i].sector, rc);
            return;
        }
    }
    if (do_write && (rc = blk_flush()) < 0) {
        printf("blktest: FAIL flush (%d)\n", rc);
        return;
    }
    for (u32 i = 0; do_verify && i < nr; i++) {
        memset(rbuf, 0xEE, use[i].n * 512);
        rc = blk_read(use[i].sector, rbuf, use[i].n);
        if (rc < 0) {
            printf("blktest: FAIL read sector %llu (%d)\n", use[i].sector, rc);
            return;
        }
        pattern(wbuf, use[i].sector, use[i].n);
        for (u32 s = 0; s < use[i].n; s++)
            if (memcmp(wbuf + s * 512, rbuf + s * 512, 512)) {
                printf("blktest: FAIL verify sector %llu (data differs)\n", use[i].sector + s);
                return;
            }
    }
    for (u32 i = 0; i < nr; i++)
        total += use[i].n;
    if (do_write && do_verify)
        printf("blktest: PASS wrote %u sectors in %u runs, flushed, read back, verified\n", total, nr);
    else if (do_write)
        printf("blktest: PASS wrote %u sectors in %u runs, flushed\n", total, nr);
    else
        printf("blktest: PASS verified %u sectors in %u runs\n", total, nr);

    a = arg("bench");
    if (a)
        bench((u32)strtoull(a, NULL));
}
