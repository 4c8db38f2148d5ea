// xl.cfg settings → a Domain (../shared/DESIGN.md §3), reading each key as tools/xl/xl_parse.c
// does. Keys with no Domain field are warnings with their line (xl ignores what it does not
// use); values xl would refuse, or Xenoform cannot honour, are errors with their line.
import { API_VERSION, validatorFor } from '../../crds/index.ts';
import { DNS1123_LABEL, SHUTDOWN_ACTIONS } from '../../crds/domain.schema.ts';
import type { Domain, DomainDisk, DomainInterface, DomainSpec, ShutdownAction } from '../../crds/domain.types.ts';
import { applyDomainDefaults, domainRules } from '../../crds/domain.ts';
import { parseDiskSpec } from './disk.ts';
import { strtol0, type XlSetting, type XlValue } from './parser.ts';

export interface XlProblem {
  line: number;
  col: number;
  message: string;
  severity: 'error' | 'warning';
  /** the xl key it is about */
  key?: string;
}

export interface XlToDomainResult {
  /** the Domain as written (no defaults applied); undefined when there were errors */
  domain?: Domain;
  problems: XlProblem[];
}

/** Keys of parse_nic_config (xl_parse.c); only mac has a Domain field. */
const VIF_KEYS = ['type', 'mac', 'bridge', 'netdev', 'ip', 'script', 'backend', 'vifname', 'model', 'rate', 'forwarddev', 'gatewaydev', 'accel', 'devid', 'mtu', 'vlan', 'vid'];
const VIF_FLAGS = ['trusted', 'untrusted'];

/** The Domain field each xl key maps to, to place schema errors on the key's line. */
const FIELD_TO_KEY: Record<string, string> = {
  'metadata.name': 'name', 'spec.memory': 'memory', 'spec.maxMemory': 'maxmem', 'spec.vcpus': 'vcpus',
  'spec.maxVcpus': 'maxvcpus', 'spec.kernel': 'kernel', 'spec.ramdisk': 'ramdisk', 'spec.cmdline': 'cmdline',
  'spec.cpuWeight': 'cpu_weight', 'spec.cpuCap': 'cap', 'spec.disks': 'disk', 'spec.interfaces': 'vif',
  'spec.onPoweroff': 'on_poweroff', 'spec.onReboot': 'on_reboot', 'spec.onCrash': 'on_crash', 'spec.onWatchdog': 'on_watchdog',
};

/** A valid DNS-1123 label made from an xl domain name: lowercase, other characters to '-'. */
export function toDns1123(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
}

/** xl's MAC parsing: six hex fields, each strtoul(…, 16) ≤ 255, any one-character separator. */
export function parseMac(s: string): string | undefined {
  const out: string[] = [];
  let i = 0;
  for (let f = 0; f < 6; f++) {
    const m = /^[0-9a-fA-F]+/.exec(s.slice(i));
    if (!m) return undefined;
    const v = parseInt(m[0], 16);
    if (v > 255) return undefined;
    out.push(v.toString(16).padStart(2, '0'));
    i += m[0].length + 1;
  }
  if (i - 1 !== s.length) return undefined;
  return out.join(':');
}

