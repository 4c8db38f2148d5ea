// The registry of verbs: one file per verb, each exporting register(program). Add a verb by
// adding its module here; the order is the order of `xenoform --help`.
import type { Command } from 'commander';
import * as validate from './validate.ts';
import * as importXl from './import-xl.ts';
import * as crds from './crds.ts';
import * as up from './up.ts';
import * as diff from './diff.ts';
import * as get from './get.ts';
import * as list from './list.ts';
import * as describe from './describe.ts';
import * as events from './events.ts';
import * as consoleVerb from './console.ts';
import * as logs from './logs.ts';
import * as top from './top.ts';
import * as start from './start.ts';
import * as stop from './stop.ts';
import * as restart from './restart.ts';
import * as pause from './pause.ts';
import * as unpause from './unpause.ts';
import * as shutdown from './shutdown.ts';
import * as reboot from './reboot.ts';
import * as destroy from './destroy.ts';
import * as save from './save.ts';
import * as restore from './restore.ts';
import * as migrate from './migrate.ts';
import * as boot from './boot.ts';
import * as create from './create.ts';
import * as host from './host.ts';

export interface Verb {
  register(program: Command): void;
}

export const verbs: Verb[] = [
  // managing (through the controller)
  up, diff, get, list, describe, events, consoleVerb, logs, top,
  start, stop, restart, pause, unpause, shutdown, reboot, destroy, save, restore, migrate,
  // standalone:
  validate,
  importXl,
  crds,
  boot,
  create,
  host,
];
