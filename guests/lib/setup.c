/*
 * Start of day, shutdown, panic and cooperative suspend.
 *
 * shared_info: start_info.shared_info is a MACHINE address; the kit maps it
 * over a page-aligned .bss page of its own (shared_info_page) with
 * update_va_mapping(va, maddr | present | rw), as Mini-OS does, so its
 * virtual address is fixed at link time.
 */
#include <kit/kit.h>
#include <kit/xenstore.h>

struct start_info *start_info;
struct shared_info *HYPERVISOR_shared_info;
u32 kit_boot_stack_top;

static char shared_info_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
/* Stands in for shared_info while it is unmapped around a suspend; its
 * upcall mask is 1 so local_irq_* keep working. */
static struct shared_info dummy_shared_info;
static unsigned kit_flags;
static struct {
    void (*pre)(void);
    void (*post)(int cancelled);
} hooks[KIT_MAX_SUSPEND_HOOKS];
static int nr_hooks;

void kit_on_suspend(void (*pre)(void), void (*post)(int cancelled))
{
    if (nr_hooks == KIT_MAX_SUSPEND_HOOKS)
        kit_panic("kit: too many suspend hooks\n");
    hooks[nr_hooks].pre = pre;
    hooks[nr_hooks].post = post;
    nr_hooks++;
}

static void map_shared_info(void)
{
    u64 pte = (u64)start_info->shared_info | _PAGE_PRESENT | _PAGE_RW;
    long rc = HYPERVISOR_update_va_mapping((u32)shared_info_page, pte,
                                           UVMF_INVLPG);
    if (rc < 0) {
        /* Nothing else works without it; console_io is all we have. */
        static const char msg[] = "kit: cannot map shared_info\n";
        HYPERVISOR_console_io(CONSOLEIO_write, sizeof(msg) - 1, msg);
        struct sched_shutdown s = { SHUTDOWN_crash };
        HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
    }
    HYPERVISOR_shared_info = (struct shared_info *)shared_info_page;
}

/* Called from boot.S on the kit's own stack. */
void kit_start(struct start_info *si)
{
    start_info = si;
    guest_main();
    kit_shutdown(SHUTDOWN_poweroff);
}

void kit_init(unsigned flags)
{
    kit_flags = flags;
    mm_init();
    map_shared_info();
    events_init();        /* callbacks before anything can block */
    time_init();
    console_init();
    if (flags & KIT_TRAPS)
        traps_init();
    mm_publish_p2m();
    if (flags & KIT_XENSTORE)
        xs_init();
    local_irq_enable();
}

void kit_shutdown(u32 reason)
{
    console_flush();
    struct sched_shutdown s = { reason };
    for (;;) {
        HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
        HYPERVISOR_sched_op(SCHEDOP_block, NULL);  /* not reached on Xen */
    }
}

void kit_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    kit_shutdown(SHUTDOWN_crash);
}

/*
 * Suspend as Linux's xen_pre_suspend/xen_post_suspend do it: the saver
 * expects start_info's store and console frames as PFNs (the restorer
 * turns them back into MFNs), and no mapping of the Xen-owned shared_info
 * frame in our page tables (it is not in our P2M, so save would refuse it).
 */
int kit_suspend(void)
{
    struct start_info *si = start_info;
    u32 store_mfn = si->store_mfn, cons_mfn = si->console.domU.mfn;
    u32 si_mfn = virt_to_mfn(si);

    local_irq_disable();
    for (int i = nr_hooks - 1; i >= 0; i--)
        if (hooks[i].pre)
            hooks[i].pre();
    dummy_shared_info.vcpu_info[0].evtchn_upcall_mask = 1;
    HYPERVISOR_shared_info = &dummy_shared_info;
    unmap_va(shared_info_page);
    si->store_mfn = (u32)mfn_to_pfn(store_mfn);
    si->console.domU.mfn = (u32)mfn_to_pfn(cons_mfn);

    long cancelled = HYPERVISOR_suspend(si_mfn);

    if (cancelled) {                     /* same domain: undo */
        si->store_mfn = store_mfn;
        si->console.domU.mfn = cons_mfn;
    }
    map_shared_info();                   /* maddr may have changed */
    if (!cancelled) {                    /* new domain: rebuild state */
        events_init();
        time_init();
        console_resume();
        if (kit_flags & KIT_TRAPS)
            traps_init();
        mm_publish_p2m();
        if (kit_flags & KIT_XENSTORE)
            xs_resume();
    }
    local_irq_enable();
    for (int i = 0; i < nr_hooks; i++)
        if (hooks[i].post)
            hooks[i].post((int)cancelled);
    return cancelled ? 1 : 0;
}
