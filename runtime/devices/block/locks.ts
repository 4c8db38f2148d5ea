/**
 * Who holds which image on this host, keyed by the image's realpath (so two names for one
 * file are one image). DESIGN §3: no two running domains open the same writable image. As
 * Xen's block hotplug script does (check_sharing in tools/hotplug/Linux/block), a writable
 * open needs the image to be free, and a read-only open needs it to have no writer; read-only
 * opens share.
 */
import { DiskRefusedError } from './errors.ts';
import type { DiskMode } from './image.ts';

export interface Holder {
  domid: number;
  name: string;
  target: string;
  mode: DiskMode;
}

export class ImageLocks {
  private readonly held = new Map<string, Holder[]>();

  /** Take the image for `who`, or throw DISK_IN_USE naming the domain in the way. */
  acquire(realPath: string, who: Holder, source: string): void {
    const holders = this.held.get(realPath) ?? [];
    const clash = holders.find((h) => who.mode === 'rw' || h.mode === 'rw');
    if (clash) {
      const theirs = clash.mode === 'rw' ? 'writable' : 'read-only';
      throw new DiskRefusedError(
        'DISK_IN_USE',
        `disk ${who.target}: image ${source} is already open ${theirs} by domain ${clash.domid} (${clash.name}, ${clash.target}); ` +
          (who.mode === 'rw' && clash.mode === 'rw' ? 'a writable image belongs to one domain at a time' : 'an image cannot be shared while a domain writes it'),
      );
    }
    holders.push(who);
    this.held.set(realPath, holders);
  }

  release(realPath: string, domid: number, target: string): void {
    const holders = (this.held.get(realPath) ?? []).filter((h) => !(h.domid === domid && h.target === target));
    if (holders.length) this.held.set(realPath, holders);
    else this.held.delete(realPath);
  }

  holders(realPath: string): readonly Holder[] {
    return this.held.get(realPath) ?? [];
  }
}
