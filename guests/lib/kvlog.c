/* Key-value store with a write-ahead log (see kvlog.h). */
#include <kit/kvlog.h>
#include <kit/crc32.h>
#include <kit/string.h>

#define SECT 512u
#define SB_MAGIC 0x53564B58u          /* "XKVS" little-endian */
#define REC_MAGIC 0x52564B58u         /* "XKVR" */
#define REC_HDR 28u
#define T_PUT 1
#define T_DEL 2
#define READ_CHUNK (128 * 1024)

struct sb {
    u32 magic, version;
    u64 seq;
    u32 epoch, gen, area, pad;
    u32 crc;                          /* of the bytes before it */
};

struct entry {
    char *key;                        /* key bytes, then value bytes (one allocation) */
    u32 klen, vlen;
    u32 hash;
};

static struct kv_disk disk;
static void *(*kalloc)(size_t);
static void (*kfree_fn)(void *);
static struct sb sb;
static int sb_slot;                   /* slot holding the current superblock */
static u32 ubytes;                    /* bytes per unit */
static u64 area_units, area_start[2];
static u64 tail;                      /* bytes in the live log */
static u32 next_seq;
static u8 *tail_unit;                 /* contents of the unit holding `tail` */
static struct kv_stats stats;

static struct entry *table;           /* open addressing; key == NULL: free, TOMB: deleted */
static u32 cap, used, live;
static char tomb_mark;
#define TOMB (&tomb_mark)

const struct kv_stats *kv_get_stats(void) { return &stats; }
u32 kv_count(void) { return live; }

/* ---- index ---- */

static u32 hash_key(const char *k, u32 n)
{
    u32 h = 2166136261u;                       /* FNV-1a */
    for (u32 i = 0; i < n; i++)
        h = (h ^ (u8)k[i]) * 16777619u;
    return h;
}

static struct entry *find(const char *k, u32 n, u32 h)
{
    if (!cap)
        return NULL;
    for (u32 i = h & (cap - 1), step = 0; step < cap; i = (i + 1) & (cap - 1), step++) {
        struct entry *e = &table[i];
        if (!e->key)
            return NULL;
        if (e->key != TOMB && e->hash == h && e->klen == n && !memcmp(e->key, k, n))
            return e;
    }
    return NULL;
}

static int grow(void)
{
    u32 ncap = cap ? cap * 2 : 256;
    struct entry *nt = kalloc(ncap * sizeof(*nt));
    if (!nt)
        return -12;
    memset(nt, 0, ncap * sizeof(*nt));
    for (u32 i = 0; i < cap; i++) {
        struct entry *e = &table[i];
        if (!e->key || e->key == TOMB)
            continue;
        u32 j = e->hash & (ncap - 1);
        while (nt[j].key)
            j = (j + 1) & (ncap - 1);
        nt[j] = *e;
    }
    if (table)
        kfree_fn(table);
    table = nt;
    cap = ncap;
    used = live;
    return 0;
}

/* Sets key -> value in memory (copying both). */
static int index_put(const char *k, u32 kl, const void *v, u32 vl)
{
    if ((used + 1) * 10 >= cap * 7 && grow() < 0)
        return -12;
    char *blob = kalloc(kl + vl + 1);
    if (!blob)
        return -12;
    memcpy(blob, k, kl);
    memcpy(blob + kl, v, vl);
    blob[kl + vl] = 0;
    u32 h = hash_key(k, kl);
    struct entry *e = find(k, kl, h);
    if (e) {
        kfree_fn(e->key);
    } else {
        u32 i = h & (cap - 1);
        while (table[i].key && table[i].key != TOMB)
            i = (i + 1) & (cap - 1);
        e = &table[i];
        if (!e->key)
            used++;
        live++;
    }
    e->key = blob;
    e->klen = kl;
    e->vlen = vl;
    e->hash = h;
    return 0;
}

static int index_del(const char *k, u32 kl)
{
    struct entry *e = find(k, kl, hash_key(k, kl));
    if (!e)
        return -2;
    kfree_fn(e->key);
    e->key = TOMB;
    live--;
    return 0;
}

/* ---- superblock ---- */

static int write_sb(void)
{
    u8 *buf = kalloc(ubytes);
    if (!buf)
        return -12;
    memset(buf, 0, ubytes);
    sb.seq++;
    sb.crc = crc32(&sb, (u32)__builtin_offsetof(struct sb, crc));
    memcpy(buf, &sb, sizeof(sb));
    int slot = (int)(sb.seq & 1);
    int rc = disk.write(disk.ctx, (u64)slot * disk.unit, buf, disk.unit);
    if (rc >= 0)
        rc = disk.flush(disk.ctx);
    kfree_fn(buf);
    if (rc >= 0)
        sb_slot = slot;
    return rc < 0 ? -5 : 0;
}

