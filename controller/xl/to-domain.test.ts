import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, XlConfigError } from '../errors.ts';
import { parseMac, toDns1123, xlTextToDomain } from './index.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../../tests/fixtures/xl/${name}`, import.meta.url));

function refused(text: string, args: string[] = []): string[] {
  try {
    xlTextToDomain(text, 'c.cfg', args);
  } catch (e) {
    if (e instanceof XlConfigError) return e.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    throw e;
  }
  throw new Error('not refused');
}

describe('xl config → Domain', () => {
  it('maps the issue\'s example config', () => {
    const { domain, warnings } = xlTextToDomain("kernel = 'guests/build/hello.elf'\nmemory = 32\nvcpus = 1\nname = 'hello'\n", 'hello.cfg');
    expect(domain).toEqual({ apiVersion: 'xenoform.dev/v1alpha1', kind: 'Domain', metadata: { name: 'hello' }, spec: { kernel: 'guests/build/hello.elf', memory: 32, vcpus: 1 } });
    expect(warnings).toEqual([]);
  });

  it('maps a full config and warns, with lines, about keys it has no field for', () => {
    const file = fixture('web.cfg');
    const { domain, warnings } = xlTextToDomain(readFileSync(file, 'utf8'), 'web.cfg', ['vmid=3']);
    expect(domain.spec).toEqual({
      kernel: 'guests/build/ticker.elf', cmdline: 'root=/dev/xvda1 ro console=hvc0 xencons=tty',
      memory: 64, maxMemory: 128, vcpus: 2, maxVcpus: 4, cpuWeight: 512, cpuCap: 50,
      onPoweroff: 'destroy', onReboot: 'restart', onCrash: 'preserve', onWatchdog: 'coredump-restart',
      disks: [{ source: '/dev/vg0/web-root', target: 'xvda', mode: 'rw' }, { source: 'data/web-static.img', target: 'xvdb', mode: 'ro' }],
      interfaces: [{ mac: '00:16:3e:00:00:01' }, {}],
    });
    expect(warnings.map(formatDiagnostic)).toEqual([
      "web.cfg:16:10: warning: vif `mac=00:16:3e:00:00:01,bridge=xenbr0': bridge=xenbr0 ignored (the segment is Xenoform's own)",
      "web.cfg:24:1: warning: `vnc' has no Domain field; ignored",
      "web.cfg:25:1: warning: `serial' has no Domain field; ignored",
      "web.cfg <argument 1: vmid=3>:1:1: warning: `vmid' has no Domain field; ignored",
    ]);
  });

  it('applies KEY=VALUE arguments as extra lines, after the file', () => {
    const { domain } = xlTextToDomain("name='a'\nkernel='k'\nmemory=32\n", 'c.cfg', ['memory=48', "cmdline='quiet'"]);
    expect(domain.spec).toMatchObject({ memory: 48, cmdline: 'quiet' });
  });

  it('follows xl\'s cmdline precedence', () => {
    const cmd = (lines: string) => xlTextToDomain(`name='a'\nkernel='k'\n${lines}`, 'c.cfg').domain.spec.cmdline;
    expect(cmd("root='/dev/xvda1'\nextra='quiet'\n")).toBe('root=/dev/xvda1 quiet');
    expect(cmd("root='/dev/xvda1'\n")).toBe('root=/dev/xvda1');
    expect(cmd("extra='quiet'\n")).toBe('quiet');
    expect(cmd("cmdline='x'\nroot='/dev/xvda1'\n")).toBe('x');
  });

  it('refuses bad values with their line', () => {
    expect(refused("name='a'\nkernel='k'\nmemory='lots'\n")).toEqual(["c.cfg:3:1: parameter `memory' is not a valid number"]);
    expect(refused("name='a'\nkernel='k'\nmemory=32\nmemory+=1\n")).toEqual(["c.cfg:4:1: can't use += with numbers for parameter `memory'"]);
    expect(refused("name='a'\nkernel='k'\non_crash='explode'\n")).toEqual(['c.cfg:3:1: Unknown on_crash action "explode" specified']);
    expect(refused("name='a'\nkernel='k'\ncpu_weight=0\n")).toEqual(['c.cfg:3:1: cpu_weight: spec.cpuWeight must be >= 1']);
    expect(refused("name='a'\nkernel='k'\nmemory=64\nmaxmem=32\n")).toEqual(['c.cfg:3:1: memory: memory 64 MiB is more than maxMemory 32 MiB']);
    expect(refused("name='a'\nkernel='k'\ntype='hvm'\n")).toEqual(["c.cfg:3:1: type `hvm' is not supported: Xenoform runs PV guests only"]);
    expect(refused("name='a'\nkernel='k'\nvcpus=['1']\n")).toEqual(["c.cfg:3:1: parameter `vcpus' is a list but should be a single value"]);
    expect(refused("name='a'\nkernel='k'\ndisk='/x,,xvda'\n")).toEqual(["c.cfg:3:1: parameter `disk' is a single value but should be a list"]);
    expect(refused("name='a'\nkernel='k'\nvif=['colour=blue']\n")).toEqual(["c.cfg:3:6: unrecognized argument `colour=blue' in vif `colour=blue'"]);
    expect(refused("kernel='k'\n")).toEqual(['c.cfg: Domain name must be specified.']);
    expect(refused("name='a'\n")).toEqual(['c.cfg: kernel must be specified (Xenoform boots PV kernels directly)']);
  });

  it('refuses syntax errors with file:line:col, in the file or in an argument', () => {
    expect(refused("name = 'a'\nmemory = = 3\n")).toEqual(["c.cfg:2:10: config parsing error near `=': syntax error, unexpected '=', expecting STRING or NUMBER or '['"]);
    expect(refused("name='a'\nkernel='k'\n", ['memory=['])[0]).toMatch(/^c\.cfg <argument 1: memory=\[>:1:\d+: config parsing error/);
  });

  it('normalizes names and MACs as xl reads them', () => {
    expect(toDns1123('Web_Server.01')).toBe('web-server-01');
    expect(parseMac('00:16:3E:1:2:3')).toBe('00:16:3e:01:02:03');
    expect(parseMac('00-16-3e-01-02-03')).toBe('00:16:3e:01:02:03');
    expect(parseMac('00:16:3e:01:02')).toBeUndefined();
    expect(parseMac('00:16:3e:01:02:100')).toBeUndefined();
  });
});
