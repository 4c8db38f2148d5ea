/**
 * Live migration, the source's side (Clark et al., "Live Migration of Virtual Machines", NSDI
 * 2005; ../shared/xen-abi.md §10): reservation on the target, iterative pre-copy of the pages
 * the guest dirties while it keeps running (MachineMemory's dirty log), stop-and-copy of what
 * is left plus the domain's whole non-memory state, then a two-step commitment — the target
 * says PREPARED (it holds a complete, restored, paused copy), the source says COMMIT, the
 * target activates and says ACTIVE, and only then is the source's copy destroyed.
 *
 * Failure rule: until the source has sent its final state, the source's copy is the domain —
 * any error resumes it untouched and the target drops what it received. Once FINAL has gone
 * out, the target may hold a complete copy (and after COMMIT may run it), so the source never
 * resumes on its own: its copy is left paused and the error says so, and the controller, which
 * sees both hosts, decides (controller/migrations/arbiter.ts). A frozen copy cannot run behind
 * anyone's back, which is what lets the arbiter activate the target's copy when the source's
 * host cannot be reached.
 */
import { performance } from 'node:perf_hooks';
import type { Host } from '../host.ts';
import type { Domain } from '../hv/domain.ts';
import type { MigrateOptions, MigrationPhase, MigrationProgress, MigrationResult } from '../api.ts';
import { blockDevicesOf } from '../devices/block/index.ts';
import { OutgoingDisks } from './disks.ts';
import { MigrationError } from './errors.ts';
import { faultPoint } from './faults.ts';
import { snapshotDomain } from './save.ts';
import { MSG, PAGE_RECORD, parseJson, peerError, WireError, type MigrationChannel } from './wire.ts';

export const STREAM_VERSION = 1;
/** Pages per PAGES record (256 KiB). */
const BATCH = 64;
/** How long one turn of the event loop may spend sending before the guests run again. */
const TURN_MS = 8;
/** Adaptive rate (xc_domain_save): next round = last round's dirtying rate + 50 Mbit/s, capped. */
const RATE_INCREMENT_MIBPS = 50 / 8;
const ANSWER_TIMEOUT_MS = 30_000;

export { MigrationError } from './errors.ts';

/** Domains being migrated away right now (a second save or migrate of one is refused). */
export const outgoing = new WeakSet<Domain>();

interface Plan {
  maxRounds: number;
  minDirty: number;
  capMiBps: number;
}

