/*
 * The kit's network device: netfront + the TCP/IP stack of net.h, for a
 * guest's event loop (see net.h for the loop).
 *
 * Address (read once at start, again after a resume):
 *   device/vif/<id>/ip       "a.b.c.d" or "a.b.c.d/len" if the toolstack
 *                            wrote it; otherwise 10.88.M4.M5 where M4 and
 *                            M5 are the last two bytes of the MAC;
 *   netmask                  /len from the ip node, else 255.255.0.0;
 *   device/vif/<id>/gateway  "a.b.c.d" if present, else 10.88.0.1.
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