static int read_sb(int slot, struct sb *out)
{
    u8 *buf = kalloc(ubytes);
    if (!buf)
        return -12;
    int rc = disk.read(disk.ctx, (u64)slot * disk.unit, buf, disk.unit);
    memcpy(out, buf, sizeof(*out));
    kfree_fn(buf);
    if (rc < 0)
        return -5;
    if (out->magic != SB_MAGIC || out->version != 1 || out->area > 1 ||
        out->crc != crc32(out, (u32)__builtin_offsetof(struct sb, crc)))
        return -22;
    return 0;
}

/* ---- log I/O ---- */

static u64 unit_sector(int area, u64 unit) { return (area_start[area] + unit) * disk.unit; }

/* Writes bytes [off, off+len) of the live log (len > 0), completing the
 * first unit from tail_unit; flushes. */
static int log_write(int area, u64 off, const u8 *data, u32 len, u8 *tail_copy)
{
    u64 first = off / ubytes, last = (off + len + ubytes - 1) / ubytes;
    u32 n = (u32)(last - first);
    u8 *buf = kalloc((size_t)n * ubytes);
    if (!buf)
        return -12;
    u32 lead = (u32)(off % ubytes);
    memcpy(buf, tail_copy, lead);
    memcpy(buf + lead, data, len);
    memset(buf + lead + len, 0, (size_t)n * ubytes - lead - len);
    int rc = disk.write(disk.ctx, unit_sector(area, first), buf, n * disk.unit);
    if (rc >= 0)
        rc = disk.flush(disk.ctx);
    if (rc >= 0) {                               /* the new last unit */
        u64 end = off + len;
        if (end % ubytes)
            memcpy(tail_copy, buf + (size_t)(n - 1) * ubytes, ubytes);
        else
            memset(tail_copy, 0, ubytes);
    }
    kfree_fn(buf);
    return rc < 0 ? -5 : 0;
}

static u32 rec_len(u32 kl, u32 vl) { return REC_HDR + kl + vl; }

static void put32le(u8 *p, u32 v) { p[0] = (u8)v; p[1] = (u8)(v >> 8); p[2] = (u8)(v >> 16); p[3] = (u8)(v >> 24); }
static u32 get32le(const u8 *p) { return p[0] | (p[1] << 8) | (p[2] << 16) | ((u32)p[3] << 24); }

static void build(u8 *r, u32 epoch, u32 gen, u32 seq, u8 type, const char *k, u32 kl,
                  const void *v, u32 vl)
{
    put32le(r, REC_MAGIC);
    put32le(r + 8, epoch);
    put32le(r + 12, gen);
    put32le(r + 16, seq);
    put32le(r + 20, vl);
    r[24] = (u8)kl;
    r[25] = (u8)(kl >> 8);
    r[26] = type;
    r[27] = 0;
    memcpy(r + REC_HDR, k, kl);
    if (vl)
        memcpy(r + REC_HDR + kl, v, vl);
    put32le(r + 4, crc32(r + 8, REC_HDR - 8 + kl + vl));
}

/* ---- replay ---- */

struct reader {
    int area;
    u64 base;                          /* log offset of buf[0] */
    u32 len;                           /* valid bytes in buf */
    u8 *buf;
};

/* Makes log bytes [off, off+n) available; returns a pointer or NULL. */
static const u8 *rd(struct reader *r, u64 off, u32 n)
{
    u64 area_bytes = area_units * ubytes;
    if (off + n > area_bytes)
        return NULL;
    if (off >= r->base && off + n <= r->base + r->len)
        return r->buf + (off - r->base);
    u64 start = off / ubytes * ubytes;
    u32 want = (u32)(((off + n - start) + READ_CHUNK - 1) / READ_CHUNK * READ_CHUNK);
    if (start + want > area_bytes)
        want = (u32)(area_bytes - start);
    if (want > READ_CHUNK + KV_MAX_VALUE + 1024)
        return NULL;
    if (disk.read(disk.ctx, unit_sector(r->area, start / ubytes), r->buf, want / SECT) < 0)
        return NULL;
    r->base = start;
    r->len = want;
    return r->buf + (off - start);
}

