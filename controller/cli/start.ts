// xenoform start NAME — start a stopped Domain (Manual, Once, or one parked by `stop`).
import type { Command } from 'commander';
import { registerIntentVerb } from '../api/verb-command.ts';

export const register = (p: Command) => registerIntentVerb(p, 'start', 'start a Domain that is stopped (clears a `stop`)');
