// xenoform start NAME — start a stopped Domain (Manual, Once, or one parked by `stop`). A Domain
// held down by `save` is restored from its image (as `restore FILE`), or boots afresh if the
// image file is gone.
import type { Command } from 'commander';
import { registerIntentVerb } from '../api/verb-command.ts';

export const register = (p: Command) => registerIntentVerb(p, 'start', 'start a Domain that is stopped (clears a `stop`); a saved one is restored from its image (booted afresh if the image is gone)');
