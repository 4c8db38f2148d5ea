/*
 * Grant table v1 (see gnttab.h; grant_table.h; Linux grant-table.c and
 * Mini-OS gnttab.c for the order of writes).
 *
 * Save/restore: the table frames belong to Xen, not to our P2M, so they
 * must not be mapped while the domain is saved (as shared_info). The
 * suspend hook unmaps them; on resume in a new domain the table is new
 * and empty (the toolstack re-seeds refs 0 and 1), so every ref we had
 * handed out is void: the free list is rebuilt and the drivers re-grant
 * what they need from their own resume hooks. A cancelled suspend keeps
 * the old table: it is simply mapped again.
 */
#include <kit/kit.h>
#include <kit/gnttab.h>

static char table_area[GNTTAB_NR_FRAMES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static volatile struct grant_entry_v1 *table;
static u32 frames[GNTTAB_NR_FRAMES];
static u16 next_free[GNTTAB_NR_ENTRIES];  /* free list links; 0 ends it */
static u8 in_use[GNTTAB_NR_ENTRIES];
static u16 free_head;
static u32 free_count;
static int ready;

static void map_table(void)
{
    struct gnttab_setup_table op = {
        .dom = DOMID_SELF, .nr_frames = GNTTAB_NR_FRAMES,
        .status = 0, .frame_list = (u32)frames,
    };
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &op, 1);
    if (rc < 0 || op.status != GNTST_okay)
        kit_panic("kit: GNTTABOP_setup_table failed (rc %ld, status %d)\n", rc, op.status);
    for (u32 i = 0; i < GNTTAB_NR_FRAMES; i++) {
        rc = map_frame(table_area[i], frames[i]);
        if (rc < 0)
            kit_panic("kit: cannot map grant frame %u (%ld)\n", i, rc);
    }
    table = (volatile struct grant_entry_v1 *)table_area;
}

static void reset_free_list(void)
{
    free_head = 0;
    free_count = 0;
    memset(in_use, 0, sizeof(in_use));
    for (u32 ref = GNTTAB_NR_ENTRIES - 1; ref >= GNTTAB_NR_RESERVED; ref--) {
        next_free[ref] = free_head;
        free_head = (u16)ref;
        free_count++;
    }
}

static void gnttab_pre_suspend(void)
{
    for (u32 i = 0; i < GNTTAB_NR_FRAMES; i++)
        unmap_va(table_area[i]);
}

static void gnttab_post_suspend(int cancelled)
{
    map_table();
    if (!cancelled)
        reset_free_list();
}

void gnttab_setup(void)
{
    if (ready)
        return;
    map_table();
    reset_free_list();
    kit_on_suspend(gnttab_pre_suspend, gnttab_post_suspend);
    ready = 1;
}

int gnttab_grant_access(domid_t domid, u32 frame, int readonly)
{
    if (!free_count)
        return -28;                             /* ENOSPC */
    grant_ref_t ref = free_head;
    free_head = next_free[ref];
    free_count--;
    in_use[ref] = 1;
    volatile struct grant_entry_v1 *e = &table[ref];
    e->domid = domid;
    e->frame = frame;
    wmb();                                      /* entry before flags */
    e->flags = (u16)(GTF_permit_access | (readonly ? GTF_readonly : 0));
    return (int)ref;
}

int gnttab_end_access(grant_ref_t ref)
{
    if (ref < GNTTAB_NR_RESERVED || ref >= GNTTAB_NR_ENTRIES || !in_use[ref])
        return -22;                             /* EINVAL */
    volatile u16 *flags = &table[ref].flags;
    u16 old = *flags;
    do {
        if (old & (GTF_reading | GTF_writing))
            return -16;                         /* EBUSY */
    } while (!__atomic_compare_exchange_n(flags, &old, 0, 0,
                                          __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    in_use[ref] = 0;
    next_free[ref] = free_head;
    free_head = (u16)ref;
    free_count++;
    return 0;
}

u32 gnttab_free_count(void) { return free_count; }

const volatile struct grant_entry_v1 *gnttab_entry(grant_ref_t ref)
{
    return &table[ref];
}
