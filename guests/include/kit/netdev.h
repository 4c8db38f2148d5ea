/*
 * The kit's network device: netfront + the TCP/IP stack of net.h, for a
 * guest's event loop (see net.h for the loop).
 *
 * Address (runtime/devices/net/README.md "Addressing"; read at start and
 * again after a resume), from the toolstack's keys in the front-end
 * directory device/vif/<id>/:
 *   ip       "a.b.c.d" (or "a.b.c.d/len"); if absent, derived as the
 *            toolstack derives it: MAC 00:16:3e:AA:BB:CC -> 10.AA.BB.CC;
 *   netmask  "a.b.c.d"; else /len from ip; else 255.0.0.0;
 *   gateway  "a.b.c.d"; else 10.0.0.1.
 * A gratuitous ARP goes out at start and after every resume, then twice
 * more one second apart.
 */
#ifndef KIT_NETDEV_H
#define KIT_NETDEV_H
#include <kit/net.h>

/* Connects the first vif and starts the stack. 0 or -errno. */
int net_start(void);
/* Received frames into the stack, then due timers. */
void net_poll(void);
/* Blocks until a frame, a xenstore event, the stack's next timer or
 * `deadline` (system time in ns, 0 = none). */
void net_wait(u64 deadline);
u32 net_netmask(void);
u32 net_gateway(void);

#endif
