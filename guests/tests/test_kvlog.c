/* Native tests of kvlog on a simulated disk with a volatile write cache:
 * flushed data survives a power cut, unflushed data may be lost entirely,
 * or partly (torn), and the store must come back with every acknowledged
 * write and nothing that was never written. Also CRC-32. */
#include "native.h"
#include <kit/kvlog.h>
#include <kit/crc32.h>

#define MAXS 65536u                       /* sectors: 32 MiB */
static u8 *durable, *cache;               /* sector images */
static u8 *dirty;                         /* 1 = cache holds a newer sector */
static u64 nsect;
static long writes_left = -1;             /* >= 0: power fails after that many sectors */
static int torn;                          /* on a cut, apply a random half of the cache */

static void power_cut(void)
{
    for (u64 s = 0; s < nsect; s++)
        if (dirty[s]) {
            if (torn && (rand() & 1))
                memcpy(durable + s * 512, cache + s * 512, 512);
            dirty[s] = 0;
        }
    writes_left = -1;
}

static int d_read(void *ctx, u64 sector, void *buf, u32 n)
{
    (void)ctx;
    if (sector + n > nsect)
        return -5;
    for (u32 i = 0; i < n; i++)
        memcpy((u8 *)buf + i * 512, (dirty[sector + i] ? cache : durable) + (sector + i) * 512, 512);
    return 0;
}

static int d_write(void *ctx, u64 sector, const void *buf, u32 n)
{
    (void)ctx;
    if (sector + n > nsect)
        return -5;
    for (u32 i = 0; i < n; i++) {
        if (writes_left == 0)
            return -5;                    /* the power is gone */
        if (writes_left > 0)
            writes_left--;
        memcpy(cache + (sector + i) * 512, (const u8 *)buf + i * 512, 512);
        dirty[sector + i] = 1;
    }
    return 0;
}

static int d_flush(void *ctx)
{
    (void)ctx;
    if (writes_left == 0)
        return -5;
    for (u64 s = 0; s < nsect; s++)
        if (dirty[s]) {
            memcpy(durable + s * 512, cache + s * 512, 512);
            dirty[s] = 0;
        }
    return 0;
}

static struct kv_disk mkdisk(u64 sectors, u32 unit)
{
    nsect = sectors;
    struct kv_disk d = { d_read, d_write, d_flush, NULL, sectors, unit };
    return d;
}

static void fresh_disk(u64 sectors, int garbage)
{
    if (!durable) {
        durable = malloc(MAXS * 512);
        cache = malloc(MAXS * 512);
        dirty = malloc(MAXS);
    }
    for (u64 i = 0; i < sectors * 512; i++)
        durable[i] = garbage ? (u8)rand() : 0;
    memset(dirty, 0, MAXS);
    writes_left = -1;
    torn = 0;
}

/* heap for the store: a fresh malloc arena per boot would leak; use libc */
static void *al(size_t n) { return malloc(n ? n : 1); }

/* The model: what must be there (acknowledged) */
#define NK 64
static char model_val[NK][600];
static u32 model_len[NK];
static int model_has[NK];
/* an unacknowledged op may or may not have happened */
static int maybe_key = -1, maybe_has;
static char maybe_val[600];
static u32 maybe_len;

static void key_name(int k, char *out, u32 *n)
{
    out[0] = 'k';
    out[1] = (char)('0' + k / 10);
    out[2] = (char)('0' + k % 10);
    *n = 3;
}

static int check_model(void)
{
    int bad = 0;
    for (int k = 0; k < NK; k++) {
        char kn[4];
        u32 kl;
        key_name(k, kn, &kl);
        const void *v;
        u32 vl;
        int rc = kv_get(kn, kl, &v, &vl);
        int ok;
        if (k == maybe_key) {
            int old_ok = model_has[k] ? (rc == 0 && vl == model_len[k] && !memcmp(v, model_val[k], vl)) : rc == -2;
            int new_ok = maybe_has ? (rc == 0 && vl == maybe_len && !memcmp(v, maybe_val, vl)) : rc == -2;
            ok = old_ok || new_ok;
            if (new_ok) {                  /* adopt what happened */
                model_has[k] = maybe_has;
                model_len[k] = maybe_len;
                memcpy(model_val[k], maybe_val, maybe_len);
            }
        } else if (model_has[k]) {
            ok = rc == 0 && vl == model_len[k] && !memcmp(v, model_val[k], vl);
        } else {
            ok = rc == -2;
        }
        if (!ok) {
            bad++;
            printf("    key %d: rc %d (model has %d len %u)\n", k, rc, model_has[k], model_len[k]);
        }
    }
    maybe_key = -1;
    return bad;
}

