/**
 * Xenstore error names.
 *
 * Errors travel on the wire as the errno *name* (docs/misc/xenstore.txt,
 * "Error replies"), drawn from the xsd_errors table in
 * xen/include/public/io/xs_wire.h. EPERM was appended to that table in 2022;
 * any name not in the table goes out as EINVAL, as xenstored's send_error()
 * does (tools/xenstored/core.c).
 */

export const XSD_ERRORS = [
  'EINVAL', 'EACCES', 'EEXIST', 'EISDIR', 'ENOENT', 'ENOMEM', 'ENOSPC', 'EIO',
  'ENOTEMPTY', 'ENOSYS', 'EROFS', 'EBUSY', 'EAGAIN', 'EISCONN', 'E2BIG', 'EPERM',
] as const;

export type XsErrno = (typeof XSD_ERRORS)[number];

/** A failed xenstore operation; `code` is the errno name sent on the wire. */
export class XenstoreError extends Error {
  override readonly name = 'XenstoreError';
  constructor(
    readonly code: XsErrno,
    message?: string,
  ) {
    super(message ? `${code}: ${message}` : code);
  }
}

export function xsFail(code: XsErrno, message?: string): never {
  throw new XenstoreError(code, message);
}

/** The wire name for an error code (unknown names become EINVAL). */
export function wireErrorName(code: string): XsErrno {
  return (XSD_ERRORS as readonly string[]).includes(code) ? (code as XsErrno) : 'EINVAL';
}
