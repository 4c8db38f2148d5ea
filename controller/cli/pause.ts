// xenoform pause NAME — pause a Domain (memory kept) until `unpause` (xl pause).
import type { Command } from 'commander';
import { registerIntentVerb } from '../api/verb-command.ts';

export const register = (p: Command) => registerIntentVerb(p, 'pause', 'pause a Domain until `unpause` (xl pause)');