static void random_op(int *acked)
{
    int k = rand() % NK;
    char kn[4];
    u32 kl;
    key_name(k, kn, &kl);
    if (rand() % 4 == 0) {
        maybe_key = k;
        maybe_has = 0;
        int rc = kv_delete(kn, kl);
        if (rc == 0 || rc == -2) {
            model_has[k] = 0;
            maybe_key = -1;
            *acked = 1;
        } else {
            *acked = 0;
        }
    } else {
        u32 len = (u32)(rand() % 600);
        for (u32 i = 0; i < len; i++)
            maybe_val[i] = (char)rand();
        maybe_len = len;
        maybe_key = k;
        maybe_has = 1;
        int rc = kv_put(kn, kl, maybe_val, len);
        if (rc == 0) {
            model_has[k] = 1;
            model_len[k] = len;
            memcpy(model_val[k], maybe_val, len);
            maybe_key = -1;
            *acked = 1;
        } else {
            *acked = 0;
        }
    }
}

static void t_crc(void)
{
    CHECK_EQ(crc32("123456789", 9), 0xCBF43926u);      /* the standard check value */
    CHECK_EQ(crc32("", 0), 0);
    CHECK_EQ(crc32_update(crc32("1234", 4), "56789", 5), 0xCBF43926u);
}

static void t_basic(void)
{
    fresh_disk(4096, 1);                               /* garbage: not a store */
    struct kv_disk d = mkdisk(4096, 1);
    CHECK_EQ(kv_open(&d, al, free), 0);
    CHECK_EQ(kv_get_stats()->formatted, 1);
    CHECK_EQ(kv_put("a", 1, "one", 3), 0);
    CHECK_EQ(kv_put("b", 1, "two", 3), 0);
    CHECK_EQ(kv_put("a", 1, "uno", 3), 0);
    CHECK_EQ(kv_delete("b", 1), 0);
    CHECK_EQ(kv_delete("b", 1), -2);
    CHECK_EQ(kv_put("", 0, "x", 1), -22);
    CHECK_EQ(kv_put("e", 1, "", 0), 0);                /* empty values are values */
    const void *v;
    u32 vl;
    CHECK_EQ(kv_get("a", 1, &v, &vl), 0);
    CHECK(vl == 3 && !memcmp(v, "uno", 3));
    power_cut();                                       /* everything was flushed */
    CHECK_EQ(kv_open(&d, al, free), 0);
    CHECK_EQ(kv_get_stats()->formatted, 0);
    CHECK_EQ(kv_get_stats()->records, 5);
    CHECK_EQ(kv_count(), 2);
    CHECK_EQ(kv_get("a", 1, &v, &vl), 0);
    CHECK(vl == 3 && !memcmp(v, "uno", 3));
    CHECK_EQ(kv_get("b", 1, &v, &vl), -2);
    CHECK_EQ(kv_get("e", 1, &v, &vl), 0);
    CHECK_EQ(vl, 0);
}

static char listed[4096];
static u32 listed_len;
static void list_fn(const char *k, u32 kl, void *arg)
{
    (void)arg;
    memcpy(listed + listed_len, k, kl);
    listed_len += kl;
    listed[listed_len++] = '\n';
}

static void t_keys_sorted(void)
{
    fresh_disk(4096, 0);
    struct kv_disk d = mkdisk(4096, 1);
    CHECK_EQ(kv_open(&d, al, free), 0);
    const char *ks[] = { "pear", "apple", "zoo", "app", "b", "apples" };
    for (int i = 0; i < 6; i++)
        CHECK_EQ(kv_put(ks[i], (u32)strlen(ks[i]), "v", 1), 0);
    listed_len = 0;
    CHECK_EQ(kv_keys(list_fn, NULL), 6);
    listed[listed_len] = 0;
    CHECK(!strcmp(listed, "app\napple\napples\nb\npear\nzoo\n"));
    /* many keys, with growth of the index */
    for (int i = 0; i < 3000; i++) {
        char k[8] = { 'n', (char)('0' + i / 1000), (char)('0' + i / 100 % 10), (char)('0' + i / 10 % 10), (char)('0' + i % 10) };
        if (kv_put(k, 5, k, 5) != 0) { CHECK(0); break; }
    }
    CHECK_EQ(kv_count(), 3006);
    power_cut();
    CHECK_EQ(kv_open(&d, al, free), 0);
    CHECK_EQ(kv_count(), 3006);
}

