/*
 * memdirty: touches all of its memory, then dirties pages at a steady rate — the load for
 * the live-migration bench (bench/migrate).
 *
 * Command line: "rate=N" pages per second to dirty after the touch (default 0: idle, only
 * blocks), "seconds=S" to power off after S seconds of dirtying (default 0: forever).
 *
 * Console output (exact format):
 *
 *   memdirty: ready touched=N pages of T, rate=R pages/s
 *   memdirty: dirtied D                      every second while R > 0, D counting all pages
 *   memdirty: done dirtied D                 after S seconds (seconds=S), then poweroff
 *   memdirty: BAD pfn=P gen=G want=W         a page did not hold what was last written to it
 *                                            (at most 8 such lines)
 *   memdirty: mapped only M of T pages       if the address space is too small (> ~856 MiB)
 *
 * control/shutdown is honoured as ticker does ("memdirty: poweroff requested", ...).
 *
 * Mapping: the builder maps only the bootstrap region (kernel, P2M, start_info, rings, page
 * tables, stack and >= 512 KiB of padding, up to a 4 MiB boundary: xg_dom_x86.c, and
 * runtime/boot/builder.ts). The rest of RAM is mapped here the way Linux's PV boot does it:
 * L1 tables built in the top frames and hooked into the bootstrap L2 of L3 slot 3 with
 * mmu_update, so pfn n is at KIT_VIRT_BASE + n pages for every mapped pfn. The mappings are
 * page tables, which save/restore canonicalizes and rewrites, so they stay right after a
 * migration (the kit's P2M array at start_info.mfn_list is not rewritten, so mapping through
 * MFNs at run time would not be). The address space below the Xen hole (0xF5800000) holds
 * 856 MiB; a bigger guest is mapped up to there.
 *
 * "touched": every free frame (above the kit's own pages, not used as an L1 table) has been
 * written once. Every write to a page stores its pfn at word 0 and a generation number at
 * words 1 and 1023; the touch writes generation 1 and pass k of the dirtying walk (which
 * visits the pages in pfn order, wrapping around) writes k + 1 after checking that the page
 * still holds k — so a page lost or stale after a migration is reported as BAD. The walk
 * never rewrites a page within a pass: for pre-copy that is the worst case (no write is
 * absorbed by a later one; Clark et al., NSDI 2005 §5.1 "writable working set").
 *
 * Pacing: bursts every 10 ms of system time (one-shot timer + block, via xs_next_watch's
 * deadline), rate/100 pages each; a stall (a pause, a migration's downtime) is not made up.
 */
#include <kit/kit.h>
#include <kit/control.h>

#define TICK_NS (10 * NSEC_PER_MSEC)
/* pfns below the Xen hole (0xF5800000) that can have a mapping at pfn_to_virt(). */
#define MAPPABLE_PFNS ((0xF5800000u - KIT_VIRT_BASE) >> PAGE_SHIFT)
#define L1_PROT (_PAGE_PRESENT | _PAGE_RW | 0x20ull)                  /* P|RW|A, as the builder */
#define L2_PROT (_PAGE_PRESENT | _PAGE_RW | 0x04ull | 0x20ull | 0x40ull) /* P|RW|US|A|D */
#define MAX_BAD_LINES 8

/* Scratch mapping for filling an L1 before it becomes one (then it must have no writable
 * mapping, so this is unmapped again). */
static u64 window[512] __attribute__((aligned(PAGE_SIZE)));

static u32 lo, hi;          /* data pages: pfns [lo, hi) */
static u32 cursor, pass;    /* the walk: next pfn, and pass number (touch = 0) */
static u32 bad;

