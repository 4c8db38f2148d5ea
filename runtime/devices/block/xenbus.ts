/**
 * The xenstore side of a vbd: the nodes the toolstack writes (libxl__device_disk_add →
 * libxl__device_generic_add in tools/libs/light/libxl_device.c), the features blkback
 * publishes before InitWait, the frontend's transport parameters it reads on connect
 * (connect_ring / read_per_ring_refs in Linux's drivers/block/xen-blkback/xenbus.c), and
 * xenbus_dev_fatal's error node. Key names and meanings: xen/include/public/io/blkif.h.
 *
 *   /local/domain/<domid>/device/vbd/<devid>         n<domid>,r0   (the frontend's)
 *     backend backend-id state virtual-device device-type
 *     (the frontend adds ring-ref event-channel protocol, then moves state)
 *   /local/domain/0/backend/vbd/<domid>/<devid>      n0,r<domid>   (the backend's)
 *     frontend frontend-id online removable bootable state dev type mode params device-type
 *     feature-flush-cache feature-barrier sectors sector-size physical-sector-size info
 */
import type { Xenstored } from '../xenstore/xenstored.ts';
import { SECTOR_SIZE, VDISK_READONLY, XEN_IO_PROTO_ABI_X86_32 } from './blkif.ts';

import { XenbusState } from '../xenbus-state.ts';

export { XenbusState };

export interface VbdPaths {
  frontend: string;
  backend: string;
  /** Where xenbus_dev_error/fatal report (dom0's error/<backend nodename>). */
  error: string;
}

export function vbdPaths(domid: number, devid: number): VbdPaths {
  const nodename = `backend/vbd/${domid}/${devid}`;
  return {
    frontend: `/local/domain/${domid}/device/vbd/${devid}`,
    backend: `/local/domain/0/${nodename}`,
    error: `/local/domain/0/error/${nodename}`,
  };
}

export interface ToolstackDisk {
  domid: number;
  devid: number;
  /** xvda … */
  dev: string;
  params: string;
  readonly: boolean;
}

/**
 * libxl__device_generic_add: both directories with their permissions, in one transaction.
 * A restore whose frontend directory came back with the domain's store writes only the
 * backend's (`backendOnly`).
 */
export function writeToolstackNodes(xs: Xenstored, disk: ToolstackDisk, backendOnly = false): void {
  const p = vbdPaths(disk.domid, disk.devid);
  xs.transaction((tx) => {
    if (!backendOnly) {
      rmQuiet(xs, p.frontend, tx);
      xs.write(p.frontend, '', tx);
      xs.setPerms(p.frontend, [`n${disk.domid}`, 'r0'], tx);
    }
    rmQuiet(xs, p.backend, tx);
    xs.write(p.backend, '', tx);
    xs.setPerms(p.backend, ['n0', `r${disk.domid}`], tx);
    const fe: Record<string, string> = {
      backend: p.backend,
      'backend-id': '0',
      state: String(XenbusState.Initialising),
      'virtual-device': String(disk.devid),
      'device-type': 'disk',
    };
    const be: Record<string, string> = {
      frontend: p.frontend,
      'frontend-id': String(disk.domid),
      online: '1',
      removable: '0',
      bootable: '1',
      state: String(XenbusState.Initialising),
      dev: disk.dev,
      type: 'file',
      mode: disk.readonly ? 'r' : 'w',
      params: disk.params,
      'device-type': 'disk',
    };
    if (!backendOnly) for (const [k, v] of Object.entries(fe)) xs.write(`${p.frontend}/${k}`, v, tx);
    for (const [k, v] of Object.entries(be)) xs.write(`${p.backend}/${k}`, v, tx);
  });
}

/**
 * xen_blkbk_probe + connect(): what the backend offers, written before InitWait so a frontend
 * that waits for InitWait finds it. No feature-max-indirect-segments, multi-queue-max-queues,
 * max-ring-page-order, feature-discard or feature-persistent: those are not implemented, and a
 * backend must not publish a feature it does not serve (blkif.h).
 */