static int replay(void)
{
    struct reader r = { sb.area, 0, 0, kalloc(READ_CHUNK + KV_MAX_VALUE + 1024 + 4096) };
    if (!r.buf)
        return -12;
    u64 off = 0;
    u32 seq = 1, gen = 0;
    for (;;) {
        const u8 *h = rd(&r, off, REC_HDR);
        if (!h || get32le(h) != REC_MAGIC)
            break;
        u32 epoch = get32le(h + 8), g = get32le(h + 12), s = get32le(h + 16), vl = get32le(h + 20);
        u32 kl = h[24] | (h[25] << 8);
        u8 type = h[26];
        if (epoch != sb.epoch || s != seq || g < gen || g > sb.gen || !kl || kl > KV_MAX_KEY ||
            vl > KV_MAX_VALUE || (type != T_PUT && type != T_DEL) || (type == T_DEL && vl))
            break;
        u32 n = rec_len(kl, vl);
        const u8 *rec = rd(&r, off, n);
        if (!rec || get32le(rec + 4) != crc32(rec + 8, n - 8))
            break;
        const char *k = (const char *)rec + REC_HDR;
        if (type == T_PUT) {
            if (index_put(k, kl, k + kl, vl) < 0) {
                kfree_fn(r.buf);
                return -12;
            }
        } else {
            index_del(k, kl);
        }
        stats.records++;
        off += n;
        seq++;
        gen = g;
    }
    tail = off;
    next_seq = seq;
    /* the unit holding the tail, for the next append */
    memset(tail_unit, 0, ubytes);
    if (tail % ubytes) {
        const u8 *u = rd(&r, tail / ubytes * ubytes, ubytes);
        if (!u) {
            kfree_fn(r.buf);
            return -5;
        }
        memcpy(tail_unit, u, tail % ubytes);    /* bytes after the tail are not ours */
    }
    kfree_fn(r.buf);
    return 0;
}

/* ---- open ---- */

int kv_open(const struct kv_disk *d, void *(*alloc)(size_t), void (*release)(void *))
{
    disk = *d;
    kalloc = alloc;
    kfree_fn = release;
    memset(&stats, 0, sizeof(stats));
    table = NULL;
    cap = used = live = 0;
    if (!disk.unit)
        disk.unit = 1;
    ubytes = disk.unit * SECT;
    u64 units = disk.sectors / disk.unit;
    if (units < 2 + 2 * 8)
        return -28;
    area_units = (units - 2) / 2;
    area_start[0] = 2;
    area_start[1] = 2 + area_units;
    stats.area_bytes = area_units * ubytes;
    tail_unit = kalloc(ubytes);
    if (!tail_unit)
        return -12;

    struct sb a, b;
    int ra = read_sb(0, &a), rb = read_sb(1, &b);
    if (ra == -12 || rb == -12)
        return -12;
    if (ra < 0 && rb < 0) {
        memset(&sb, 0, sizeof(sb));               /* a new store */
        sb.magic = SB_MAGIC;
        sb.version = 1;
        sb.epoch = 1;
        sb.gen = 1;
        sb.area = 0;
        stats.formatted = 1;
        tail = 0;
        next_seq = 1;
        memset(tail_unit, 0, ubytes);
        int rc = write_sb();
        if (rc < 0)
            return rc;
    } else {
        sb = (ra == 0 && (rb < 0 || a.seq > b.seq)) ? a : b;
        int rc = replay();
        if (rc < 0)
            return rc;
        sb.gen++;                                 /* this boot's records */
        rc = write_sb();
        if (rc < 0)
            return rc;
    }
    if (!cap && grow() < 0)
        return -12;
    stats.log_bytes = tail;
    stats.gen = sb.gen;
    stats.epoch = sb.epoch;
    return 0;
}

/* ---- compaction ---- */

static int compact(u32 extra)
{
    int to = (int)!sb.area;
    u32 epoch = sb.epoch + 1, seq = 1;
    u64 off = 0, need = extra;
    for (u32 i = 0; i < cap; i++)
        if (table[i].key && table[i].key != TOMB)
            need += rec_len(table[i].klen, table[i].vlen);
    if (need > area_units * ubytes)
        return -28;
    /* Stream the live entries out through a buffer of whole units. */
    u32 bsize = 256 * 1024;
    if (bsize < ubytes * 2)
        bsize = ubytes * 2;
    u8 *buf = kalloc(bsize + REC_HDR + KV_MAX_KEY + KV_MAX_VALUE);
    if (!buf)
        return -12;
    u32 fill = 0;
    u64 written = 0;                              /* bytes of the area already on disk */
    int rc = 0;
    for (u32 i = 0; i < cap && rc >= 0; i++) {
        struct entry *e = &table[i];
        if (!e->key || e->key == TOMB)
            continue;
        build(buf + fill, epoch, sb.gen, seq++, T_PUT, e->key, e->klen, e->key + e->klen, e->vlen);
        fill += rec_len(e->klen, e->vlen);
        off += rec_len(e->klen, e->vlen);
        if (fill >= bsize) {
            u32 whole = fill / ubytes * ubytes;
            rc = disk.write(disk.ctx, unit_sector(to, written / ubytes), buf, whole / SECT);
            written += whole;
            memmove(buf, buf + whole, fill - whole);
            fill -= whole;
        }
    }
    if (rc >= 0 && fill) {
        u32 n = (fill + ubytes - 1) / ubytes * ubytes;
        memset(buf + fill, 0, n - fill);
        rc = disk.write(disk.ctx, unit_sector(to, written / ubytes), buf, n / SECT);
    }
    if (rc >= 0)
        rc = disk.flush(disk.ctx);
    if (rc < 0) {
        kfree_fn(buf);
        return -5;
    }
    /* the new tail unit */
    memset(tail_unit, 0, ubytes);
    if (off % ubytes)
        memcpy(tail_unit, buf + (fill / ubytes * ubytes), off % ubytes);
    kfree_fn(buf);
    struct sb old = sb;
    sb.area = (u32)to;
    sb.epoch = epoch;
    rc = write_sb();
    if (rc < 0) {
        sb = old;                                 /* still on the old area */
        return rc;
    }
    tail = off;
    next_seq = seq;
    stats.compactions++;
    stats.epoch = sb.epoch;
    return 0;
}

