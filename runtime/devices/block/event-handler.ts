/**
 * The vbd's backend driver: the XenbusState handshake with the frontend (frontend_changed in
 * Linux's drivers/block/xen-blkback/xenbus.c; the state diagrams in io/blkif.h), driven by a
 * xenstore watch on the frontend's state node, and the event channel that drives the ring
 * (wired in device.ts). Every entry point swallows its own failures: a guest can make its
 * device fail, never the host.
 *
 *   frontend state        backend does
 *   Initialising          after a Closed: reopen the image, back to InitWait (reconnect)
 *   Initialised/Connected map ring-ref, bind event-channel, Connected (unless already)
 *   Closing               unmap, unbind, Closing
 *   Closed                unmap, unbind, close the image (its lock goes), Closed
 *   gone (Unknown)        unmap, unbind, close the image
 *   anything else         xenbus_dev_fatal "saw state N at frontend"
 */
import type { Xenstored } from '../xenstore/xenstored.ts';
import { Vbd, type RingState, type VbdEnv } from './device.ts';
import type { DiskImage, DiskSpec } from './image.ts';
import type { Vdev } from './vdev.ts';
import {
  devFatal, publishBackend, readFrontendRing, readState, removeNodes, switchState, vbdPaths, writeToolstackNodes,
  XenbusState, type VbdPaths,
} from './xenbus.ts';

const EINVAL = 22;
const ENOSYS = 38;

/** Opens and closes the vbd's image together with its lock (index.ts). */
export interface ImageSlot {
  /** Open the image and take its lock; an error message if refused. */
  open(): DiskImage | string;
  close(image: DiskImage): void;
}

export interface VbdBackendEnv extends VbdEnv {
  readonly xenstored: Xenstored;
}

export class VbdBackend {
  readonly vbd: Vbd;
  readonly paths: VbdPaths;
  private unwatch: (() => void) | undefined;

  constructor(
    domid: number,
    vdev: Vdev,
    spec: DiskSpec,
    image: DiskImage,
    private readonly slot: ImageSlot,
    private readonly env: VbdBackendEnv,
  ) {
    this.paths = vbdPaths(domid, vdev.number);
    this.vbd = new Vbd(domid, vdev, spec, {
      ...env,
      log: (message) => {
        env.log(message);
        this.reportError(message); // xenbus_dev_error: visible in the store, state unchanged
      },
    });
    this.vbd.image = image;
  }

  get xs(): Xenstored {
    return this.env.xenstored;
  }

  /** The toolstack adds the device; the backend probes it: features, InitWait; watch the frontend. */
  start(): void {
    this.writeNodes(false, XenbusState.InitWait);
    this.watchFrontend();
  }

  /**
   * Resume a saved backend (persist.ts). The frontend's directory comes back with the domain's
   * store; the backend's is written again if it is missing, at the saved state. A connected
   * ring is re-attached at its saved position. Returns an error message if that failed.
   */
  resume(state: number, ring: RingState | undefined): string | undefined {
    if (readState(this.xs, `${this.paths.backend}/state`) === XenbusState.Unknown) this.writeNodes(true, state);
    const err = ring ? this.vbd.connect(ring.ringRef, ring.remotePort, ring) : undefined;
    if (err) this.fatal(EINVAL, err);
    this.watchFrontend();
    return err;
  }

  private writeNodes(backendOnly: boolean, state: number): void {
    const image = this.vbd.image!;
    const { domid, vdev } = this.vbd;
    writeToolstackNodes(this.xs, { domid, devid: vdev.number, dev: vdev.name, params: image.realPath, readonly: image.readonly }, backendOnly);
    publishBackend(this.xs, this.paths, image.sectors, image.readonly);
    switchState(this.xs, this.paths, state);
  }

  private watchFrontend(): void {
    // The watch fires once at once, as xenstored's do, so a frontend that is ahead is seen.
    this.unwatch = this.xs.watch(`${this.paths.frontend}/state`, () => this.frontendChanged());
  }

  /** The frontend's state node changed (or the watch was just set). */
  frontendChanged(): void {
    try {
      this.onFrontendState(readState(this.xs, `${this.paths.frontend}/state`));
    } catch (e) {
      this.vbd.halt(`handshake failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private onFrontendState(fe: number): void {
    const be = readState(this.xs, `${this.paths.backend}/state`);
    switch (fe) {
      case XenbusState.Initialising:
        if (be === XenbusState.Closed && this.reopen()) switchState(this.xs, this.paths, XenbusState.InitWait);
        return;
      case XenbusState.Initialised:
      case XenbusState.Connected:
        if (be === XenbusState.Connected) return; // two watch events in a row: already connected
        this.connect();
        return;
      case XenbusState.Closing:
        this.vbd.disconnect();
        switchState(this.xs, this.paths, XenbusState.Closing);
        return;
      case XenbusState.Closed:
        this.vbd.disconnect();
        this.closeImage();
        switchState(this.xs, this.paths, XenbusState.Closed);
        return;
      case XenbusState.Unknown:
        // The frontend's directory is gone (the domain is going): let go of everything.
        this.vbd.disconnect();
        this.closeImage();
        return;
      default:
        this.fatal(EINVAL, `saw state ${fe} at frontend`);
    }
  }

  /** connect_ring + connect(): map, bind, Connected; then serve whatever is already queued. */
  private connect(): void {
    if (!this.vbd.image && !this.reopen()) return;
    this.vbd.disconnect();
    const fe = readFrontendRing(this.xs, this.paths);
    if (typeof fe === 'string') return this.fatal(fe.startsWith('unknown fe protocol') ? ENOSYS : EINVAL, fe);
    const err = this.vbd.connect(fe.ringRef, fe.eventChannel);
    if (err) return this.fatal(EINVAL, err);
    switchState(this.xs, this.paths, XenbusState.Connected);
    this.vbd.handleEvent();
  }

  private reopen(): boolean {
    if (this.vbd.image) return true;
    const image = this.slot.open();
    if (typeof image === 'string') {
      this.fatal(16 /* EBUSY */, image);
      return false;
    }
    this.vbd.image = image;
    publishBackend(this.xs, this.paths, image.sectors, image.readonly);
    return true;
  }

  private closeImage(): void {
    const image = this.vbd.image;
    this.vbd.image = undefined;
    if (image) this.slot.close(image);
  }

  private fatal(errno: number, message: string): void {
    this.env.log(`vbd ${this.vbd.vdev.name} of domain ${this.vbd.domid}: ${message}`);
    try {
      devFatal(this.xs, this.paths, -errno, message);
    } catch {
      // the store refused (the domain is going): nothing more to report
    }
  }

  private reportError(message: string): void {
    try {
      this.xs.write(`${this.paths.error}/error`, `-5 ${message}`);
    } catch {
      // as above
    }
  }

  /** The device goes (domain destroyed): stop watching, unmap, unbind, release the image. */
  stop(removeFromStore = true): void {
    this.unwatch?.();
    this.unwatch = undefined;
    this.vbd.disconnect();
    this.closeImage();
    if (removeFromStore) removeNodes(this.xs, this.paths);
  }
}