export function publishBackend(xs: Xenstored, p: VbdPaths, sectors: number, readonly: boolean): void {
  xs.transaction((tx) => {
    xs.write(`${p.backend}/feature-flush-cache`, '1', tx);
    xs.write(`${p.backend}/feature-barrier`, '1', tx);
    xs.write(`${p.backend}/sectors`, String(sectors), tx);
    xs.write(`${p.backend}/sector-size`, String(SECTOR_SIZE), tx);
    xs.write(`${p.backend}/physical-sector-size`, String(SECTOR_SIZE), tx);
    xs.write(`${p.backend}/info`, String(readonly ? VDISK_READONLY : 0), tx);
  });
}

/** xenbus_switch_state: write our state (only if it changes). */
export function switchState(xs: Xenstored, p: VbdPaths, state: number): void {
  if (readState(xs, `${p.backend}/state`) !== state) xs.write(`${p.backend}/state`, String(state));
}

/** A state node as a number: Unknown (0) when missing or not a decimal number. */
export function readState(xs: Xenstored, path: string): number {
  const v = readQuiet(xs, path);
  return v !== undefined && /^[0-9]{1,2}$/.test(v) ? Number(v) : XenbusState.Unknown;
}

export interface FrontendRing {
  ringRef: number;
  eventChannel: number;
}

/**
 * connect_ring: the frontend's transport parameters, validated. Returns them, or the message
 * xenbus_dev_fatal would report.
 */
export function readFrontendRing(xs: Xenstored, p: VbdPaths): FrontendRing | string {
  const protocol = readQuiet(xs, `${p.frontend}/protocol`);
  // Our frontends are 32-bit: the default ("native") protocol is x86_32-abi.
  if (protocol !== undefined && protocol !== XEN_IO_PROTO_ABI_X86_32) return `unknown fe protocol ${protocol}`;
  const order = readQuiet(xs, `${p.frontend}/ring-page-order`);
  if (order !== undefined && order !== '0') return `${p.frontend}/request ${order} ring page order exceed max:0`;
  const queues = readQuiet(xs, `${p.frontend}/multi-queue-num-queues`);
  if (queues !== undefined && queues !== '1') return `guest requested ${queues} queues, exceeding the maximum of 1.`;
  const evtchn = readU32(xs, `${p.frontend}/event-channel`);
  if (evtchn === undefined) return `reading ${p.frontend}/event-channel`;
  const ringRef = readU32(xs, `${p.frontend}/ring-ref`);
  if (ringRef === undefined) return `reading ${p.frontend}/ring-ref`;
  return { ringRef, eventChannel: evtchn };
}

/**
 * xenbus_dev_fatal: report the error under dom0's error/ tree and move to Closing, so the
 * frontend sees the device give up.
 */
export function devFatal(xs: Xenstored, p: VbdPaths, errno: number, message: string): void {
  xs.write(`${p.error}/error`, `${errno} ${message}`);
  switchState(xs, p, XenbusState.Closing);
}

/** The toolstack's cleanup (libxl__device_destroy): both directories and the error node. */
export function removeNodes(xs: Xenstored, p: VbdPaths): void {
  for (const path of [p.frontend, p.backend, p.error]) rmQuiet(xs, path);
}

/** A u32 in decimal (xenbus_scanf "%u"), or undefined. */
function readU32(xs: Xenstored, path: string): number | undefined {
  const v = readQuiet(xs, path)?.trim();
  if (v === undefined || !/^[0-9]{1,10}$/.test(v)) return undefined;
  const n = Number(v);
  return n <= 0xffffffff ? n : undefined;
}

function readQuiet(xs: Xenstored, path: string): string | undefined {
  try {
    return xs.readString(path);
  } catch {
    return undefined; // EACCES and the like: as absent
  }
}

function rmQuiet(xs: Xenstored, path: string, tx = 0): void {
  try {
    xs.rm(path, tx);
  } catch {
    // already gone
  }
}