static int append(u8 type, const char *k, u32 kl, const void *v, u32 vl)
{
    u32 n = rec_len(kl, vl);
    if (tail + n > area_units * ubytes) {
        int rc = compact(n);
        if (rc < 0)
            return rc;
    }
    u8 *rec = kalloc(n);
    if (!rec)
        return -12;
    build(rec, sb.epoch, sb.gen, next_seq, type, k, kl, v, vl);
    int rc = log_write((int)sb.area, tail, rec, n, tail_unit);
    kfree_fn(rec);
    if (rc < 0)
        return rc;
    tail += n;
    next_seq++;
    stats.log_bytes = tail;
    return 0;
}

static int key_ok(const char *k, u32 kl) { return k && kl >= 1 && kl <= KV_MAX_KEY; }

int kv_put(const char *k, u32 kl, const void *v, u32 vl)
{
    if (!key_ok(k, kl) || vl > KV_MAX_VALUE)
        return -22;
    /* Room for the copy first, so a durable record is never left without
     * its index entry for want of memory. */
    void *probe = kalloc(kl + vl + 1);
    if (!probe)
        return -12;
    kfree_fn(probe);
    int rc = append(T_PUT, k, kl, v, vl);
    if (rc < 0)
        return rc;
    return index_put(k, kl, v, vl);
}

int kv_delete(const char *k, u32 kl)
{
    if (!key_ok(k, kl))
        return -22;
    if (!find(k, kl, hash_key(k, kl)))
        return -2;
    int rc = append(T_DEL, k, kl, NULL, 0);
    if (rc < 0)
        return rc;
    return index_del(k, kl);
}

int kv_get(const char *k, u32 kl, const void **v, u32 *vl)
{
    if (!key_ok(k, kl))
        return -2;
    struct entry *e = find(k, kl, hash_key(k, kl));
    if (!e)
        return -2;
    *v = e->key + e->klen;
    *vl = e->vlen;
    return 0;
}

/* Keys in byte order: collect, then a merge sort (no recursion depth
 * issues, O(n log n)). */
static int key_cmp(const struct entry *a, const struct entry *b)
{
    u32 n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->key, b->key, n);
    return c ? c : (int)a->klen - (int)b->klen;
}

u32 kv_keys(void (*fn)(const char *key, u32 klen, void *arg), void *arg)
{
    if (!live)
        return 0;
    struct entry **a = kalloc(live * sizeof(*a)), **tmp = kalloc(live * sizeof(*tmp));
    u32 n = 0;
    if (!a || !tmp) {                             /* no memory: unsorted */
        if (a) kfree_fn(a);
        if (tmp) kfree_fn(tmp);
        for (u32 i = 0; i < cap; i++)
            if (table[i].key && table[i].key != TOMB) {
                fn(table[i].key, table[i].klen, arg);
                n++;
            }
        return n;
    }
    for (u32 i = 0; i < cap; i++)
        if (table[i].key && table[i].key != TOMB)
            a[n++] = &table[i];
    for (u32 width = 1; width < n; width *= 2) {
        for (u32 lo = 0; lo < n; lo += 2 * width) {
            u32 mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            u32 i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = key_cmp(a[i], a[j]) <= 0 ? a[i++] : a[j++];
            while (i < mid) tmp[k++] = a[i++];
            while (j < hi) tmp[k++] = a[j++];
        }
        struct entry **t = a; a = tmp; tmp = t;
    }
    for (u32 i = 0; i < n; i++)
        fn(a[i]->key, a[i]->klen, arg);
    kfree_fn(a);
    kfree_fn(tmp);
    return n;
}