const yieldToGuests = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Migrate `domid` over an open channel to a target host agent. */
export async function migrateOut(host: Host, domid: number, ch: MigrationChannel, opts: MigrateOptions & { hostId: string }): Promise<MigrationResult> {
  const d = host.domain(domid);
  if (!d || d.dying) throw new MigrationError('ENOENT', `no domain with id ${domid}`);
  if (d.isShutdown) throw new MigrationError('EINVAL', `domain ${domid} (${d.name}) has shut down; there is nothing to migrate`);
  if (outgoing.has(d)) throw new MigrationError('EBUSY', `domain ${domid} (${d.name}) is already being migrated`);
  const plan: Plan = {
    maxRounds: Math.max(1, Math.floor(opts.maxRounds ?? 30)),
    minDirty: Math.max(0, Math.floor(opts.minDirtyPages ?? 50)),
    capMiBps: opts.maxRateMiBps && opts.maxRateMiBps > 0 ? opts.maxRateMiBps : 0,
  };
  const t0 = performance.now();
  const p: MigrationProgress = { phase: 'reserving', round: 0, pagesSent: 0, pagesDirty: 0, dirtyRatePps: 0, diskBytesSent: 0, elapsedMs: 0 };
  const report = (phase: MigrationPhase) => {
    p.phase = phase;
    p.elapsedMs = Math.round(performance.now() - t0);
    opts.onProgress?.({ ...p });
  };

  outgoing.add(d);
  const disks = new OutgoingDisks(host, d);
  let logging = false;
  let pausedAt = 0;
  let finalSent = false;
  try {
    // Stage 0, reservation: the target checks the name and memory and reserves frames.
    const populated = new Uint8Array(d.maxPages);
    for (let pfn = 0; pfn < d.maxPages; pfn++) if (d.p2m[pfn]! >= 0) populated[pfn] = 1;
    report('reserving');
    const offers = disks.offer();
    ch.sendJson(MSG.HELLO, {
      version: STREAM_VERSION, hostId: opts.hostId, name: d.name, pages: d.currentPages, maxPages: d.maxPages,
      vcpus: d.vcpus.length, weight: d.weight, cap: d.cap, paused: opts.paused === true || d.pauseCount > 0, populated: Buffer.from(populated).toString('base64'),
      disks: offers,
    });
    const ready = parseJson(await ch.expect(MSG.READY, ANSWER_TIMEOUT_MS));
    disks.removeProbes();
    disks.start(ready.disks ?? []);

    // Stage 1, iterative pre-copy while the guest runs.
    host.mem.beginDirtyLog();
    logging = true;
    takeDirty(host, d); // forget writes from before this migration
    const sent = new Int32Array(d.maxPages).fill(-1); // the mfn each pfn was last sent from
    let toSend: number[] = [];
    for (let pfn = 0; pfn < d.maxPages; pfn++) {
      const mfn = d.p2m[pfn]!;
      if (mfn >= 0 && host.mem.isBacked(mfn)) toSend.push(pfn);
    }
    let rateMiBps = plan.capMiBps ? Math.min(plan.capMiBps, 100 / 8) : 0; // START_MBIT_RATE 100
    let prevDirty = Infinity;
    for (;;) {
      p.round++;
      report('precopy');
      const roundStart = performance.now();
      const pace = new Pacer(ch, rateMiBps, true); // one budget for the round's disk chunks and pages
      if (disks.copying) await sendDiskChunks(ch, disks, p.round === 1, p, pace);
      await sendPages(host, d, ch, toSend, sent, p, pace, true);
      if (d.dying || d.isShutdown) throw new MigrationError('EINVAL', `domain ${d.name} shut down during the migration`);
      const secs = Math.max(1e-3, (performance.now() - roundStart) / 1000);
      const dirty = takeDirty(host, d);
      const marked = new Uint8Array(d.maxPages);
      for (const pfn of dirty) marked[pfn] = 1;
      for (let pfn = 0; pfn < d.maxPages; pfn++) {
        const mfn = d.p2m[pfn]!;
        if (mfn >= 0 && sent[pfn] !== -1 && sent[pfn] !== mfn && !marked[pfn]) dirty.push(pfn); // re-populated since
      }
      p.pagesDirty = dirty.length;
      p.dirtyRatePps = Math.round(dirty.length / secs);
      toSend = dirty;
      // The writable-working-set stop rule: few pages left, no progress, rounds or volume spent.
      const stop = dirty.length + disks.pending < plan.minDirty || p.round >= plan.maxRounds || dirty.length >= prevDirty * 0.9 ||
        p.pagesSent > 3 * d.currentPages;
      report('precopy');
      if (stop) break;
      prevDirty = dirty.length;
      if (plan.capMiBps) rateMiBps = Math.min(plan.capMiBps, (p.dirtyRatePps * 4096) / 2 ** 20 + RATE_INCREMENT_MIBPS);
    }

    // Everything so far arrived and was taken (a failure in pre-copy shows up here, while the
    // guest still runs and before anything that could leave two copies is sent).
    ch.send(MSG.SYNC);
    await ch.expect(MSG.SYNCED, ANSWER_TIMEOUT_MS);

    // Stage 2, stop-and-copy: the guest stops; what it dirtied since goes, then its state.
    d.pause();
    pausedAt = performance.now();
    report('stopcopy');
    const rest = new Set(toSend);
    for (const pfn of takeDirty(host, d)) rest.add(pfn);
    const flat = new Pacer(ch, 0, false); // the guest is stopped: as fast as the socket takes it
    await sendPages(host, d, ch, [...rest], sent, p, flat, false);
    if (disks.copying) await sendDiskChunks(ch, disks, false, p, flat);
    const image = snapshotDomain(host, d, { pages: 'tables' });
    host.mem.endDirtyLog();
    logging = false;
    ch.send(MSG.FINAL, image);
    finalSent = true;
    await ch.drained();

    // Stage 3, commitment: the target holds a consistent copy; then activation there.
    await ch.expect(MSG.PREPARED, ANSWER_TIMEOUT_MS);
    faultPoint('source-after-prepared');
    report('activating');
    // the writable images' leases pass to the target, then it may activate
    const lease = ready.lease as { hostId?: unknown; hostname?: unknown; pid?: unknown } | undefined;
    if (lease && typeof lease.hostId === 'string' && typeof lease.hostname === 'string' && Number.isInteger(lease.pid)) {
      blockDevicesOf(host).passLeases(d.id, { hostId: lease.hostId, hostname: lease.hostname, pid: lease.pid as number });
    }
    ch.send(MSG.COMMIT);
    const active = parseJson(await ch.expect(MSG.ACTIVE, ANSWER_TIMEOUT_MS));
    const downtimeMs = performance.now() - pausedAt;
    host.destroy(d.id);
    ch.close();
    return {
      domid: Number(active.domid), name: d.name, rounds: p.round, pagesSent: p.pagesSent, bytesSent: ch.bytesSent,
      downtimeMs: round2(downtimeMs), totalMs: round2(performance.now() - t0), disks: disks.mode,
    };
  } catch (e) {
    if (logging) host.mem.endDirtyLog();
    if (!ch.closed) {
      try {
        ch.sendJson(MSG.ABORT, { message: e instanceof Error ? e.message : String(e) });
      } catch {
        /* the connection is gone */
      }
      ch.close();
    }
    const why = e instanceof Error ? e.message : String(e);
    // The target said it failed (an ERROR record): it dropped everything, so resuming is safe.
    const targetDropped = (e as { fromPeer?: boolean }).fromPeer === true;
    if (finalSent && !targetDropped && !d.dying) {
      // The target may hold the whole state (or, after COMMIT, run it): resuming here could
      // make two copies. Left paused; the controller, which sees both hosts, decides.
      throw new MigrationError('EPROTO', `migration of ${d.name}: ${why}; the target may have its final state, so it is left paused here for the controller to decide (commit or abort the target's incoming copy)`);
    }
    if (pausedAt && !d.dying) {
      d.unpause();
      host.net.announce(d.id); // the target's prepared copy may have drawn its MAC away
    }
    if (e instanceof MigrationError) throw e;
    const code = (e as { code?: unknown }).code;
    throw new MigrationError(
      e instanceof WireError ? (e.code === 'TIMEOUT' ? 'ETIMEDOUT' : 'EPROTO') : typeof code === 'string' ? code : 'EINTERNAL',
      `migration of ${d.name} failed, and it keeps running here: ${why}`,
    );
  } finally {
    disks.removeProbes();
    disks.stop();
    outgoing.delete(d);
  }
}

