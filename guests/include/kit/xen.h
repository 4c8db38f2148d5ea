/*
 * Xen public ABI for a 32-bit PAE PV guest, written from the facts in
 * shared/xen-abi.md and checked against xen/include/public/ (xen.h,
 * arch-x86/xen.h, arch-x86/xen-x86_32.h, event_channel.h, sched.h,
 * memory.h, vcpu.h, io/console.h, io/xs_wire.h, elfnote.h).
 *
 * On i386 `unsigned long`, xen_pfn_t and xen_ulong_t are 4 bytes and u64
 * members align to 4; every layout below is pinned by _Static_assert so a
 * wrong edit fails the build instead of corrupting a shared page.
 */
#ifndef KIT_XEN_H
#define KIT_XEN_H

typedef unsigned char u8;
typedef signed char s8;
typedef unsigned short u16;
typedef short s16;
typedef unsigned int u32;
typedef int s32;
typedef unsigned long long u64;
typedef long long s64;
typedef unsigned long size_t;
typedef u32 evtchn_port_t;
typedef u16 domid_t;

#define NULL ((void *)0)
#define PAGE_SHIFT 12
#define PAGE_SIZE 4096u
#define KIT_ASSERT_OFF(t, f, o) \
    _Static_assert(__builtin_offsetof(t, f) == (o), #t "." #f " offset")
#define KIT_ASSERT_SIZE(t, s) _Static_assert(sizeof(t) == (s), #t " size")

/* ---- hypercall numbers (xen.h) ---- */
#define __HYPERVISOR_set_trap_table 0
#define __HYPERVISOR_mmu_update 1
#define __HYPERVISOR_set_callbacks 4
#define __HYPERVISOR_memory_op 12
#define __HYPERVISOR_update_va_mapping 14
#define __HYPERVISOR_set_timer_op 15
#define __HYPERVISOR_xen_version 17
#define __HYPERVISOR_console_io 18
#define __HYPERVISOR_grant_table_op 20
#define __HYPERVISOR_iret 23
#define __HYPERVISOR_vcpu_op 24
#define __HYPERVISOR_sched_op 29
#define __HYPERVISOR_event_channel_op 32

/* Flat ring-1 selectors set up by Xen (arch-x86/xen-x86_32.h). */
#define FLAT_KERNEL_CS 0xe019
#define FLAT_KERNEL_DS 0xe021

/* Domain ids (xen.h). */
#define DOMID_SELF ((domid_t)0x7FF0)
#define DOMID_INVALID ((domid_t)0x7FF4)

/* update_va_mapping flags (xen.h UVMF_*). */
#define UVMF_NONE 0
#define UVMF_TLB_FLUSH 1
#define UVMF_INVLPG 2

/* PTE bits (Intel SDM vol. 3 §4.4, PAE paging). */
#define _PAGE_PRESENT 0x001ull
#define _PAGE_RW 0x002ull
#define _PAGE_PSE 0x080ull
#define PTE_MFN_MASK 0x000FFFFFFFFFF000ull

/* ---- start_info (xen.h), 1112 bytes ---- */
#define SIF_PRIVILEGED 1
#define SIF_INITDOMAIN 2
struct start_info {
    char magic[32];          /* "xen-3.0-x86_32p" for a PAE guest */
    u32 nr_pages;            /* total pages allocated to this domain */
    u32 shared_info;         /* MACHINE address of shared_info */
    u32 flags;               /* SIF_* */
    u32 store_mfn;           /* xenstore ring page (MFN) */
    u32 store_evtchn;
    union {
        struct { u32 mfn; u32 evtchn; } domU;
        struct { u32 info_off; u32 info_size; } dom0;
    } console;
    u32 pt_base;             /* virtual address of the top (L3) table */
    u32 nr_pt_frames;
    u32 mfn_list;            /* virtual address of the P2M array */
    u32 mod_start;
    u32 mod_len;
    char cmd_line[1024];
    u32 first_p2m_pfn;
    u32 nr_p2m_frames;
};
KIT_ASSERT_OFF(struct start_info, nr_pages, 32);
KIT_ASSERT_OFF(struct start_info, console, 52);
KIT_ASSERT_OFF(struct start_info, pt_base, 60);
KIT_ASSERT_OFF(struct start_info, mfn_list, 68);
KIT_ASSERT_OFF(struct start_info, cmd_line, 80);
KIT_ASSERT_OFF(struct start_info, first_p2m_pfn, 1104);
KIT_ASSERT_SIZE(struct start_info, 1112);

/* ---- shared_info / vcpu_info / time (xen.h, arch-x86/xen.h) ---- */
struct vcpu_time_info {
    u32 version;             /* odd while Xen updates the record */
    u32 pad0;
    u64 tsc_timestamp;       /* TSC at the last update */
    u64 system_time;         /* ns since boot at tsc_timestamp */
    u32 tsc_to_system_mul;   /* 32.32 fixed-point ns per (shifted) tick */
    s8 tsc_shift;
    u8 flags;
    u8 pad1[2];
};
KIT_ASSERT_OFF(struct vcpu_time_info, tsc_timestamp, 8);
KIT_ASSERT_OFF(struct vcpu_time_info, tsc_shift, 28);
KIT_ASSERT_SIZE(struct vcpu_time_info, 32);

struct vcpu_info {
    u8 evtchn_upcall_pending;
    u8 evtchn_upcall_mask;
    u8 pad[2];
    u32 evtchn_pending_sel;  /* one bit per word of evtchn_pending[] */
    struct { u32 cr2; u32 pad[5]; } arch;
    struct vcpu_time_info time;
};
KIT_ASSERT_OFF(struct vcpu_info, evtchn_pending_sel, 4);
KIT_ASSERT_OFF(struct vcpu_info, arch, 8);
KIT_ASSERT_OFF(struct vcpu_info, time, 32);
KIT_ASSERT_SIZE(struct vcpu_info, 64);

struct arch_shared_info {
    u32 max_pfn;
    u32 pfn_to_mfn_frame_list_list; /* MFN of the P2M frame-list list */
    u32 nmi_reason;
    u32 p2m_cr3;
    u32 p2m_vaddr;
    u32 p2m_generation;
};
struct shared_info {
    struct vcpu_info vcpu_info[32];
    u32 evtchn_pending[32];  /* 1024 ports with the 2-level ABI */
    u32 evtchn_mask[32];
    u32 wc_version;          /* seqlock for wc_sec/wc_nsec */
    u32 wc_sec;
    u32 wc_nsec;
    struct arch_shared_info arch;
    u32 wc_sec_hi;           /* after arch on i386 only */
};
KIT_ASSERT_OFF(struct shared_info, evtchn_pending, 2048);
KIT_ASSERT_OFF(struct shared_info, evtchn_mask, 2176);
KIT_ASSERT_OFF(struct shared_info, wc_version, 2304);
KIT_ASSERT_OFF(struct shared_info, arch, 2316);
KIT_ASSERT_OFF(struct shared_info, wc_sec_hi, 2340);
KIT_ASSERT_SIZE(struct shared_info, 2344);
#define NR_EVENT_CHANNELS 1024

/* ---- traps (arch-x86/xen.h) ---- */
struct trap_info {
    u8 vector;
    u8 flags;                /* bits 0-1 DPL, bit 2 masks events on entry */
    u16 cs;
    u32 address;             /* 0 ends the table */
};
KIT_ASSERT_SIZE(struct trap_info, 8);
#define TI_SET_IF_MASKED 4

/* ---- mmu_update (xen.h) ---- */
struct mmu_update { u64 ptr; u64 val; };
KIT_ASSERT_SIZE(struct mmu_update, 16);
#define MMU_NORMAL_PT_UPDATE 0
#define MMU_MACHPHYS_UPDATE 1

/* ---- event channels (event_channel.h) ---- */
#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq 1
#define EVTCHNOP_close 3
#define EVTCHNOP_send 4
#define EVTCHNOP_alloc_unbound 6
#define EVTCHNOP_unmask 9
struct evtchn_bind_virq { u32 virq; u32 vcpu; evtchn_port_t port; };
struct evtchn_bind_interdomain { domid_t remote_dom; evtchn_port_t remote_port; evtchn_port_t local_port; };
struct evtchn_alloc_unbound { domid_t dom, remote_dom; evtchn_port_t port; };
struct evtchn_port_arg { evtchn_port_t port; }; /* close, send, unmask */
KIT_ASSERT_SIZE(struct evtchn_bind_virq, 12);
KIT_ASSERT_OFF(struct evtchn_bind_interdomain, local_port, 8);
KIT_ASSERT_OFF(struct evtchn_alloc_unbound, port, 4);
#define VIRQ_TIMER 0

/* ---- sched_op (sched.h) ---- */
#define SCHEDOP_yield 0
#define SCHEDOP_block 1
#define SCHEDOP_shutdown 2
struct sched_shutdown { u32 reason; };
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_reboot 1
#define SHUTDOWN_suspend 2
#define SHUTDOWN_crash 3

/* ---- vcpu_op (vcpu.h) ---- */
#define VCPUOP_stop_periodic_timer 7

/* ---- console_io (xen.h) ---- */
#define CONSOLEIO_write 0

/* ---- memory_op (memory.h) ---- */
#define XENMEM_increase_reservation 0
#define XENMEM_decrease_reservation 1
#define XENMEM_current_reservation 3
#define XENMEM_maximum_reservation 4
#define XENMEM_populate_physmap 6
struct xen_memory_reservation {
    u32 extent_start;        /* guest handle: pointer to xen_pfn_t[] */
    u32 nr_extents;
    u32 extent_order;
    u32 address_bits;        /* 0: no restriction */
    domid_t domid;
};
KIT_ASSERT_OFF(struct xen_memory_reservation, domid, 16);
KIT_ASSERT_SIZE(struct xen_memory_reservation, 20);
#define INVALID_P2M_ENTRY (~0u)

/* ---- grant tables, version 1 (grant_table.h; xen-abi.md §7) ---- */
typedef u32 grant_ref_t;
struct grant_entry_v1 {
    u16 flags;               /* GTF_*: written last when granting */
    domid_t domid;           /* the domain allowed to use the frame */
    u32 frame;               /* MFN (PV) of the granted page */
};
KIT_ASSERT_OFF(struct grant_entry_v1, domid, 2);
KIT_ASSERT_OFF(struct grant_entry_v1, frame, 4);
KIT_ASSERT_SIZE(struct grant_entry_v1, 8);
#define GTF_invalid 0
#define GTF_permit_access 1
#define GTF_readonly (1u << 2)
#define GTF_reading (1u << 3)    /* set by Xen while the grantee reads */
#define GTF_writing (1u << 4)    /* set by Xen while the grantee writes */
#define GNTTABOP_setup_table 2
#define GNTTABOP_query_size 6
#define GNTST_okay 0
struct gnttab_setup_table {
    domid_t dom;             /* DOMID_SELF */
    u32 nr_frames;           /* @4 */
    s16 status;              /* @8, OUT: GNTST_* */
    u32 frame_list;          /* @12, guest handle: xen_pfn_t[nr_frames], OUT */
};
KIT_ASSERT_OFF(struct gnttab_setup_table, nr_frames, 4);
KIT_ASSERT_OFF(struct gnttab_setup_table, status, 8);
KIT_ASSERT_OFF(struct gnttab_setup_table, frame_list, 12);
KIT_ASSERT_SIZE(struct gnttab_setup_table, 16);

/* ---- console ring (io/console.h), 3092 bytes ---- */
struct xencons_interface {
    char in[1024];
    char out[2048];
    u32 in_cons, in_prod;
    u32 out_cons, out_prod;
    u8 connection;
};
KIT_ASSERT_OFF(struct xencons_interface, in_cons, 3072);
KIT_ASSERT_OFF(struct xencons_interface, out_prod, 3084);

/* ---- xenstore ring and wire header (io/xs_wire.h) ---- */
#define XENSTORE_RING_SIZE 1024
#define XENSTORE_PAYLOAD_MAX 4096
struct xenstore_domain_interface {
    char req[XENSTORE_RING_SIZE];
    char rsp[XENSTORE_RING_SIZE];
    u32 req_cons, req_prod;
    u32 rsp_cons, rsp_prod;
    u32 server_features;
    u32 connection;
    u32 error;
    u32 evtchn_port;
};
KIT_ASSERT_OFF(struct xenstore_domain_interface, req_cons, 2048);
KIT_ASSERT_OFF(struct xenstore_domain_interface, evtchn_port, 2076);
struct xsd_sockmsg { u32 type; u32 req_id; u32 tx_id; u32 len; };
KIT_ASSERT_SIZE(struct xsd_sockmsg, 16);
enum xsd_sockmsg_type {
    XS_DIRECTORY = 1, XS_READ = 2, XS_WATCH = 4, XS_UNWATCH = 5,
    XS_TRANSACTION_START = 6, XS_TRANSACTION_END = 7, XS_WRITE = 11,
    XS_MKDIR = 12, XS_RM = 13, XS_WATCH_EVENT = 15, XS_ERROR = 16,
};

#endif
