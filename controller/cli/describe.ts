// xenoform describe domain NAME — spec, status, conditions and recent events (kubectl describe).
// xenoform describe host NAME — address, capacity, allocation, host info, conditions, its domains.
import type { Command } from 'commander';
import type { Domain, DomainList, Host } from '../../crds/index.ts';
import { HOSTS_PREFIX } from '../api/hosts.ts';
import { ControllerClient } from '../api/client.ts';
import { describeDomain, describeHost } from '../api/print.ts';
import { API_PREFIX } from '../api/server.ts';
import { UsageError } from '../errors.ts';
import type { ObjectEvent } from '../store/index.ts';
import type { HostStats } from '../hypervisor.ts';
import { out, resolveStateDir } from './context.ts';

export function register(program: Command): void {
  program
    .command('describe')
    .description('show a Domain (spec, status, conditions, recent events) or a Host')
    .argument('<kind>', 'domain or host')
    .argument('<name>', 'the Domain\'s or Host\'s name')
    .action(async (kind: string, name: string, _opts: unknown, cmd: Command) => {
      const isHost = ['host', 'hosts', 'xh'].includes(kind.toLowerCase());
      if (!['domain', 'domains', 'dom', 'xd'].includes(kind.toLowerCase()) && !isHost) throw new UsageError(`unknown kind ${JSON.stringify(kind)} (known: domain, host)`);
      const client = new ControllerClient(resolveStateDir(cmd));
      if (isHost) {
        const h = await client.get<Host>(`${HOSTS_PREFIX}/${encodeURIComponent(name)}`);
        const domains = await client.get<DomainList>(API_PREFIX);
        return out(describeHost(h, domains.items));
      }
      const d = await client.get<Domain>(`${API_PREFIX}/${encodeURIComponent(name)}`);
      const ev = await client.get<{ items: ObjectEvent[] }>(`/api/v1/events?name=${encodeURIComponent(name)}`);
      const text = describeDomain(d, ev.items);
      // the counters of the host it runs on (domids are per host)
      const top = await client.get<{ stats: HostStats; hosts?: { host: string; stats?: HostStats }[] }>('/xl/top').catch(() => undefined);
      const stats = top?.hosts ? top.hosts.find((h) => h.host === d.status?.host)?.stats : top?.stats;
      out(`${text}${ioSection(d, stats)}`);
    });
}

/** Devices and their I/O counters as the host reports them now (interfaces, disks). */
export function ioSection(d: Domain, stats: HostStats | undefined): string {
  const s = stats?.domains.find((x) => x.domid === d.status?.domid);
  if (!s) return '';
  const lines = ['I/O (now, from the host):'];
  for (const v of s.vifs ?? []) {
    const c = v.counters;
    lines.push(`  vif${s.domid}.${v.handle}  ${v.mac}  ${v.ip}  ${v.connected ? 'connected' : `state ${v.state}`}${v.error ? ` (${v.error})` : ''}`);
    lines.push(`    tx ${c.txFrames} frames ${c.txBytes} bytes (${c.txErrors} errors)   rx ${c.rxFrames} frames ${c.rxBytes} bytes (${c.rxDropped} dropped, ${c.rxErrors} errors)`);
    for (const p of v.ports ?? []) lines.push(`    127.0.0.1:${p.host} -> ${v.ip}:${p.guest}`);
  }
  if (s.vbds) lines.push(`  disks: ${s.vbds}  VBD_OO ${s.vbdOo}  VBD_RD ${s.vbdRd}  VBD_WR ${s.vbdWr}  VBD_RSECT ${s.vbdRsect}  VBD_WSECT ${s.vbdWsect}`);
  if (lines.length === 1) return '';
  return `\n${lines.join('\n')}\n`;
}
