// The registry of verbs: one file per verb, each exporting register(program). Add a verb by
// adding its module here; the order is the order of `xenoform --help`.
import type { Command } from 'commander';
import * as validate from './validate.ts';
import * as importXl from './import-xl.ts';
import * as crds from './crds.ts';

export interface Verb {
  register(program: Command): void;
}

export const verbs: Verb[] = [
  // managing (through the controller): up, diff, get, list, describe, events, console, logs,
  // top, start, stop, restart, pause, unpause, shutdown, reboot, destroy, save, restore, migrate
  // standalone:
  validate,
  importXl,
  crds,
  // boot, create, host: the runtime's verbs
];
