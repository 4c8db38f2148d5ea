/*
 * A small heap over memory the guest provides (a static array): first fit
 * on an address-ordered free list, blocks split on allocation and merged
 * with their neighbours on free. 16-byte aligned. Pure; unit-tested
 * natively. Not for use in event handlers.
 */
#ifndef KIT_ALLOC_H
#define KIT_ALLOC_H
#include <kit/xen.h>

void heap_init(void *mem, size_t size);
void *kmalloc(size_t n);                /* NULL when no block fits */
void kfree(void *p);                    /* NULL is fine */
/* Keeps the first min(old, n) bytes; NULL (old block kept) on failure. */
void *krealloc(void *p, size_t n);
size_t heap_free_bytes(void);
size_t heap_largest_free(void);

#endif
