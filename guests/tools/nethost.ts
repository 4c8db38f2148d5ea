/**
 * nethost: boots one guest kernel on a real Xenoform Host (wall clock) with
 * a vif (and optional disks) and joins the host's virtual switch to a Linux
 * TAP through tools/tapbridge.py, so that the Linux host is the segment's
 * gateway (10.0.0.1) and real clients reach the guest at its address.
 * A development harness for the guest kit's netfront/blkfront and its TCP
 * stack against the runtime's back ends; needs root for the TAP.
 *
 *   node --import tsx guests/tools/nethost.ts KERNEL [--mac M] [--tap NAME]
 *        [--disk FILE[:SIZE_MiB]] [--memory MiB] [--cmdline S] [--seconds N]
 *
 * The guest's console goes to stdout. Exits when the domain shuts down, or
 * after --seconds (destroying the domain: a power cut).
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Host } from '../../runtime/host.ts';
import { encodeFrame, FrameDecoder } from '../../runtime/devices/net/uplink.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt?: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const kernel = args[0];
if (!kernel) {
  process.stderr.write('usage: nethost.ts KERNEL [--mac M] [--tap NAME] [--disk FILE[:MiB]] [--memory MiB] [--cmdline S] [--seconds N]\n');
  process.exit(2);
}
const mac = opt('--mac', '00:16:3e:00:00:05')!;
const tap = opt('--tap', 'xftap1')!;
const seconds = Number(opt('--seconds', '0'));
const diskArg = opt('--disk');
const disks = diskArg
  ? [{ source: path.resolve(diskArg.split(':')[0]!), target: 'xvda', mode: 'rw' as const, sizeMiB: Number(diskArg.split(':')[1] ?? 16) }]
  : [];

const host = new Host({ clock: 'wall', memoryBytes: 1024 * 2 ** 20 });
const bridge = spawn('python3', [path.join(path.dirname(fileURLToPath(import.meta.url)), 'tapbridge.py'), tap], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const link = host.net.uplink('tap');
const dec = new FrameDecoder();
bridge.stdout.on('data', (chunk: Buffer) => {
  for (const f of dec.push(chunk)) link.send(f);
});
link.onFrame((f) => bridge.stdin.write(encodeFrame(f)));

const d = host.createDomain({
  name: 'guest',
  kernel: fs.readFileSync(kernel),
  memoryMiB: Number(opt('--memory', '32')),
  cmdline: opt('--cmdline', ''),
  interfaces: [{ mac, ports: [] }],
  disks,
} as Parameters<Host['createDomain']>[0]);
const con = host.console(d.id)!;
let printed = 0;
const finish = (code: number): void => {
  const t = con.text();
  process.stdout.write(t.slice(printed));
  host.stop();
  bridge.stdin.end();
  bridge.kill();
  process.exit(code);
};
const poll = setInterval(() => {
  const t = con.text();
  if (t.length > printed) {
    process.stdout.write(t.slice(printed));
    printed = t.length;
  }
  if (d.isShutdown) {
    clearInterval(poll);
    finish(0);
  }
}, 50);
if (seconds > 0)
  setTimeout(() => {
    host.destroy(d.id);
    clearInterval(poll);
    finish(124);
  }, seconds * 1000);
host.start();
