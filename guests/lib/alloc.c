/* First-fit heap with coalescing (see alloc.h). Every block starts with a
 * header {size (including the header), magic} of 16 bytes (32 on 64-bit
 * hosts, for the native tests); free blocks also
 * link to the next free block in address order. */
#include <kit/alloc.h>
#include <kit/string.h>

#define HDR (sizeof(void *) == 8 ? 32u : 16u)   /* a multiple of 16 */
#define MIN_BLOCK (2 * HDR)
#define MAGIC_USED 0xA110CA7Eu
#define MAGIC_FREE 0xF4EEB10Cu

struct block {
    size_t size;
    u32 magic;
    struct block *next;              /* free blocks only */
};
_Static_assert(sizeof(struct block) <= HDR, "header fits");

static struct block *free_list;
static size_t total_free;

void heap_init(void *mem, size_t size)
{
    size_t start = ((size_t)mem + HDR - 1) & ~(size_t)(HDR - 1);
    size_t end = ((size_t)mem + size) & ~(size_t)(HDR - 1);
    free_list = NULL;
    total_free = 0;
    if (end <= start + MIN_BLOCK)
        return;
    free_list = (struct block *)start;
    free_list->size = end - start;
    free_list->magic = MAGIC_FREE;
    free_list->next = NULL;
    total_free = free_list->size;
}

void *kmalloc(size_t n)
{
    if (n > (size_t)1 << 30)
        return NULL;
    size_t need = (n + HDR + HDR - 1) & ~(size_t)(HDR - 1);
    if (need < MIN_BLOCK)
        need = MIN_BLOCK;
    struct block **pp = &free_list;
    for (struct block *b = free_list; b; pp = &b->next, b = b->next) {
        if (b->size < need)
            continue;
        if (b->size - need >= MIN_BLOCK) {      /* split: the tail stays free */
            struct block *rest = (struct block *)((char *)b + need);
            rest->size = b->size - need;
            rest->magic = MAGIC_FREE;
            rest->next = b->next;
            *pp = rest;
            b->size = need;
        } else {
            *pp = b->next;
        }
        b->magic = MAGIC_USED;
        b->next = NULL;
        total_free -= b->size;
        return (char *)b + HDR;
    }
    return NULL;
}

void kfree(void *p)
{
    if (!p)
        return;
    struct block *b = (struct block *)((char *)p - HDR);
    if (b->magic != MAGIC_USED)
        return;                                 /* double free or junk: ignore */
    b->magic = MAGIC_FREE;
    total_free += b->size;
    struct block *prev = NULL, *cur = free_list;
    while (cur && cur < b) {
        prev = cur;
        cur = cur->next;
    }
    b->next = cur;
    if (prev)
        prev->next = b;
    else
        free_list = b;
    if (cur && (char *)b + b->size == (char *)cur) {      /* merge right */
        b->size += cur->size;
        b->next = cur->next;
        cur->magic = 0;
    }
    if (prev && (char *)prev + prev->size == (char *)b) { /* merge left */
        prev->size += b->size;
        prev->next = b->next;
        b->magic = 0;
    }
}

void *krealloc(void *p, size_t n)
{
    if (!p)
        return kmalloc(n);
    struct block *b = (struct block *)((char *)p - HDR);
    size_t have = b->size - HDR;
    if (n <= have)
        return p;
    void *q = kmalloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, have);
    kfree(p);
    return q;
}

size_t heap_free_bytes(void) { return total_free; }

size_t heap_largest_free(void)
{
    size_t m = 0;
    for (struct block *b = free_list; b; b = b->next)
        if (b->size > m)
            m = b->size;
    return m > HDR ? m - HDR : 0;
}
