/**
 * Child process of the hv bench: boot N idle `ticker` domains of 32 MiB on one host (virtual
 * time, so they all get to "ticker: ready" without waiting) and report the process's RSS.
 * Usage: node --import tsx bench/hv/idle.ts N
 */
import { readFileSync } from 'node:fs';
import { Host } from '../../runtime/host.ts';
import type { Domain } from '../../runtime/hv/domain.ts';

const n = Number(process.argv[2] ?? 1000);
const kernel = readFileSync(new URL('../../guests/build/ticker.elf', import.meta.url));
global.gc?.();
const before = process.memoryUsage();
const host = new Host({ clock: 'virtual' });
const doms: Domain[] = [];
for (let k = 0; k < n; k++) doms.push(host.createDomain({ name: `idle-${k}`, kernel, memoryMiB: 32 }));
// Every ticker boots, connects to xenstore and ticks once, then idles. One physical CPU boots
// them one slice at a time, so this takes a while of virtual time.
const ticked = (d: (typeof doms)[number]): boolean => host.console(d.id)!.text().includes('tick 1');
let ready = 0;
host.runFor(120e9, () => {
  while (ready < doms.length && ticked(doms[ready]!)) ready++;
  return ready === doms.length;
});
ready = doms.filter(ticked).length;
const crashed = doms.filter((d) => d.isShutdown).length;
global.gc?.();
const after = process.memoryUsage();
process.stdout.write(
  JSON.stringify({
    domains: n,
    ready,
    crashed,
    rssBeforeMiB: before.rss / 2 ** 20,
    rssAfterMiB: after.rss / 2 ** 20,
    rssPerDomainKiB: (after.rss - before.rss) / n / 1024,
    heapPerDomainKiB: (after.heapUsed - before.heapUsed) / n / 1024,
    guestFramesPerDomainKiB: host.mem.backedBytes / n / 1024,
  }),
);
