/**
 * Live migration, the target's side (send.ts has the source's and the protocol's failure
 * rule). HELLO reserves a domain id and frames for every populated page (Clark et al.'s
 * reservation stage: a target that cannot hold the domain says so before anything is sent);
 * PAGES records are written straight into those frames while the source still runs, so the
 * stop-and-copy only adds the last dirty pages; FINAL (a save image carrying only the page
 * tables) is restored into the reserved frames as `NAME--incoming`, paused, and the target
 * answers PREPARED; COMMIT activates it under its own name (renamed, unpaused, announced on the
 * segment) and the target answers ACTIVE.
 *
 * If the stream breaks while receiving, everything reserved is released: the source's copy
 * is the domain. If it breaks once PREPARED, the paused copy stays, because the source may
 * have gone away for good; the controller decides (commit or abort, LocalHypervisor).
 */
import type { Host } from '../host.ts';
import type { Domain } from '../hv/domain.ts';
import { OutOfMemoryError } from '../mem/frames.ts';
import { m2pOf } from '../mem/m2p.ts';
import { blockDevicesOf } from '../devices/block/index.ts';
import { faultPoint } from './faults.ts';
import { restoreDomain } from './restore.ts';
import { IncomingDisks, type DiskOffer } from './disks.ts';
import { MigrationError } from './errors.ts';
import { STREAM_VERSION } from './send.ts';
import { MSG, messageName, PAGE_RECORD, parseJson, WireError, type MigrationChannel } from './wire.ts';

const MAX_VCPUS = 32;
/** A pre-copy record is due at least this often; silence beyond it ends the migration. */
const IDLE_TIMEOUT_MS = 60_000;

export interface IncomingEnv {
  /** this host's identity (a migration to itself is refused) */
  hostId: string;
  /** claim the name for this migration (false: another migration or domain has it) */
  claim(name: string, incoming: IncomingDomain): boolean;
  release(name: string, incoming: IncomingDomain): void;
}

interface Hello {
  hostId: string;
  name: string;
  pages: number;
  maxPages: number;
  vcpus: number;
  populated: Uint8Array;
  paused: boolean;
  disks: DiskOffer[];
}

export class IncomingDomain {
  state: 'receiving' | 'prepared' | 'done' = 'receiving';
  name = '';
  domid = -1;
  readonly since = Date.now();
  private frames = new Int32Array(0);
  private received = new Uint8Array(0);
  private leavePaused = false;
  private sourceHostId = '';
  private readonly disks = new IncomingDisks();
  private claimed = false;

  constructor(private readonly host: Host, private readonly ch: MigrationChannel, readonly from: string, private readonly env: IncomingEnv) {}

  /** Serve the stream to its end. Never throws: failures go back to the source as ERROR. */
  async run(): Promise<void> {
    try {
      this.reserve(checkHello(parseJson(await this.ch.expect(MSG.HELLO, IDLE_TIMEOUT_MS)), this.env.hostId));
      this.ch.sendJson(MSG.READY, { domid: this.domid, disks: this.disks.plans, lease: blockDevicesOf(this.host).leases.self });
      for (;;) {
        const m = await this.ch.next(IDLE_TIMEOUT_MS);
        if (m.type === MSG.PAGES && this.state === 'receiving') {
          faultPoint('target-in-precopy');
          this.pages(m.payload);
        }
        else if (m.type === MSG.DISK && this.state === 'receiving') this.disks.write(m.payload);
        else if (m.type === MSG.SYNC && this.state === 'receiving') this.ch.send(MSG.SYNCED);
        else if (m.type === MSG.FINAL && this.state === 'receiving') {
          this.prepare(m.payload);
          this.ch.send(MSG.PREPARED);
        } else if (m.type === MSG.COMMIT && this.state === 'prepared') {
          const d = this.activate();
          this.ch.sendJson(MSG.ACTIVE, { domid: d.id, name: d.name });
          this.ch.close();
          return;
        } else if (m.type === MSG.ABORT) {
          this.drop();
          this.ch.close();
          return;
        } else throw new WireError('PROTOCOL', `unexpected ${messageName(m.type)} while ${this.state}`);
      }
    } catch (e) {
      // An ERROR record tells the source to resume, so whatever is here goes; with no way to
      // tell it (the stream is gone), a prepared copy stays for the controller to decide.
      if (this.state === 'receiving' || (this.state === 'prepared' && !this.ch.closed)) this.drop();
      if (!this.ch.closed) {
        const code = e instanceof MigrationError ? e.code : e instanceof WireError ? 'EPROTO' : ((e as { code?: string }).code ?? 'EINTERNAL');
        try {
          this.ch.sendJson(MSG.ERROR, { code, message: e instanceof Error ? e.message : String(e) });
        } catch {
          /* gone */
        }
        this.ch.close();
      }
    }
  }

