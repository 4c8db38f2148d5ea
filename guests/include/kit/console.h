/*
 * Console: the PV console ring (io/console.h) and printf on top of it.
 * Output lines end in "\n" only (no "\r" is added), so what a test reads
 * from the console is byte-for-byte what the guest printed.
 */
#ifndef KIT_CONSOLE_H
#define KIT_CONSOLE_H
#include <stdarg.h>
#include <kit/xen.h>

void console_init(void);
/* Re-read start_info's console MFN/port after a resume. */
void console_resume(void);
void console_write(const char *s, u32 n);
/* Non-blocking: copies up to n input bytes, returns how many. */
u32 console_read(char *buf, u32 n);
/* Waits (bounded, ~2 s of system time) until the backend has consumed all
 * output, so nothing is lost when the domain shuts down right after. */
void console_flush(void);

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

#endif
