/*
 * Grant tables, version 1 (grant_table.h; xen-abi.md §7): the pages this
 * domain lets a back end (normally Domain-0) map or copy.
 *
 * gnttab_setup() asks Xen for GNTTAB_NR_FRAMES table frames
 * (GNTTABOP_setup_table) and maps them over a page-aligned .bss area with
 * update_va_mapping, as the kit does for shared_info. Refs below
 * GNTTAB_NR_RESERVED are never handed out (0 = console, 1 = xenstore,
 * seeded by the toolstack; Linux reserves 8). The rest sit on a free list.
 *
 * Granting writes domid and frame, then (after a write barrier) flags, so
 * Xen never sees a valid entry with a stale frame. Revoking is a cmpxchg of
 * flags to 0 that fails while Xen has GTF_reading/GTF_writing set.
 */
#ifndef KIT_GNTTAB_H
#define KIT_GNTTAB_H
#include <kit/xen.h>

#define GNTTAB_NR_FRAMES 4                          /* 2048 entries */
#define GNTTAB_NR_ENTRIES (GNTTAB_NR_FRAMES * (PAGE_SIZE / sizeof(struct grant_entry_v1)))
#define GNTTAB_NR_RESERVED 8

/* Idempotent; panics if Xen refuses the table. Registers suspend hooks. */
void gnttab_setup(void);
/* Grants `domid` access to machine frame `frame`; returns the ref, or
 * -ENOSPC (-28) when the table is full. */
int gnttab_grant_access(domid_t domid, u32 frame, int readonly);
/* Revokes and frees ref: 0, or -EBUSY (-16) while the grantee still has
 * the page mapped (the ref stays allocated; try again later). */
int gnttab_end_access(grant_ref_t ref);
/* Free refs (for tests and diagnostics). */
u32 gnttab_free_count(void);
/* Raw view of an entry (tests). */
const volatile struct grant_entry_v1 *gnttab_entry(grant_ref_t ref);

#endif
