import { describe, expect, it } from 'vitest';
import { parseDiskSpec } from './disk.ts';

const ok = (spec: string) => {
  const r = parseDiskSpec(spec);
  if (!r.ok) throw new Error(r.message);
  const { target, format, vdev, readwrite, cdrom } = r.disk;
  return { target, format, vdev, readwrite, cdrom };
};

describe('xl disk specs (xl-disk-configuration(5))', () => {
  it('reads the equivalent forms of the man page alike', () => {
    const want = { target: '/dev/vg/guest-volume', format: 'raw', vdev: 'hda', readwrite: true, cdrom: false };
    expect(ok('/dev/vg/guest-volume,,hda')).toEqual(want);
    expect(ok('/dev/vg/guest-volume,raw,hda,rw')).toEqual(want);
    expect(ok('format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume')).toEqual(want);
    expect(ok('raw:/dev/vg/guest-volume,hda,w')).toEqual(want);
  });

  it('reads the cdrom forms', () => {
    const want = { target: '/root/image.iso', format: 'raw', vdev: 'hdc', readwrite: false, cdrom: true };
    expect(ok('/root/image.iso,,hdc,cdrom')).toEqual(want);
    expect(ok('/root/image.iso,,hdc,,cdrom')).toEqual(want);
    expect(ok('/root/image.iso,raw,hdc,devtype=cdrom')).toEqual(want);
    expect(ok('format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso')).toEqual(want);
    expect(ok('raw:/root/image.iso,hdc:cdrom,ro')).toEqual(want);
    expect(ok(',hdc:cdrom,r')).toMatchObject({ target: '', vdev: 'hdc', cdrom: true, format: 'empty' });
  });

  it('ignores the deprecated prefixes phy:, file:, tap:aio:', () => {
    expect(ok('phy:/dev/x,xvda,w')).toMatchObject({ target: '/dev/x', vdev: 'xvda', readwrite: true });
    expect(ok('file:/img/a.img,xvdb,r')).toMatchObject({ target: '/img/a.img', vdev: 'xvdb', readwrite: false });
    expect(ok('tap:aio:/img/a.img,xvdc,w')).toMatchObject({ target: '/img/a.img', vdev: 'xvdc' });
  });

  it('lets target= carry commas and take the rest of the spec', () => {
    expect(ok('vdev=xvda, target=/a,b:c.img')).toMatchObject({ target: '/a,b:c.img', vdev: 'xvda' });
  });

  it('refuses what libxlu refuses', () => {
    const bad = (spec: string) => { const r = parseDiskSpec(spec); return r.ok ? 'ok' : r.message; };
    expect(bad('/dev/x,xvda,w')).toBe("unknown value for format: near `xvda'");
    expect(bad('/x,raw,xvda,rw,more')).toBe("too many positional parameters: near `more'");
    expect(bad('/x,raw')).toBe('no vdev specified');
    expect(bad('vdev=xvda')).toBe('no target specified (and device not removable)');
    expect(bad('foo:/x,xvda')).toBe("unknown deprecated disk prefix: near `foo:/x,xvda'");
    expect(bad('/x,,xvda,rwx')).toBe("unknown value for access: near `rwx'");
    expect(bad('colour=red,/x,,xvda')).toBe("unknown parameter: near `colour=red,'");
    expect(bad('/x,,xvda:floppy')).toBe("unknown deprecated type: near `xvda:floppy'");
  });
});
