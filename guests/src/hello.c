/*
 * hello: the smallest kit guest.
 *
 * Console output (exact; <nr_pages> and <cmdline> come from start_info):
 *
 *   Hello from Xenoform!
 *   start_info: magic=xen-3.0-x86_32p nr_pages=<nr_pages> cmdline="<cmdline>"
 *
 * e.g. `xenoform boot guests/build/hello.elf` (32 MiB, no cmdline):
 *
 *   Hello from Xenoform!
 *   start_info: magic=xen-3.0-x86_32p nr_pages=8192 cmdline=""
 *
 * then SCHEDOP_shutdown(SHUTDOWN_poweroff).
 */
#include <kit/kit.h>

void guest_main(void)
{
    kit_init(KIT_TRAPS);
    printf("Hello from Xenoform!\n");
    /* Both strings are fixed-size arrays: bound them with a precision. */
    printf("start_info: magic=%.31s nr_pages=%u cmdline=\"%.1023s\"\n",
           start_info->magic, start_info->nr_pages, start_info->cmd_line);
    kit_shutdown(SHUTDOWN_poweroff);
}
