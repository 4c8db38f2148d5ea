/**
 * Why a disk was refused, as one clear line with a stable code (CONVENTIONS rule 4). The API
 * turns DISK_SPEC into InvalidArgumentError and the others into ImageRefusedError.
 */
export type DiskErrorCode =
  /** the disk entry itself is malformed (target, mode, sizeMiB, duplicates) */
  | 'DISK_SPEC'
  /** the image does not exist and no sizeMiB says to create it */
  | 'DISK_MISSING'
  /** the image is a directory, device, socket…, not a regular file */
  | 'DISK_NOT_FILE'
  /** another running domain holds the image in a conflicting mode */
  | 'DISK_IN_USE'
  /** the host could not open, create or stat the image */
  | 'DISK_IO';

export class DiskRefusedError extends Error {
  constructor(
    readonly code: DiskErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DiskRefusedError';
  }
}
