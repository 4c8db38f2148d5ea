// LocalHypervisor.save/restore on files: a failed write leaves the domain running and no file;
// a checkpoint keeps it; a missing, oversized or foreign file is refused as IMAGE.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HypervisorError, LocalHypervisor } from '../api.ts';
import { testGuest } from '../api.test-guests.ts';
import { restoreFromFile } from './files.ts';

const dir = mkdtempSync(join(tmpdir(), 'xf-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(HypervisorError);
    return (e as HypervisorError).code;
  }
  return 'OK';
}

describe('save and restore files', () => {
  it('a save that cannot be written keeps the domain running; a checkpoint keeps it too', async () => {
    const hv = LocalHypervisor.create({ clock: 'virtual', memoryBytes: 128 * 2 ** 20 });
    const d = await hv.create({ name: 'f', kernel: testGuest('f\n', 'block'), memoryMiB: 4 });
    expect(await code(hv.save(d.domid, join(dir, 'no-such-dir', 'x.save')))).toBe('EINVAL');
    expect(hv.host.domain(d.domid)?.paused).toBe(false);
    expect(await code(hv.save(d.domid, ''))).toBe('EINVAL');
    expect(await code(hv.save(999, join(dir, 'y.save')))).toBe('ENOENT');
    await hv.save(d.domid, join(dir, 'c.save'), { checkpoint: true });
    expect(hv.host.domain(d.domid)?.paused).toBe(false);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(dir, 'c.save'))).toBe(true);
    expect(await code(hv.restore(join(dir, 'c.save')))).toBe('EEXIST');
    await hv.destroy(d.domid);
    expect((await hv.restore(join(dir, 'c.save'))).name).toBe('f');
    await hv.close();
  });

  it('refuses a missing, foreign or oversized file as IMAGE', async () => {
    const hv = LocalHypervisor.create({ clock: 'virtual', memoryBytes: 128 * 2 ** 20 });
    expect(await code(hv.restore(join(dir, 'absent.save')))).toBe('IMAGE');
    writeFileSync(join(dir, 'foreign.save'), 'hello');
    expect(await code(hv.restore(join(dir, 'foreign.save')))).toBe('IMAGE');
    writeFileSync(join(dir, 'big.save'), new Uint8Array(4096));
    expect(await code(restoreFromFile(hv.host, join(dir, 'big.save'), { maxBytes: 100 }))).toBe('IMAGE');
    await hv.close();
  });
});
