/**
 * The nodes a toolstack writes for a new domain, after libxl:
 * libxl__domain_make() (tools/libs/light/libxl_create.c) makes the skeleton
 * and libxl__build_post() (libxl_dom.c) fills in memory, domid, store and
 * vcpus; the console frontend comes from libxl__device_console_add().
 *
 *   /local/domain/<id>                       n0,r<id>  (dom0 owns; the guest reads)
 *     vm name domid                          inherit n0,r<id>
 *     cpu/ memory/ device/ control/          n0,r<id>
 *     control/shutdown feature-poweroff feature-reboot feature-suspend sysrq
 *     device/suspend/event-channel data drivers feature attr error
 *                                            n<id>      (the guest owns: it may write)
 *     memory/static-max target videoram (KiB)  cpu/<n>/availability  store/port ring-ref
 *     control/platform-feature-multiprocessor-suspend, -xs_reset_watches = 1
 *     console/ ring-ref port limit type      n<id>,r0  (frontend perms, backend dom0 reads)
 *   /vm/<uuid> uuid name                     n0,r<id>
 */
import type { OpContext } from './ops.ts';
import * as ops from './ops.ts';
import { domainPath } from './paths.ts';

export interface DomainLayoutInfo {
  name: string;
  /** memory/target in KiB. */
  memoryKiB: number;
  /** memory/static-max in KiB (default: memoryKiB). */
  maxMemoryKiB?: number;
  /** Number of vCPUs (cpu/<n>/availability = online). Default 1. */
  vcpus?: number;
  uuid?: string;
  /** store/port and store/ring-ref (the event channel and the store page's MFN). */
  store?: { port: number; ringRef: number };
  /** Console frontend: console/port and console/ring-ref. */
  console?: { port: number; ringRef: number };
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Writes the layout as dom0 (the context must be privileged). */
export function writeDomainLayout(ctx: OpContext, domid: number, info: DomainLayoutInfo): void {
  const dom = domainPath(domid);
  const ro = ['n0', `r${domid}`];
  const rw = [`n${domid}`];
  const mknod = (path: string, perms: string[]): void => {
    ops.write(ctx, path, new Uint8Array(0));
    ops.setPerms(ctx, path, perms);
  };
  const put = (path: string, value: string | number): void => ops.write(ctx, path, enc(String(value)));

  ops.rmQuiet(ctx, dom);
  mknod(dom, ro);
  if (info.uuid) {
    const vm = `/vm/${info.uuid}`;
    ops.rmQuiet(ctx, vm);
    mknod(vm, ro);
    put(`${vm}/uuid`, info.uuid);
    put(`${vm}/name`, info.name);
    put(`${dom}/vm`, vm);
  }
  put(`${dom}/name`, info.name);
  for (const d of ['cpu', 'memory', 'device', 'control']) mknod(`${dom}/${d}`, ro);
  for (const n of [
    'control/shutdown', 'control/feature-poweroff', 'control/feature-reboot', 'control/feature-suspend',
    'control/sysrq', 'device/suspend/event-channel', 'data', 'drivers', 'feature', 'attr', 'error',
  ]) {
    mknod(`${dom}/${n}`, rw);
  }
  put(`${dom}/control/platform-feature-multiprocessor-suspend`, 1);
  put(`${dom}/control/platform-feature-xs_reset_watches`, 1);

  // libxl__build_post()
  put(`${dom}/memory/static-max`, info.maxMemoryKiB ?? info.memoryKiB);
  put(`${dom}/memory/target`, info.memoryKiB);
  put(`${dom}/memory/videoram`, 0);
  put(`${dom}/domid`, domid);
  if (info.store) {
    put(`${dom}/store/port`, info.store.port);
    put(`${dom}/store/ring-ref`, info.store.ringRef);
  }
  for (let i = 0; i < (info.vcpus ?? 1); i++) put(`${dom}/cpu/${i}/availability`, 'online');

  if (info.console) {
    const con = `${dom}/console`;
    mknod(con, [`n${domid}`, 'r0']);
    put(`${con}/ring-ref`, info.console.ringRef);
    put(`${con}/port`, info.console.port);
    put(`${con}/limit`, 1048576); // LIBXL_XENCONSOLE_LIMIT
    put(`${con}/type`, 'xenconsoled');
  }
}