/* Random operations with power cuts at random points, including in the
 * middle of a write, torn or not; a small disk forces compactions. */
static void crash_loop(u64 sectors, u32 unit, int rounds, int use_torn)
{
    fresh_disk(sectors, 1);
    memset(model_has, 0, sizeof(model_has));
    maybe_key = -1;
    struct kv_disk d = mkdisk(sectors, unit);
    CHECK_EQ(kv_open(&d, al, free), 0);
    int bad = 0;
    u32 compactions = 0;
    for (int r = 0; r < rounds && !bad; r++) {
        int ops = rand() % 40;
        int acked = 1;
        for (int i = 0; i < ops; i++)
            random_op(&acked);
        /* arm a failure somewhere in the next operation (maybe) */
        if (rand() % 2) {
            writes_left = rand() % 20;
            random_op(&acked);
        }
        compactions += kv_get_stats()->compactions;
        torn = use_torn;
        power_cut();
        torn = 0;
        int rc = kv_open(&d, al, free);
        if (rc != 0) {
            printf("    reopen failed %d at round %d\n", rc, r);
            bad = 1;
            break;
        }
        bad = check_model();
        if (bad)
            printf("    round %d\n", r);
    }
    CHECK_EQ(bad, 0);
    CHECK(compactions > 0);
}

static void t_crash_clean(void) { crash_loop(600, 1, 300, 0); }
static void t_crash_torn(void) { crash_loop(600, 1, 300, 1); }
static void t_crash_torn_4k(void) { crash_loop(1200, 8, 200, 1); }

static void t_too_small_and_big_values(void)
{
    fresh_disk(16, 0);
    struct kv_disk d = mkdisk(16, 1);
    CHECK_EQ(kv_open(&d, al, free), -28);
    fresh_disk(2200, 0);
    d = mkdisk(2200, 1);                                /* two areas of ~549 KiB */
    CHECK_EQ(kv_open(&d, al, free), 0);
    static char big[KV_MAX_VALUE + 1];
    for (u32 i = 0; i < sizeof(big); i++) big[i] = (char)(i * 13);
    CHECK_EQ(kv_put("big", 3, big, KV_MAX_VALUE + 1), -22);
    CHECK_EQ(kv_put("big", 3, big, KV_MAX_VALUE), 0);
    CHECK_EQ(kv_put("big2", 4, big, KV_MAX_VALUE), 0);
    CHECK_EQ(kv_put("big3", 4, big, KV_MAX_VALUE), -28);   /* would not fit even compacted */
    /* An overwrite needs room for the old value and the new one (the old
     * stays on disk until the new record is durable). */
    CHECK_EQ(kv_put("big", 3, big + 1, KV_MAX_VALUE - 1), -28);
    CHECK_EQ(kv_delete("big2", 4), 0);
    CHECK_EQ(kv_put("big", 3, big + 1, KV_MAX_VALUE - 1), 0); /* compacts, then appends */
    CHECK_EQ(kv_get_stats()->compactions, 1);
    CHECK_EQ(kv_put("big2", 4, big, 1000), 0);
    power_cut();
    CHECK_EQ(kv_open(&d, al, free), 0);
    const void *v;
    u32 vl;
    CHECK_EQ(kv_get("big", 3, &v, &vl), 0);
    CHECK(vl == KV_MAX_VALUE - 1 && !memcmp(v, big + 1, vl));
    CHECK_EQ(kv_get("big2", 4, &v, &vl), 0);
    CHECK(vl == 1000 && !memcmp(v, big, vl));
    CHECK_EQ(kv_get("big3", 4, &v, &vl), -2);
}

void test_kvlog(void)
{
    srand(7);
    run_test("kvlog/crc32", t_crc);
    run_test("kvlog/basic", t_basic);
    run_test("kvlog/keys-sorted", t_keys_sorted);
    run_test("kvlog/crash-clean", t_crash_clean);
    run_test("kvlog/crash-torn", t_crash_torn);
    run_test("kvlog/crash-torn-4k", t_crash_torn_4k);
    run_test("kvlog/sizes", t_too_small_and_big_values);
}