/** The domain's pfns whose frames were written since the last call (and reset those bits). */
function takeDirty(host: Host, d: Domain): number[] {
  const pfns: number[] = [];
  const mfns: number[] = [];
  for (let pfn = 0; pfn < d.maxPages; pfn++) {
    const mfn = d.p2m[pfn]!;
    if (mfn >= 0 && host.mem.isDirty(mfn)) {
      pfns.push(pfn);
      mfns.push(mfn);
    }
  }
  host.mem.collectDirty(mfns);
  return pfns;
}

/**
 * What every record sent in pre-copy goes through: an ERROR from the target ends the send, the
 * socket's back-pressure and the rate cap (if any) pace it, and in a live round the guests get
 * the event loop back every TURN_MS.
 */
class Pacer {
  private readonly startedAt = performance.now();
  private bytes = 0;
  private turn = performance.now();

  constructor(private readonly ch: MigrationChannel, private readonly rateMiBps: number, private readonly live: boolean) {}

  async sent(full: boolean, bytes: number): Promise<void> {
    const early = this.ch.poll();
    if (early) throw early.type === MSG.ERROR ? peerError(early) : new WireError('PROTOCOL', 'unexpected record from the target during pre-copy');
    if (!full) await this.ch.drained();
    this.bytes += bytes;
    if (this.rateMiBps > 0) {
      const wait = this.startedAt + (this.bytes / (this.rateMiBps * 2 ** 20)) * 1000 - performance.now();
      if (wait > 1) await sleep(wait);
    }
    if (this.live && performance.now() - this.turn > TURN_MS) {
      await yieldToGuests();
      this.turn = performance.now();
    }
  }
}

/** Send the disks' dirty chunks as DISK records (block migration), paced like the pages. */
async function sendDiskChunks(ch: MigrationChannel, disks: OutgoingDisks, first: boolean, p: MigrationProgress, pace: Pacer): Promise<void> {
  for (const rec of disks.records(first)) {
    const full = ch.send(MSG.DISK, rec);
    p.diskBytesSent = disks.bytesSent;
    await pace.sent(full, rec.length);
  }
}

/**
 * Send pages in PAGES records. In a live round, a page dirtied again since the round began is
 * skipped: the next round sends it anyway (Clark et al. §5.1).
 */
async function sendPages(host: Host, d: Domain, ch: MigrationChannel, pfns: number[], sent: Int32Array, p: MigrationProgress, pace: Pacer, live: boolean): Promise<void> {
  const buf = Buffer.alloc(BATCH * PAGE_RECORD);
  for (let i = 0; i < pfns.length;) {
    let n = 0;
    for (; i < pfns.length && n < BATCH; i++) {
      const pfn = pfns[i]!;
      const mfn = d.p2m[pfn]!;
      if (mfn < 0) continue; // ballooned out: the final p2m says so
      if (live && host.mem.isDirty(mfn)) continue;
      const o = n++ * PAGE_RECORD;
      buf.writeUInt32LE(pfn, o);
      if (host.mem.isBacked(mfn)) {
        const f = host.mem.frame(mfn);
        buf.set(f.u8.subarray(f.base, f.base + 4096), o + 4);
      } else buf.fill(0, o + 4, o + PAGE_RECORD);
      sent[pfn] = mfn;
    }
    if (n === 0) continue;
    const full = ch.send(MSG.PAGES, buf.subarray(0, n * PAGE_RECORD));
    p.pagesSent += n;
    await pace.sent(full, n * PAGE_RECORD);
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;
