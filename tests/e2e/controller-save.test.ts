// e2e: xenoform save / restore through the controller (xl save / xl restore; ../shared/DESIGN.md
// §3, §4) with real processes — the CLI, `xenoform up`, the host — and a real ticker guest: a
// saved Always domain stays down (the `saved` intent), its restore continues the tick sequence
// exactly and is managed again as the same Domain; --checkpoint keeps it running; bad files give
// one clear line and exit 1.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cond, manifest, waitFor, World } from './controller-harness.ts';

let w: World;
beforeEach(() => { w = new World(); });
afterEach(async () => { await w.cleanup(); });

const running = (d: { status?: { phase?: string } } | undefined) => d?.status?.phase === 'Running';
const ticks = (text: string) => [...text.matchAll(/^tick (\d+)$/gm)].map((m) => Number(m[1]));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function tickerRows(): Promise<string[]> {
  return (await w.cli(['list'])).stdout.split('\n').filter((l) => /^ticker\s/.test(l));
}

describe('xenoform save / restore', () => {
  it('save parks an Always domain (not restarted); restore continues its ticks as the same Domain; --checkpoint keeps it running; bad files exit 1', async () => {
    w.write('t.yaml', manifest('ticker', 'ticker.elf'));
    await w.startUp();
    const d0 = await w.waitDomain('ticker', running);
    await waitFor(async () => ticks((await w.cli(['logs', 'ticker'])).stdout).length >= 2, 20_000, () => 'the ticker never ticked twice');

    // save: FILE relative to the CLI's current directory (w.dir), as xl does
    const saved = await w.cli(['save', 'ticker', 't.save']);
    expect(saved.stderr).toBe('');
    expect(saved.code).toBe(0);
    const file = join(w.dir, 't.save');
    expect(saved.stdout).toContain(`saved to ${file}`);
    expect(existsSync(file)).toBe(true);
    expect(await tickerRows()).toEqual([]);
    // several reconcile passes later (timers 100× faster: a minute of controller time), still down
    await sleep(1500);
    await w.cli(['get', 'domains']);
    expect(await tickerRows()).toEqual([]);
    const parked = await w.domain('ticker');
    expect(parked?.status).toMatchObject({ phase: 'Stopped', intent: 'saved' });
    expect(parked?.status?.domid).toBeUndefined();
    expect(cond(parked, 'Saved')).toMatchObject({ status: 'True', reason: 'SavedToFile' });
    expect(cond(parked, 'Saved')?.message).toContain(file);
    const desc = (await w.cli(['describe', 'domain', 'ticker'])).stdout;
    expect(desc).toMatch(/Intent:\s+saved/);
    expect(desc).toMatch(/Saved\s+True\s+SavedToFile/);
    expect((await w.cli(['events', 'ticker'])).stdout).toMatch(/Saved\s+domain\/ticker\s+domain \d+ saved to /);
    const before = ticks((await w.cli(['logs', 'ticker'])).stdout);
    const last = before[before.length - 1]!;
    expect(last).toBeGreaterThanOrEqual(2);

    // restore: the same Domain takes it back; the tick sequence continues exactly
    const restored = await w.cli(['restore', 't.save']);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(restored.stdout).toMatch(new RegExp(`^Domain ticker restored from ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(domid \\d+\\)`));
    const d1 = await w.waitDomain('ticker', (d) => running(d) && d!.status!.domid !== undefined && d!.status!.domid !== d0?.status?.domid);
    expect(d1?.status?.intent).toBeUndefined();
    expect(d1?.status?.restarts).toBe(0);
    expect(cond(d1, 'Saved')?.status).toBe('False');
    // the console's history comes back with the domain: one sequence, on past the last tick
    await waitFor(async () => ticks((await w.cli(['logs', 'ticker'])).stdout).length > before.length, 20_000, () => 'the restored ticker never ticked');
    const after = ticks((await w.cli(['logs', 'ticker'])).stdout);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after[before.length]).toBe(last + 1);
    expect((await w.cli(['logs', 'ticker'])).stdout.match(/ticker: ready/g)).toHaveLength(1); // not a reboot
    expect(await tickerRows()).toHaveLength(1);
    expect((await w.cli(['events', 'ticker'])).stdout).toMatch(/Restored\s+domain\/ticker\s+domain ticker restored from /);

    // --checkpoint: the image is written, the same domain keeps running
    const cp = await w.cli(['save', 'ticker', 'c.save', '--checkpoint']);
    expect(cp.code).toBe(0);
    expect(cp.stdout).toMatch(/keeps running/);
    expect(existsSync(join(w.dir, 'c.save'))).toBe(true);
    const d2 = await w.domain('ticker');
    expect(d2?.status).toMatchObject({ phase: 'Running', domid: d1?.status?.domid });
    expect(d2?.status?.intent).toBeUndefined();

    // bad files: one clear line, exit 1; the domain is untouched
    const badSave = await w.cli(['save', 'ticker', join(w.dir, 'no-such-dir', 'x.save')]);
    expect(badSave.code).toBe(1);
    expect(badSave.stderr.trim().split('\n')).toHaveLength(1);
    expect(badSave.stderr).toMatch(/^error: cannot save Domain ticker to .*no-such-dir\/x\.save: /);
    const badRestore = await w.cli(['restore', 'nope.save']);
    expect(badRestore.code).toBe(1);
    expect(badRestore.stderr.trim().split('\n')).toHaveLength(1);
    expect(badRestore.stderr).toMatch(/^error: cannot restore .*nope\.save: /);
    const taken = await w.cli(['restore', 'c.save']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/^error: cannot restore .*c\.save: .*already exists/);
    expect((await w.domain('ticker'))?.status).toMatchObject({ phase: 'Running', domid: d1?.status?.domid });
    expect(await tickerRows()).toHaveLength(1);
    // usage errors exit 2
    expect((await w.cli(['save', 'ticker'])).code).toBe(2);
    expect((await w.cli(['restore'])).code).toBe(2);
  });

  it('start on a saved Domain restores it; an image with no manifest restores unmanaged', async () => {
    w.write('t.yaml', manifest('ticker', 'ticker.elf'));
    await w.startUp();
    const d0 = await w.waitDomain('ticker', running);
    expect((await w.cli(['save', 'ticker', 's.save'])).code).toBe(0);
    const start = await w.cli(['start', 'ticker', '-w']);
    expect(start.code).toBe(0);
    expect(start.stdout).toMatch(/will be restored from .*s\.save/);
    const d1 = await w.waitDomain('ticker', (d) => running(d) && d!.status!.domid !== d0?.status?.domid);
    expect(d1?.status?.intent).toBeUndefined();
    const ev = (await w.cli(['events', 'ticker'])).stdout;
    expect(ev).toMatch(/Restoring/);
    expect(ev).toMatch(/Restored/);
    expect(ev).not.toMatch(/Started\s+domain\/ticker\s+started domain ticker \(domid \d+\), restart/);

    // no manifest for the image's name: it runs unmanaged, and the output says so
    expect((await w.cli(['save', 'ticker', 'u.save', '--checkpoint'])).code).toBe(0);
    w.remove('t.yaml');
    await w.waitDomain('ticker', (d) => d === undefined);
    const r = await w.cli(['restore', 'u.save']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no Domain manifest declares "ticker", so it runs unmanaged/);
    expect(await tickerRows()).toHaveLength(1);
    await sleep(500);
    expect(await tickerRows()).toHaveLength(1);
    expect(await w.domain('ticker')).toBeUndefined();
  });
});