  private reserve(h: Hello): void {
    this.name = h.name;
    if (!this.env.claim(h.name, this)) throw new MigrationError('EEXIST', `a domain named "${h.name}" already exists or is arriving on this host`);
    this.claimed = true;
    let count = 0;
    for (const x of h.populated) count += x;
    if (count + 2 > this.host.frames.freeFrames) throw new MigrationError('ENOMEM', `domain "${h.name}" needs ${count} pages; this host has ${this.host.frames.freeFrames} free`);
    this.leavePaused = h.paused;
    this.sourceHostId = h.hostId;
    this.disks.accept(h.disks);
    this.domid = this.host.reserveDomid();
    this.frames = new Int32Array(h.maxPages).fill(-1);
    this.received = new Uint8Array(h.maxPages);
    const mfns = this.host.frames.allocate(this.domid, count);
    const m2p = m2pOf(this.host.mem);
    let i = 0;
    for (let pfn = 0; pfn < h.maxPages; pfn++) {
      if (!h.populated[pfn]) continue;
      const mfn = (this.frames[pfn] = mfns[i++]!);
      m2p.set(mfn, pfn); // set now, not in the downtime (restore.ts populate)
    }
  }

  private pages(payload: Buffer): void {
    if (payload.length % PAGE_RECORD !== 0) throw new WireError('PROTOCOL', 'a PAGES record is not whole pages');
    for (let o = 0; o < payload.length; o += PAGE_RECORD) {
      const pfn = payload.readUInt32LE(o);
      if (pfn >= this.frames.length) throw new WireError('PROTOCOL', `page for pfn ${pfn}, past the domain's ${this.frames.length}`);
      let mfn = this.frames[pfn]!;
      if (mfn < 0) {
        // populated on the source since HELLO (balloon): reserve it now
        try {
          mfn = this.frames[pfn] = this.host.frames.allocate(this.domid, 1)[0]!;
          m2pOf(this.host.mem).set(mfn, pfn);
        } catch (e) {
          if (e instanceof OutOfMemoryError) throw new MigrationError('ENOMEM', `out of memory for the pages of "${this.name}"`);
          throw e;
        }
      }
      const f = this.host.mem.frame(mfn);
      f.u8.set(payload.subarray(o + 4, o + PAGE_RECORD), f.base);
      this.received[pfn] = 1;
    }
  }

  private prepare(image: Buffer): void {
    this.disks.finish();
    restoreDomain(this.host, image, {
      paused: true,
      name: `${this.name}--incoming`,
      preloaded: { domid: this.domid, frames: this.frames, received: this.received, sourceHostId: this.sourceHostId },
    });
    this.state = 'prepared';
  }

  /** Activation: the domain takes its name, runs (unless it was paused), and announces itself. */
  activate(): Domain {
    const d = this.host.domain(this.domid);
    if (this.state !== 'prepared' || !d) throw new MigrationError('EINVAL', `the incoming domain "${this.name}" is not prepared`);
    this.host.rename(d.id, this.name);
    blockDevicesOf(this.host).claimLeases(d.id); // passed by the source at COMMIT, or the arbiter's decision
    this.state = 'done';
    this.releaseName();
    if (!this.leavePaused) this.host.unpause(d.id);
    this.host.net.announce(d.id);
    return d;
  }

  /** Give back everything: the restored copy if prepared, else the reservation. */
  drop(): void {
    if (this.state === 'prepared' && this.host.domain(this.domid)) this.host.destroy(this.domid);
    else if (this.domid >= 0) this.host.releaseDomid(this.domid, this.frames);
    if (this.state !== 'done') this.disks.discard();
    this.state = 'done';
    this.releaseName();
  }

  private releaseName(): void {
    if (this.claimed) this.env.release(this.name, this);
    this.claimed = false;
  }
}

function checkHello(v: Record<string, unknown>, hostId: string): Hello {
  const bad = (why: string): never => {
    throw new MigrationError('EPROTO', `HELLO: ${why}`);
  };
  if (v.version !== STREAM_VERSION) throw new MigrationError('EPROTO', `the source speaks stream version ${JSON.stringify(v.version)}, this host ${STREAM_VERSION}`);
  if (v.hostId === hostId) throw new MigrationError('EINVAL', 'the source and the target are the same host');
  const name = typeof v.name === 'string' && v.name.length > 0 && v.name.length <= 128 && !/[\0/]/.test(v.name) ? v.name : bad('name');
  const int = (x: unknown, lo: number, hi: number, what: string) => (Number.isInteger(x) && (x as number) >= lo && (x as number) <= hi ? (x as number) : bad(what));
  const maxPages = int(v.maxPages, 1, 2 ** 24, 'maxPages');
  const pages = int(v.pages, 1, maxPages, 'pages');
  const vcpus = int(v.vcpus, 1, MAX_VCPUS, 'vcpus');
  const populated = typeof v.populated === 'string' ? new Uint8Array(Buffer.from(v.populated, 'base64')) : bad('populated');
  if (populated.length !== maxPages || populated.some((x) => x > 1)) bad('populated does not map maxPages pages');
  const disks = Array.isArray(v.disks) ? v.disks : bad('disks');
  for (const x of disks) {
    if (!x || typeof x.source !== 'string' || !x.source.startsWith('/') || typeof x.target !== 'string' || typeof x.probe !== 'string' || !Number.isSafeInteger(x.sizeBytes) || x.sizeBytes < 0) bad('disk');
  }
  const source = typeof v.hostId === 'string' && v.hostId.length <= 64 ? v.hostId : bad('hostId');
  return { hostId: source, name, pages, maxPages, vcpus, populated, paused: v.paused === true, disks };
}
