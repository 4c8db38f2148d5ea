// xenoform unpause NAME — let a paused Domain run again (xl unpause).
import type { Command } from 'commander';
import { registerIntentVerb } from '../api/verb-command.ts';

export const register = (p: Command) => registerIntentVerb(p, 'unpause', 'let a paused Domain run again (xl unpause)');
