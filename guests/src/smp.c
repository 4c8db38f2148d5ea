/*
 * smp: brings up a second vCPU with VCPUOP_initialise + VCPUOP_up (vcpu.h), the way a PV
 * kernel starts its secondary CPUs, and checks that both run.
 *
 * Console output (exact; the vCPU 1 lines go through console_io, since the console ring
 * driver belongs to vCPU 0):
 *
 *   smp: vcpu0 up, starting vcpu1
 *   smp: vcpu1 up
 *   smp: vcpu1 counted to 1000000
 *   smp: vcpu0 saw the count
 *
 * then poweroff. It needs a domain with at least 2 vCPUs.
 */
#include <kit/kit.h>
#include <kit/hypercall.h>
#include <kit/mm.h>

/* struct vcpu_guest_context for x86_32 (arch-x86/xen.h, arch-x86/xen-x86_32.h). */
struct cpu_user_regs {
    u32 ebx, ecx, edx, esi, edi, ebp, eax;
    u16 error_code, entry_vector;
    u32 eip;
    u16 cs;
    u8 saved_upcall_mask, _pad0;
    u32 eflags, esp;
    u16 ss, _pad1, es, _pad2, ds, _pad3, fs, _pad4, gs, _pad5;
};
struct smp_trap_info { u8 vector, flags; u16 cs; u32 address; };
struct vcpu_guest_context {
    char fpu_ctxt[512];
    u32 flags;
    struct cpu_user_regs user_regs;
    struct smp_trap_info trap_ctxt[256];
    u32 ldt_base, ldt_ents;
    u32 gdt_frames[16], gdt_ents;
    u32 kernel_ss, kernel_sp;
    u32 ctrlreg[8];
    u32 debugreg[8];
    u32 event_callback_cs, event_callback_eip, failsafe_callback_cs, failsafe_callback_eip;
    u32 vm_assist;
};
_Static_assert(sizeof(struct cpu_user_regs) == 68, "cpu_user_regs is 68 bytes on i386");
_Static_assert(sizeof(struct vcpu_guest_context) == 2800, "vcpu_guest_context is 2800 bytes on i386");

#define VCPUOP_initialise 0
#define VCPUOP_up 1
#define VGCF_in_kernel (1u << 2)
#define TARGET 1000000u

static volatile u32 counter;
static u8 stack1[8192] __attribute__((aligned(16)));
static struct vcpu_guest_context ctx;

static void hv_puts(const char *s)
{
    HYPERVISOR_console_io(0, strlen(s), s);
}

static void vcpu1_main(void)
{
    hv_puts("smp: vcpu1 up\n");
    for (;;) {
        counter++;
        if (counter == TARGET)
            hv_puts("smp: vcpu1 counted to 1000000\n");
    }
}

void guest_main(void)
{
    kit_init(KIT_TRAPS);
    printf("smp: vcpu0 up, starting vcpu1\n");
    memset(&ctx, 0, sizeof ctx);
    ctx.flags = VGCF_in_kernel;
    ctx.user_regs.eip = (u32)vcpu1_main;
    ctx.user_regs.cs = 0xe019;
    ctx.user_regs.ss = ctx.user_regs.ds = ctx.user_regs.es = 0xe021;
    ctx.user_regs.fs = ctx.user_regs.gs = 0xe021;
    ctx.user_regs.eflags = 0x200;
    ctx.user_regs.esp = (u32)(stack1 + sizeof stack1) - 16;
    ctx.kernel_ss = 0xe021;
    ctx.kernel_sp = ctx.user_regs.esp;
    u32 l3 = virt_to_mfn((void *)start_info->pt_base);
    ctx.ctrlreg[3] = (l3 << 12) | (l3 >> 20); /* xen_pfn_to_cr3 */
    long rc = HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx);
    if (rc == 0)
        rc = HYPERVISOR_vcpu_op(VCPUOP_up, 1, 0);
    if (rc != 0) {
        printf("smp: cannot start vcpu1: %ld\n", rc);
    } else {
        while (counter < TARGET)
            HYPERVISOR_sched_op(SCHEDOP_yield, 0);
        printf("smp: vcpu0 saw the count\n");
    }
    struct sched_shutdown s = { .reason = SHUTDOWN_poweroff };
    HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
}
