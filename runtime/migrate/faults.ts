/**
 * Fault injection for the migration tests that kill real host processes at an exact point of
 * the protocol (tests/e2e/migrate.test.ts): `XENOFORM_FAULT_INJECT=<point>[,<point>…]` in a
 * host's environment makes that host SIGKILL itself when it reaches the point — a power cut
 * at a known instant, which no outside timing could hit. Unset (always, outside tests), a
 * point costs one environment lookup.
 *
 * Points: source-after-prepared (the source has the target's PREPARED, has not sent COMMIT);
 * target-in-precopy (the target has taken its first PAGES record).
 */
export type FaultPoint = 'source-after-prepared' | 'target-in-precopy';

export function faultPoint(point: FaultPoint): void {
  const armed = process.env.XENOFORM_FAULT_INJECT;
  if (armed && armed.split(',').includes(point)) process.kill(process.pid, 'SIGKILL');
}
