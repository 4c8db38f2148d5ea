// xenoform top [-b] [-d SECONDS] [-i N] [-o json] — live per-domain CPU, memory and I/O with
// xentop's columns (tools/xentop/xentop.c): NAME STATE CPU(sec) CPU(%) MEM(k) MEM(%) MAXMEM(k)
// MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS VBD_OO VBD_RD VBD_WR VBD_RSECT VBD_WSECT SSID.
// CPU(%) is the share of one CPU over the last interval, so it needs two samples, as in xentop.
import type { Command } from 'commander';
import { ControllerClient } from '../api/client.ts';
import { table } from '../api/print.ts';
import type { HostInfo, HostStats } from '../hypervisor.ts';
import { err, out, outputFormat, resolveStateDir } from './context.ts';
import { UsageError } from '../errors.ts';

interface Sample {
  info: HostInfo;
  stats: HostStats;
}

/** What /xl/top answers: the local host's sample, and every host's (many hosts). */
interface ClusterSample extends Sample {
  hosts?: { host: string; info?: HostInfo; stats?: HostStats; error?: string }[];
}

/** Rows of every host that answered, each tagged with its host (CPU% from that host's previous sample). */
export function clusterRows(cur: ClusterSample, prev?: ClusterSample): Record<string, number | string>[] {
  const per = (s: ClusterSample | undefined) => (s?.hosts ?? (s ? [{ host: 'local', info: s.info, stats: s.stats }] : []));
  const before = new Map(per(prev).map((h) => [h.host, h]));
  return per(cur).flatMap((h) => {
    if (!h.info || !h.stats) return [];
    const p = before.get(h.host);
    return topRows({ info: h.info, stats: h.stats }, p?.info && p.stats ? { info: p.info, stats: p.stats } : undefined).map((r) => ({ host: h.host, ...r }));
  });
}

export const TOP_HEADER = ['NAME', 'STATE', 'CPU(sec)', 'CPU(%)', 'MEM(k)', 'MEM(%)', 'MAXMEM(k)', 'MAXMEM(%)', 'VCPUS', 'NETS', 'NETTX(k)', 'NETRX(k)', 'VBDS', 'VBD_OO', 'VBD_RD', 'VBD_WR', 'VBD_RSECT', 'VBD_WSECT', 'SSID'];

/** One row per domain, CPU(%) from the previous sample when there is one. */
export function topRows(cur: Sample, prev?: Sample): Record<string, number | string>[] {
  const totalKiB = cur.info.memoryTotalMiB * 1024;
  const before = new Map(prev?.stats.domains.map((d) => [d.domid, d.cpuNs]) ?? []);
  const dt = prev ? cur.stats.timeNs - prev.stats.timeNs : 0;
  return cur.stats.domains.map((d) => {
    const was = before.get(d.domid);
    const pct = dt > 0 && was !== undefined ? ((d.cpuNs - was) / dt) * 100 : 0;
    return {
      name: d.name,
      state: d.state,
      cpuSec: Math.floor(d.cpuNs / 1e9),
      cpuPct: Math.round(pct * 10) / 10,
      memKiB: d.memoryKiB,
      memPct: Math.round((d.memoryKiB / totalKiB) * 1000) / 10,
      maxMemKiB: d.maxMemoryKiB,
      maxMemPct: Math.round((d.maxMemoryKiB / totalKiB) * 1000) / 10,
      vcpus: d.vcpus,
      nets: d.nets,
      netTxKiB: d.netTxKiB,
      netRxKiB: d.netRxKiB,
      vbds: d.vbds,
      vbdOo: d.vbdOo,
      vbdRd: d.vbdRd,
      vbdWr: d.vbdWr,
      vbdRsect: d.vbdRsect,
      vbdWsect: d.vbdWsect,
      ssid: 0,
    };
  });
}

function render(rows: Record<string, number | string>[], withHost: boolean): string {
  return table(
    withHost ? ['HOST', ...TOP_HEADER] : TOP_HEADER,
    rows.map((r) => [...(withHost ? [r.host] : []), r.name, r.state, r.cpuSec, Number(r.cpuPct).toFixed(1), r.memKiB, Number(r.memPct).toFixed(1), r.maxMemKiB, Number(r.maxMemPct).toFixed(1), r.vcpus, r.nets, r.netTxKiB, r.netRxKiB, r.vbds, r.vbdOo, r.vbdRd, r.vbdWr, r.vbdRsect, r.vbdWsect, r.ssid].map(String)),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function register(program: Command): void {
  program
    .command('top')
    .description("live per-domain CPU, memory and I/O with xentop's columns")
    .option('-b, --batch', 'print samples as text lines instead of a refreshing screen')
    .option('-d, --delay <seconds>', 'seconds between samples', '1')
    .option('-i, --iterations <n>', 'samples to print (default: 1 with -b or -o json, unlimited otherwise)')
    .option('-o, --output <format>', 'json')
    .action(async (opts: { batch?: boolean; delay: string; iterations?: string; output?: string }, cmd: Command) => {
      const format = outputFormat(opts.output, ['table', 'json'], 'table');
      const delay = Number(opts.delay);
      if (!(delay > 0) || delay > 3600) throw new UsageError(`--delay must be a number of seconds in (0, 3600], not "${opts.delay}"`);
      const once = opts.batch || format === 'json';
      const iterations = opts.iterations === undefined ? (once ? 1 : Infinity) : Number(opts.iterations);
      if (!(iterations >= 1)) throw new UsageError(`--iterations must be at least 1, not "${opts.iterations}"`);
      const client = new ControllerClient(resolveStateDir(cmd));
      const sample = () => client.get<ClusterSample>('/xl/top');
      // The first figure needs a previous sample for CPU(%): take one a delay earlier.
      let prev = await sample();
      await sleep(delay * 1000);
      for (let k = 0; k < iterations; k++) {
        const cur = await sample();
        const withHost = (cur.hosts?.length ?? 1) > 1;
        const rows = clusterRows(cur, prev).map((r) => { if (!withHost) delete r.host; return r; });
        for (const h of cur.hosts ?? []) if (h.error && once) err(`xenoform: host ${h.host}: ${h.error}`);
        if (format === 'json') out(JSON.stringify({ timeNs: cur.stats.timeNs, domains: rows }, null, 2));
        else if (once) out(render(rows, withHost));
        else {
          const hosts = (cur.hosts ?? [{ host: 'local', info: cur.info }]).map((h) => (h.info ? `${h.host}: ${h.info.domains} domains, ${h.info.memoryFreeMiB} MiB free of ${h.info.memoryTotalMiB}` : `${h.host}: ${h.error ?? 'no answer'}`));
          out(`\x1b[H\x1b[2J${new Date().toISOString()}  ${hosts.join('; ')}\n${render(rows, withHost)}`);
        }
        prev = cur;
        if (k + 1 < iterations) await sleep(delay * 1000);
      }
    });
}
