// xenoform get domains|hosts [NAME] [-o wide|json|yaml] [-l SELECTOR] [-w] — as `kubectl get`.
import type { Command } from 'commander';
import type { Domain, DomainList, Host, HostList } from '../../crds/index.ts';
import { HOSTS_PREFIX } from '../api/hosts.ts';
import { ControllerClient } from '../api/client.ts';
import { domainRow, domainsTable, DOMAIN_HEADER, DOMAIN_HEADER_WIDE, formatObject, hostRow, hostsTable, HOST_HEADER, HOST_HEADER_WIDE, StreamTable } from '../api/print.ts';
import { API_PREFIX } from '../api/server.ts';
import { UsageError } from '../errors.ts';
import { out, outputFormat, resolveStateDir } from './context.ts';

const KINDS = ['domains', 'domain', 'dom', 'xd'];
const HOST_KINDS = ['hosts', 'host', 'xh'];

/** `get hosts [NAME]`: the Host objects (`local` and the declared ones) with their status. */
async function getHosts(client: ControllerClient, name: string | undefined, format: string, watch: boolean): Promise<void> {
  const path = name ? `${HOSTS_PREFIX}/${encodeURIComponent(name)}` : HOSTS_PREFIX;
  const wide = format === 'wide';
  if (!watch) {
    const v = name ? await client.get<Host>(path) : await client.get<HostList>(path);
    const items = name ? [v as Host] : (v as HostList).items;
    out(format === 'json' || format === 'yaml' ? formatObject(v, format) : hostsTable(items, wide));
    return;
  }
  const rows = new StreamTable(wide ? HOST_HEADER_WIDE : HOST_HEADER, [8, 16, 8]);
  for await (const ev of client.watch<{ type: string; object: Host }>(`${path}?watch=1`)) {
    if (format === 'json') out(JSON.stringify(ev));
    else if (format === 'yaml') out(`---\n${formatObject(ev.object, 'yaml')}`);
    else {
      const row = hostRow(ev.object, wide);
      if (ev.type === 'DELETED') row[2] = 'Deleted';
      out(rows.rows([row]));
    }
  }
}

export function register(program: Command): void {
  program
    .command('get')
    .description('list Domains or Hosts (a table like kubectl get), or one by NAME')
    .argument('<kind>', 'domains (or domain, dom, xd), hosts (or host, xh)')
    .argument('[name]', 'a Domain\'s or Host\'s name')
    .option('-o, --output <format>', 'wide, json or yaml')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('-w, --watch', 'after listing, print changes as they happen')
    .action(async (kind: string, name: string | undefined, opts: { output?: string; selector?: string; watch?: boolean }, cmd: Command) => {
      const isHost = HOST_KINDS.includes(kind.toLowerCase());
      if (!KINDS.includes(kind.toLowerCase()) && !isHost) throw new UsageError(`unknown kind ${JSON.stringify(kind)} (known: domains, hosts)`);
      const format = outputFormat(opts.output, ['table', 'wide', 'json', 'yaml'], 'table');
      const client = new ControllerClient(resolveStateDir(cmd));
      if (isHost) {
        if (opts.selector) throw new UsageError('-l/--selector applies to domains only');
        return getHosts(client, name, format, opts.watch === true);
      }
      const query = new URLSearchParams();
      if (opts.selector) query.set('labelSelector', opts.selector);
      const path = name ? `${API_PREFIX}/${encodeURIComponent(name)}` : API_PREFIX;
      const wide = format === 'wide';
      if (!opts.watch) {
        if (name) {
          const d = await client.get<Domain>(path);
          out(format === 'json' || format === 'yaml' ? formatObject(d, format) : domainsTable([d], wide));
        } else {
          const list = await client.get<DomainList>(`${path}?${query}`);
          out(format === 'json' || format === 'yaml' ? formatObject(list, format) : domainsTable(list.items, wide));
        }
        return;
      }
      query.set('watch', '1');
      // widths that fit the usual values, so that rows printed later line up
      const rows = new StreamTable(wide ? DOMAIN_HEADER_WIDE : DOMAIN_HEADER, [16, 16, 5, 6, 6, 7, 5]);
      for await (const ev of client.watch<{ type: string; object: Domain }>(`${path}?${query}`)) {
        if (format === 'json') out(JSON.stringify(ev));
        else if (format === 'yaml') out(`---\n${formatObject(ev.object, 'yaml')}`);
        else {
          const row = domainRow(ev.object, wide);
          if (ev.type === 'DELETED') row[1] = 'Deleted';
          out(rows.rows([row]));
        }
      }
    });
}