static u32 parse(const char *s, const char *key, u32 dflt)
{
    u32 n = strlen(key);
    for (const char *p = s; *p; p++) {
        if (strncmp(p, key, n) == 0 && (p == s || p[-1] == ' ')) {
            u32 v = 0;
            for (p += n; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (u32)(*p - '0');
            return v;
        }
    }
    return dflt;
}

/* Map pfns [first slot without a bootstrap L1, end) with L1 tables taken from the top of
 * RAM; returns the first pfn used as a table (= the end of the data pages). */
static u32 map_rest(u32 end)
{
    u32 first_slot = 0;
    while (first_slot * 512 < end && pte_lookup((u32)pfn_to_virt(first_slot * 512)))
        first_slot++;
    u32 last_slot = (end + 511) / 512;            /* exclusive */
    if (first_slot >= last_slot)
        return end;
    u32 tables = last_slot - first_slot;
    u32 tpfn = end - tables;                      /* tables at [tpfn, end) */
    const volatile u64 *l3 = (const volatile u64 *)start_info->pt_base;
    u64 l2_maddr = l3[KIT_VIRT_BASE >> 30] & PTE_MFN_MASK;
    for (u32 k = 0; k < tables; k++) {
        u32 slot = first_slot + k;
        u32 l1_mfn = pfn_to_mfn(tpfn + k);
        if (map_frame(window, l1_mfn) != 0)
            kit_panic("memdirty: cannot map pfn %u to build an L1\n", tpfn + k);
        for (u32 i = 0; i < 512; i++) {
            u32 pfn = slot * 512 + i;
            window[i] = pfn < tpfn ? ((u64)pfn_to_mfn(pfn) << PAGE_SHIFT) | L1_PROT : 0;
        }
        unmap_va(window);
        u32 va = KIT_VIRT_BASE + slot * (2u << 20);
        struct mmu_update u = {
            .ptr = l2_maddr + ((va >> 21) & 511) * 8 + MMU_NORMAL_PT_UPDATE,
            .val = ((u64)l1_mfn << PAGE_SHIFT) | L2_PROT,
        };
        u32 done = 0;
        long rc = HYPERVISOR_mmu_update(&u, 1, &done, DOMID_SELF);
        if (rc != 0)
            kit_panic("memdirty: mmu_update of L2 slot %u failed (%ld)\n", slot, rc);
    }
    return tpfn;
}

/* One page write: check what the last write left, then store the next generation. */
static void write_page(u32 pfn, u32 gen)
{
    volatile u32 *p = pfn_to_virt(pfn);
    if (gen > 1 && (p[0] != pfn || p[1] != gen - 1 || p[1023] != gen - 1)) {
        if (bad++ < MAX_BAD_LINES)
            printf("memdirty: BAD pfn=%u gen=%u want=%u\n", pfn, p[1], gen - 1);
    }
    p[0] = pfn;
    p[1] = gen;
    p[1023] = gen;
}

static void dirty(u32 n)
{
    while (n--) {
        write_page(cursor, pass + 1);
        if (++cursor == hi) {
            cursor = lo;
            pass++;
        }
    }
}

void guest_main(void)
{
    kit_init(KIT_DEFAULT);
    control_init();
    const char *cmd = (const char *)start_info->cmd_line;
    u32 rate = parse(cmd, "rate=", 0);
    u32 seconds = parse(cmd, "seconds=", 0);

    u32 end = kit_nr_pages < MAPPABLE_PFNS ? kit_nr_pages : MAPPABLE_PFNS;
    if (end < kit_nr_pages)
        printf("memdirty: mapped only %u of %u pages\n", end, kit_nr_pages);
    lo = kit_first_free_pfn;
    hi = map_rest(end);
    for (u32 pfn = lo; pfn < hi; pfn++)
        write_page(pfn, 1);
    cursor = lo;
    pass = 1;
    printf("memdirty: ready touched=%u pages of %u, rate=%u pages/s\n", hi - lo, kit_nr_pages, rate);

    u64 dirtied = 0;
    u32 carry = 0;                                /* rate % 100 accumulates per tick */
    u64 now = now_ns();
    u64 next = now + TICK_NS, report = now + NSEC_PER_SEC, stop = seconds ? now + seconds * NSEC_PER_SEC : 0;
    for (;;) {
        struct xs_watch_event ev;
        u64 deadline = rate ? next : (stop ? stop : 0);
        if (xs_next_watch(&ev, deadline)) {
            int reason = control_is_event(&ev) ? control_check() : -1;
            if (reason < 0)
                continue;
            printf("memdirty: %s requested\n", control_reason_name(reason));
            control_act(reason);                  /* returns only after suspend */
            printf("memdirty: resumed\n");
            now = now_ns();
            next = now + TICK_NS;
            continue;
        }
        now = now_ns();
        if (stop && now >= stop) {
            printf("memdirty: done dirtied %llu\n", dirtied);
            kit_shutdown(SHUTDOWN_poweroff);
        }
        if (!rate)
            continue;
        u32 n = rate / 100;
        carry += rate % 100;
        if (carry >= 100) {
            n++;
            carry -= 100;
        }
        if (hi > lo)
            dirty(n);
        dirtied += n;
        if (now >= report) {
            printf("memdirty: dirtied %llu\n", dirtied);
            report += NSEC_PER_SEC;
            if (report <= now)
                report = now + NSEC_PER_SEC;
        }
        next += TICK_NS;
        if (next <= now)
            next = now + TICK_NS;
    }
}
