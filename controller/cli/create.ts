// xenoform create [-c] CONFIG [KEY=VALUE…] — boot from an xl/xm config file on a private host,
// as `xm create -c myconf vmid=1` does (../shared/DESIGN.md §3, §4). The same contract as boot:
// stdout is exactly the guest's console, diagnostics on stderr, the same exit codes; the
// config's on_poweroff/on_reboot/on_crash/on_watchdog decide what each end does.
import type { Command } from 'commander';
import { applyDomainDefaults, defaultMac } from '../../crds/index.ts';
import { FileError, formatDiagnostic, InvalidInputError, SilentExit } from '../errors.ts';
import { importXl, type ImportedXl } from '../xl/index.ts';
import { EXIT, runForeground } from './boot.ts';
import { err } from './context.ts';

export function register(program: Command): void {
  program
    .command('create')
    .description('boot a domain from an xl/xm config file on a private host, in the foreground; stdout is exactly its console (exit codes as boot)')
    .argument('<config>', 'xl.cfg / xm config file')
    .argument('[assignments...]', 'extra KEY=VALUE lines, as `xm create -c myconf vmid=1`')
    .option('-c, --console', 'attach the console: also forward stdin to the guest (Ctrl-] detaches)')
    .action(async (config: string, assignments: string[], opts: { console?: boolean }) => {
      let imported: ImportedXl;
      try {
        imported = await importXl(config, assignments);
      } catch (e) {
        // a file Xen's parser refuses, or one that cannot be read: refused, exit 2
        if (e instanceof InvalidInputError) {
          for (const d of e.diagnostics) err(formatDiagnostic(d));
          throw new SilentExit(EXIT.refused);
        }
        if (e instanceof FileError) {
          err(`error: ${e.message}`);
          throw new SilentExit(EXIT.refused);
        }
        throw e;
      }
      for (const w of imported.warnings) err(formatDiagnostic(w));
      const { metadata, spec } = applyDomainDefaults(imported.domain);
      if (spec.ramdisk !== undefined) {
        err(`error: ${config}: ramdisk ${JSON.stringify(spec.ramdisk)}: initial ramdisks are not supported yet`);
        throw new SilentExit(EXIT.refused);
      }
      const code = await runForeground({
        name: metadata.name,
        kernel: spec.kernel,
        memoryMiB: spec.memory,
        maxMemoryMiB: spec.maxMemory,
        vcpus: spec.vcpus,
        maxVcpus: spec.maxVcpus,
        cmdline: spec.cmdline,
        weight: spec.cpuWeight,
        cap: spec.cpuCap,
        actions: { poweroff: spec.onPoweroff, reboot: spec.onReboot, crash: spec.onCrash, watchdog: spec.onWatchdog },
        interactive: opts.console === true,
        ...(spec.disks?.length ? { disks: spec.disks.map((d) => ({ source: d.source, target: d.target, mode: d.mode ?? 'rw' })) } : {}),
        ...(spec.interfaces?.length ? { interfaces: spec.interfaces.map((n, k) => ({ mac: n.mac ?? defaultMac(metadata.name, k) })) } : {}),
      });
      if (code !== 0) throw new SilentExit(code);
    });
}
