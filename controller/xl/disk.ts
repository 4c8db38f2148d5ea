// xl disk specifications (docs/man/xl-disk-configuration.5.pod.in), scanned as Xen's flex
// scanner tools/libs/util/libxlu_disk_l.l does, with the checks of libxlu_disk.c:
//   [<key>=<value>|<flag>,]* [<target>, [<format>, [<vdev>, [<access>]]]] … [target=<target>]
// and the deprecated `[<format>:][<target>],<vdev>[:<devtype>],<access>` with prefixes such as
// phy:, file:, tap:aio: (ignored) and raw:/qcow2:/vhd: (a format).

export interface XlDisk {
  target?: string;
  format?: string;
  vdev?: string;
  /** true = read-write */
  readwrite: boolean;
  cdrom: boolean;
  backend?: string;
  backendtype?: string;
  script?: string;
  /** named options Xenoform has no use for (backend, script, discard, …) */
  ignored: string[];
}

export type DiskParse = { ok: true; disk: XlDisk } | { ok: false; message: string };

const FORMATS = ['raw', 'qcow', 'qcow2', 'vhd', 'empty', 'qed'];
const IGNORED_PREFIXES = ['tapdisk', 'tap2', 'tap', 'aio', 'ioemu', 'file', 'phy'];
const SCRIPT_PREFIXES = ['iscsi', 'nbd', 'enbd', 'drbd'];
const FLAGS = ['direct-io-safe', 'discard', 'no-discard', 'colo', 'no-colo', 'trusted', 'untrusted'];
const KEYS = ['backend', 'backendtype', 'specification', 'script', 'colo-host', 'colo-port', 'colo-export', 'active-disk', 'hidden-disk', 'grant_usage'];

/** Parses one DISKSPEC; the error message is libxlu's ("… in `spec'" is added by the caller). */
export function parseDiskSpec(spec: string): DiskParse {
  const d: XlDisk = { readwrite: true, cdrom: false, ignored: [] };
  let hadDeprPrefix = false;
  let accessSet = false;
  let s = spec;
  const err = (message: string, near?: string): DiskParse => ({ ok: false, message: near === undefined ? message : `${message}: near \`${near}'` });
  const setFormat = (f: string): string | undefined => {
    const v = f === '' ? 'raw' : f;
    if (!FORMATS.includes(v)) return 'unknown value for format';
    if (d.format !== undefined && d.format !== v) return 'format respecified';
    d.format = v;
    return undefined;
  };
  const setAccess = (a: string): string | undefined => {
    if (a === 'r' || a === 'ro') d.readwrite = false;
    else if (a === 'rw' || a === 'w' || a === '') d.readwrite = true;
    else return 'unknown value for access';
    return undefined;
  };
  const saveString = (what: 'target' | 'vdev', v: string): string | undefined => {
    if (d[what]) return `${what} respecified`;
    d[what] = v;
    return undefined;
  };
  /** <vdev>:<devtype>: returns undefined when `str` has no colon */
  const vdevAndDevtype = (str: string): string | undefined | 'done' => {
    const colon = str.lastIndexOf(':');
    if (colon < 0) return undefined;
    const e = saveString('vdev', str.slice(0, colon));
    if (e) return e;
    const type = str.slice(colon + 1);
    if (type === 'cdrom') d.cdrom = true;
    else if (type === 'disk') d.cdrom = false;
    else return 'unknown deprecated type';
    return 'done';
  };

  while (s.length > 0) {
    // whitespace before a parameter is ignored
    const ws = /^[ \t\n]+/.exec(s);
    if (ws) { s = s.slice(ws[0].length); continue; }
    // target=… eats the rest of the string
    if (s.startsWith('target=')) {
      let v = s.slice('target='.length);
      if (v.endsWith(',')) v = v.slice(0, -1);
      if (d.target) return err('target respecified', v);
      d.target = v;
      break;
    }
    const named = /^([a-z][-a-z0-9_]*)=([^,]*),?/.exec(s);
    if (named) {
      const [whole, key, value] = named as unknown as [string, string, string];
      s = s.slice(whole.length);
      let e: string | undefined;
      if (key === 'format') e = setFormat(value);
      else if (key === 'access') e = setAccess(value);
      else if (key === 'vdev') e = saveString('vdev', value);
      else if (key === 'devtype') {
        if (value === 'cdrom') d.cdrom = true;
        else if (value === 'disk') d.cdrom = false;
        else e = 'unknown value for type';
      } else if (KEYS.includes(key)) {
        if (key === 'backendtype' && !['phy', 'tap', 'qdisk', 'standalone'].includes(value)) e = 'unknown value for backendtype';
        else if (key === 'specification' && !['xen', 'virtio'].includes(value)) e = 'unknown value for specification';
        else if (key === 'grant_usage' && !['0', '1'].includes(value)) e = 'unknown parameter';
        else d.ignored.push(`${key}=${value}`);
      } else e = 'unknown parameter';
      if (e) return err(e, whole);
      continue;
    }
    const flag = /^([a-z][-a-z0-9]*),?/.exec(s);
    if (flag && (flag[1] === 'cdrom' || FLAGS.includes(flag[1]!)) && (s.length === flag[0].length || flag[0].endsWith(','))) {
      s = s.slice(flag[0].length);
      if (flag[1] === 'cdrom') d.cdrom = true;
      else d.ignored.push(flag[1]!);
      continue;
    }
    // deprecated prefixes: <word>: at the start of a parameter
    const prefix = /^([a-z][a-z0-9]*):/.exec(s);
    if (prefix) {
      const p = prefix[1]!;
      const rest = s.slice(prefix[0].length);
      if (['raw', 'qcow', 'qcow2', 'vhd'].includes(p)) { // (raw|qcow2?|vhd):
        hadDeprPrefix = true;
        const e = setFormat(p);
        if (e) return err(e, p);
        s = rest;
        continue;
      }
      if (SCRIPT_PREFIXES.includes(p)) { hadDeprPrefix = true; d.script = `block-${p}`; d.ignored.push(`script=block-${p}`); s = rest; continue; }
      if (IGNORED_PREFIXES.includes(p)) { hadDeprPrefix = true; s = rest; continue; }
      if (rest === '' || !/^[a-z0-9]/.test(rest)) return err('unknown deprecated disk prefix', s);
    }
    // positional parameter: [^=,]*, or [^=,]+
    const pos = /^([^=,]*),|^([^=,]+)/.exec(s);
    if (!pos) return err('bad disk syntax', s);
    s = s.slice(pos[0].length);
    const v = pos[1] ?? pos[2]!;
    let e: string | undefined;
    if (d.target === undefined) d.target = v;
    else if (!hadDeprPrefix && d.format === undefined) {
      const r = d.target === '' ? vdevAndDevtype(v) : undefined;
      if (r === 'done') d.format = 'empty';
      else if (r !== undefined) e = r;
      else e = setFormat(v);
    } else if (d.vdev === undefined) {
      const r = vdevAndDevtype(v);
      if (r === undefined) e = saveString('vdev', v);
      else if (r !== 'done') e = r;
    } else if (!accessSet) {
      accessSet = true;
      e = setAccess(v);
    } else {
      return err('too many positional parameters', v);
    }
    if (e) return err(e, v);
  }

  if (d.format === undefined) d.format = 'raw';
  if (d.cdrom) {
    d.readwrite = false;
    if (!d.target) d.format = 'empty';
  }
  if (!d.vdev) return err('no vdev specified');
  if (d.target === undefined && !d.cdrom) return err('no target specified (and device not removable)');
  return { ok: true, disk: d };
}
