/**
 * bench/hv — the hypervisor's headline numbers (issue "Runtime II", Speed and scale):
 *  - create → first console byte of `hello` (Firecracker's bar: 125 ms to guest user space;
 *    aim: under 10 ms), in-process, wall clock;
 *  - host memory per idle domain: 1,000 idle `ticker` domains of 32 MiB (aim: under 1 MiB each;
 *    Xen's paper: 6.2 MB per idle domain);
 *  - null hypercall round trip and event-channel send-to-upcall latency, measured by the
 *    `hvbench` guest, in nanoseconds (wall clock) and in guest instructions (virtual clock).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Host } from '../../runtime/host.ts';
import { VIRTUAL_INSNS_PER_US } from '../../runtime/hv/vcpu.ts';
import { BenchError, median, table, type BenchReport, type BenchSuite } from '../suite.ts';

const guest = (name: string): Uint8Array => readFileSync(new URL(`../../guests/build/${name}.elf`, import.meta.url));

/** ms from createDomain() to the first console byte, `runs` times on one warm host. */
function firstByte(runs: number): number[] {
  const host = new Host();
  const hello = guest('hello');
  const out: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t0 = process.hrtime.bigint();
    const d = host.createDomain({ name: `hello-${k}`, kernel: hello, memoryMiB: 32 });
    let t1 = 0n;
    const unsub = host.console(d.id)!.subscribe(() => {
      if (!t1) t1 = process.hrtime.bigint();
    });
    while (!t1 && !d.isShutdown) host.step();
    unsub();
    if (!t1) throw new BenchError(`hello printed nothing (state ${d.stateLetters}: ${d.crashReason ?? ''})`);
    out.push(Number(t1 - t0) / 1e6);
    host.destroy(d.id);
  }
  return out;
}

/** Run hvbench to completion; returns its two totals (ns of guest TSC) and the iterations. */
function hvbench(clock: 'wall' | 'virtual', iters: number): { iters: number; nullNs: number; upcallNs: number } {
  const host = new Host({ clock });
  const d = host.createDomain({ name: 'hvbench', kernel: guest('hvbench'), memoryMiB: 16, cmdline: `iters=${iters}` });
  const deadline = Date.now() + 120_000;
  while (!d.isShutdown && Date.now() < deadline) {
    if (!host.step() && clock === 'virtual') host.runFor(1e6);
  }
  const text = host.console(d.id)!.text();
  const nul = /null-hypercall iters=(\d+) ns=(\d+)/.exec(text);
  const up = /evtchn-upcall iters=(\d+) ns=(\d+)/.exec(text);
  if (!nul || !up) throw new BenchError(`hvbench did not report (${clock}): ${JSON.stringify(text.slice(0, 300))} ${d.crashReason ?? ''}`);
  return { iters: Number(nul[1]), nullNs: Number(nul[2]), upcallNs: Number(up[2]) };
}

async function run(log: (line: string) => void): Promise<BenchReport> {
  log('create → first console byte (hello, 32 MiB) ×30');
  const fb = firstByte(30);
  log('null hypercall and event-channel upcall (hvbench)');
  const iters = 200_000; // enough for a steady state (the first calls include V8 warm-up)
  const wall = hvbench('wall', iters);
  const virt = hvbench('virtual', iters);
  const insnPerNs = VIRTUAL_INSNS_PER_US / 1000;
  log('1,000 idle tickers of 32 MiB (child process)');
  const idleJson = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL('./idle.ts', import.meta.url)), '1000'], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const idle = JSON.parse(idleJson) as Record<string, number>;
  if (idle.ready !== idle.domains) throw new BenchError(`only ${idle.ready} of ${idle.domains} tickers reached "tick 1" (${idle.crashed} crashed)`);
  const report = {
    suite: 'hv',
    createToFirstByteMs: { median: median(fb), min: Math.min(...fb), max: Math.max(...fb), runs: fb.length, target: 10 },
    nullHypercall: { ns: wall.nullNs / wall.iters, instructions: (virt.nullNs * insnPerNs) / virt.iters },
    evtchnSendToUpcall: { ns: wall.upcallNs / wall.iters, instructions: (virt.upcallNs * insnPerNs) / virt.iters },
    idleDomains: { ...idle, targetKiB: 1024 },
  };
  log(
    table(
      ['figure', 'value'],
      [
        ['create → first byte, median ms', report.createToFirstByteMs.median.toFixed(2)],
        ['null hypercall, ns', report.nullHypercall.ns.toFixed(0)],
        ['null hypercall, guest instructions', report.nullHypercall.instructions.toFixed(0)],
        ['evtchn send → upcall, ns', report.evtchnSendToUpcall.ns.toFixed(0)],
        ['evtchn send → upcall, guest instructions', report.evtchnSendToUpcall.instructions.toFixed(0)],
        ['RSS per idle ticker, KiB', idle.rssPerDomainKiB!.toFixed(0)],
        ['guest frames per idle ticker, KiB', idle.guestFramesPerDomainKiB!.toFixed(0)],
      ],
    ),
  );
  return report;
}

export const suite: BenchSuite = {
  name: 'hv',
  description: 'create→first console byte, memory per idle domain, null hypercall and event-channel latency',
  run,
};
