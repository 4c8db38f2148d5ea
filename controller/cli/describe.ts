// xenoform describe domain NAME — spec, status, conditions and recent events (kubectl describe).
import type { Command } from 'commander';
import type { Domain } from '../../crds/index.ts';
import { ControllerClient } from '../api/client.ts';
import { describeDomain } from '../api/print.ts';
import { API_PREFIX } from '../api/server.ts';
import { UsageError } from '../errors.ts';
import type { ObjectEvent } from '../store/index.ts';
import type { HostStats } from '../hypervisor.ts';
import { out, resolveStateDir } from './context.ts';

export function register(program: Command): void {
  program
    .command('describe')
    .description('show a Domain: spec, status, conditions, recent events')
    .argument('<kind>', 'domain')
    .argument('<name>', 'the Domain\'s name')
    .action(async (kind: string, name: string, _opts: unknown, cmd: Command) => {
      if (!['domain', 'domains', 'dom', 'xd'].includes(kind.toLowerCase())) throw new UsageError(`unknown kind ${JSON.stringify(kind)} (known: domain)`);
      const client = new ControllerClient(resolveStateDir(cmd));
      const d = await client.get<Domain>(`${API_PREFIX}/${encodeURIComponent(name)}`);
      const ev = await client.get<{ items: ObjectEvent[] }>(`/api/v1/events?name=${encodeURIComponent(name)}`);
      const text = describeDomain(d, ev.items);
      out(`${text}${ioSection(d, await client.get<{ stats: HostStats }>('/xl/top').then((r) => r.stats).catch(() => undefined))}`);
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