export function xlToDomain(settings: XlSetting[]): XlToDomainResult {
  const problems: XlProblem[] = [];
  const latest = new Map<string, XlSetting>();
  for (const s of settings) latest.set(s.name, s);
  const used = new Set<string>();
  const error = (s: XlSetting | XlValue, message: string, key?: string) =>
    problems.push({ line: s.line, col: s.col, message, severity: 'error', key });
  const warn = (s: XlSetting | XlValue, message: string, key?: string) =>
    problems.push({ line: s.line, col: s.col, message, severity: 'warning', key });

  // xlu_cfg_get_string / get_long / get_list, refusing rather than skipping bad values
  const getString = (key: string): { s: XlSetting; v: string } | undefined => {
    const s = latest.get(key);
    if (!s) return undefined;
    used.add(key);
    if (s.value.type !== 'string') { error(s, `parameter \`${key}' is a list but should be a single value`, key); return undefined; }
    return { s, v: s.value.value };
  };
  const getLong = (key: string): number | undefined => {
    const s = latest.get(key);
    if (!s) return undefined;
    used.add(key);
    if (s.value.type !== 'string') { error(s, `parameter \`${key}' is a list but should be a single value`, key); return undefined; }
    if (s.op === '+=') { error(s, `can't use += with numbers for parameter \`${key}'`, key); return undefined; }
    const n = strtol0(s.value.value);
    if (!n.ok) {
      error(s, n.reason === 'range' ? `parameter \`${key}' could not be parsed as a number: Numerical result out of range` : `parameter \`${key}' is not a valid number`, key);
      return undefined;
    }
    return n.value;
  };
  const getList = (key: string): { s: XlSetting; items: XlValue[] } | undefined => {
    const s = latest.get(key);
    if (!s) return undefined;
    used.add(key);
    if (s.value.type !== 'list') { error(s, `parameter \`${key}' is a single value but should be a list`, key); return undefined; }
    return { s, items: s.value.values };
  };

  const spec: Partial<DomainSpec> = {};
  let name: string | undefined;
  const n = getString('name');
  if (!n) {
    if (!latest.has('name')) problems.push({ line: 0, col: 0, message: 'Domain name must be specified.', severity: 'error', key: 'name' });
  } else {
    name = n.v;
    if (!new RegExp(DNS1123_LABEL).test(name) || name.length > 63) {
      const fixed = toDns1123(name);
      if (!fixed) error(n.s, `name \`${name}' cannot be made a DNS-1123 label`, 'name');
      else { warn(n.s, `name \`${name}' is not a DNS-1123 label; using \`${fixed}'`, 'name'); name = fixed; }
    }
  }

  for (const key of ['type', 'builder']) {
    const t = getString(key);
    if (t && t.v !== 'pv' && !(key === 'builder' && t.v === 'linux')) error(t.s, `${key} \`${t.v}' is not supported: Xenoform runs PV guests only`, key);
  }

  const kernel = getString('kernel');
  if (kernel) spec.kernel = kernel.v;
  else if (!latest.has('kernel')) problems.push({ line: 0, col: 0, message: 'kernel must be specified (Xenoform boots PV kernels directly)', severity: 'error', key: 'kernel' });
  const ramdisk = getString('ramdisk');
  if (ramdisk) spec.ramdisk = ramdisk.v;

  // parse_cmdline: cmdline wins over root and extra; else "root=R E", "root=R" or "E"
  const cmdline = getString('cmdline');
  const root = getString('root');
  const extra = getString('extra');
  if (cmdline) {
    spec.cmdline = cmdline.v;
    if (root || extra) warn((root ?? extra)!.s, 'ignoring root= and extra= in favour of cmdline=');
  } else if (root && extra) spec.cmdline = `root=${root.v} ${extra.v}`;
  else if (root) spec.cmdline = `root=${root.v}`;
  else if (extra) spec.cmdline = extra.v;

  const numbers: [string, keyof DomainSpec][] = [
    ['memory', 'memory'], ['maxmem', 'maxMemory'], ['vcpus', 'vcpus'], ['maxvcpus', 'maxVcpus'], ['cpu_weight', 'cpuWeight'], ['cap', 'cpuCap'],
  ];
  for (const [key, field] of numbers) {
    const v = getLong(key);
    if (v !== undefined) (spec as Record<string, unknown>)[field] = v;
  }

  const actions: [string, keyof DomainSpec][] = [['on_poweroff', 'onPoweroff'], ['on_reboot', 'onReboot'], ['on_crash', 'onCrash'], ['on_watchdog', 'onWatchdog']];
  for (const [key, field] of actions) {
    const a = getString(key);
    if (!a) continue;
    if ((SHUTDOWN_ACTIONS as readonly string[]).includes(a.v)) (spec as Record<string, unknown>)[field] = a.v as ShutdownAction;
    else if (a.v === 'soft-reset') error(a.s, `${key} action "soft-reset" is not supported by Xenoform`, key);
    else error(a.s, `Unknown ${key} action "${a.v}" specified`, key);
  }

  const disks = getList('disk');
  if (disks) {
    const out: DomainDisk[] = [];
    for (const item of disks.items) {
      if (item.type !== 'string') { error(item, 'disk: each disk specification must be a string', 'disk'); continue; }
      const r = parseDiskSpec(item.value);
      if (!r.ok) { error(item, `config parsing error in disk specification: ${r.message} in \`${item.value}'`, 'disk'); continue; }
      const d = r.disk;
      if (d.cdrom && !d.target) { warn(item, `disk \`${item.value}': an empty CD-ROM drive has no Domain field; left out`, 'disk'); continue; }
      let vdev = d.vdev!;
      const legacy = /^(hd|sd)([a-z]+)$/.exec(vdev);
      if (legacy) {
        const x = `xvd${legacy[2]}`;
        warn(item, `disk \`${item.value}': vdev ${vdev} becomes ${x} (a PV guest sees its disks as xvd*)`, 'disk');
        vdev = x;
      } else if (!/^xvd[a-z]+$/.test(vdev)) {
        error(item, `disk \`${item.value}': vdev \`${vdev}' is not supported (use xvda, xvdb, …)`, 'disk');
        continue;
      }
      if (d.format !== 'raw') { error(item, `disk \`${item.value}': format ${d.format} is not supported (raw images only)`, 'disk'); continue; }
      if (d.cdrom) warn(item, `disk \`${item.value}': CD-ROM becomes a read-only disk`, 'disk');
      if (d.ignored.length) warn(item, `disk \`${item.value}': ${d.ignored.join(', ')} ignored`, 'disk');
      out.push({ source: d.target!, target: vdev, mode: d.readwrite ? 'rw' : 'ro' });
    }
    spec.disks = out;
  }

  const vifs = getList('vif');
  if (vifs) {
    const out: DomainInterface[] = [];
    for (const item of vifs.items) {
      if (item.type !== 'string') { error(item, 'vif: each vif specification must be a string', 'vif'); continue; }
      const nic: DomainInterface = {};
      const ignored: string[] = [];
      let bad = false;
      // strtok(buf, ","): empty tokens are skipped; leading spaces trimmed
      for (const raw of item.value.split(',')) {
        const token = raw.replace(/^ +/, '');
        if (token === '') continue;
        const eq = token.indexOf('=');
        const key = eq >= 0 ? token.slice(0, eq) : token;
        if (eq >= 0 && key === 'mac') {
          const mac = parseMac(token.slice(eq + 1));
          if (!mac) { error(item, 'Invalid parameter `mac\'.', 'vif'); bad = true; } else nic.mac = mac;
        } else if ((eq >= 0 && VIF_KEYS.includes(key)) || (eq < 0 && VIF_FLAGS.includes(key))) {
          ignored.push(token);
        } else {
          error(item, `unrecognized argument \`${token}' in vif \`${item.value}'`, 'vif');
          bad = true;
        }
      }
      if (ignored.length) warn(item, `vif \`${item.value}': ${ignored.join(', ')} ignored (the segment is Xenoform's own)`, 'vif');
      if (!bad) out.push(nic);
    }
    spec.interfaces = out;
  }

  for (const s of settings) {
    if (used.has(s.name)) continue;
    used.add(s.name);
    const last = latest.get(s.name)!;
    warn(last, `\`${s.name}' has no Domain field; ignored`, s.name);
  }

  if (problems.some((p) => p.severity === 'error') || name === undefined || spec.kernel === undefined) return { problems };
  const domain: Domain = { apiVersion: API_VERSION, kind: 'Domain', metadata: { name }, spec: spec as DomainSpec };

  // The Domain schema has the last word on ranges (memory ≥ 1, cpu_weight ≤ 65535, …).
  const validate = validatorFor('Domain');
  if (!validate(domain)) {
    for (const e of validate.errors ?? []) {
      if (e.schemaPath.includes('/oneOf/')) continue;
      const field = e.instancePath.slice(1).split('/').filter((p) => !/^\d+$/.test(p)).join('.');
      const key = Object.entries(FIELD_TO_KEY).find(([f]) => field === f || field.startsWith(f + '.'))?.[1];
      const s = key ? latest.get(key) : undefined;
      const dataPath = e.instancePath.slice(1).replace(/\//g, '.').replace(/\.(\d+)/g, '[$1]');
      const msg = `${key ?? dataPath}: ${dataPath} ${e.message}`;
      problems.push({ line: s?.line ?? 0, col: s?.col ?? 0, message: msg, severity: 'error', key });
    }
    return { problems };
  }
  // …and so do the rules across fields (memory ≤ maxmem, vcpus ≤ maxvcpus, …)
  for (const r of domainRules(applyDomainDefaults(structuredClone(domain)))) {
    const field = r.path.filter((p) => typeof p === 'string').join('.');
    const key = Object.entries(FIELD_TO_KEY).find(([f]) => field === f || field.startsWith(f + '.'))?.[1];
    const s = key ? latest.get(key) : undefined;
    problems.push({ line: s?.line ?? 0, col: s?.col ?? 0, message: `${key ?? field}: ${r.message}`, severity: 'error', key });
  }
  if (problems.some((p) => p.severity === 'error')) return { problems };
  return { domain, problems };
}
