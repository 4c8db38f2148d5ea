/*
 * CPU helpers: barriers, TSC, atomic bit operations on words shared with Xen,
 * and the "virtual interrupt flag", which for a PV guest is
 * vcpu_info.evtchn_upcall_mask (xen-abi.md §4): mask=1 holds back upcalls.
 */
#ifndef KIT_ARCH_H
#define KIT_ARCH_H
#include <kit/xen.h>

#define barrier() __asm__ __volatile__("" ::: "memory")
/* x86 keeps stores in order (TSO), so wmb only stops the compiler; a full
 * barrier needs a locked op: -march=i686 has no SSE2 mfence. */
#define wmb() barrier()
#define rmb() barrier()
#define mb() __asm__ __volatile__("lock; addl $0,0(%%esp)" ::: "memory")

#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}

static inline u32 xchg32(volatile u32 *p, u32 v)
{ return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
static inline void set_bit32(volatile u32 *words, u32 bit)
{ __atomic_fetch_or(&words[bit / 32], 1u << (bit % 32), __ATOMIC_SEQ_CST); }
static inline void clear_bit32(volatile u32 *words, u32 bit)
{ __atomic_fetch_and(&words[bit / 32], ~(1u << (bit % 32)), __ATOMIC_SEQ_CST); }
static inline int test_and_set_bit32(volatile u32 *words, u32 bit)
{
    u32 m = 1u << (bit % 32);
    return (__atomic_fetch_or(&words[bit / 32], m, __ATOMIC_SEQ_CST) & m) != 0;
}
static inline int test_bit32(const volatile u32 *words, u32 bit)
{ return (words[bit / 32] >> (bit % 32)) & 1; }

#define unreachable() __builtin_unreachable()

#endif
