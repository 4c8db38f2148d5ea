/*
 * crash: a guest that dies of an unhandled fault.
 *
 * Console output (exact):
 *
 *   crash: writing to address 0 with no trap handler
 *
 * then a 4-byte write to virtual address 0, which nothing maps: a page
 * fault (vector 14) with an empty trap table, so the hypervisor crashes
 * the domain (shutdown reason crash; xl state "c"; `xenoform boot`
 * exits 1). No kit diagnostic follows the line: there is no handler.
 */
#include <kit/kit.h>

void guest_main(void)
{
    kit_init(0);                           /* no trap table, no xenstore */
    HYPERVISOR_set_trap_table(NULL);       /* NULL clears every entry */
    printf("crash: writing to address 0 with no trap handler\n");
    console_flush();                       /* the line must get out first */
    /* In asm: gcc would turn a C store through NULL into ud2 (#UD). */
    __asm__ __volatile__("movl %0, 0" : : "r"(0xdeadu) : "memory");
    for (;;)
        ;
}
