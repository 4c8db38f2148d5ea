/**
 * Virtual device names and numbers for Xen's PV disks (docs/man/xen-vbd-interface.7.pandoc):
 * xvd<letters><partition>, where the letters count from a = 0 (aa = 26 …) and the number the
 * frontend sees is `202<<8 | disk<<4 | partition` for disks 0–15 and partitions 0–15, or the
 * extended form `1<<28 | disk<<8 | partition` (disks below 2^20, partitions below 256).
 */
import { DiskRefusedError } from './errors.ts';

export const XVD_MAJOR = 202;
const EXTENDED = 1 << 28;

export interface Vdev {
  /** The name as written, e.g. "xvda". */
  name: string;
  disk: number;
  partition: number;
  /** The number in xenstore's virtual-device and the device directory's name (devid). */
  number: number;
}

export function parseVdev(name: string): Vdev {
  const m = /^xvd([a-z]{1,4})([1-9][0-9]{0,2})?$/.exec(name);
  if (!m) throw new DiskRefusedError('DISK_SPEC', `disk target ${JSON.stringify(name)} is not a Xen virtual disk name (xvda, xvdb, … xvda1)`);
  let disk = 0;
  for (const ch of m[1]!) disk = disk * 26 + (ch.charCodeAt(0) - 96);
  disk -= 1; // bijective base 26: a = 0, z = 25, aa = 26
  const partition = m[2] ? Number(m[2]) : 0;
  if (disk >= 2 ** 20 || partition > 255) throw new DiskRefusedError('DISK_SPEC', `disk target ${name} is beyond the largest Xen virtual disk number`);
  const number = disk < 16 && partition < 16 ? (XVD_MAJOR << 8) | (disk << 4) | partition : (EXTENDED | (disk << 8) | partition) >>> 0;
  return { name, disk, partition, number };
}
