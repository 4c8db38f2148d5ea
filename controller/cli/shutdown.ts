// xenoform shutdown [-w] NAME — ask the guest to power off (xl shutdown); onPoweroff, then runStrategy, decide what follows.
import type { Command } from 'commander';
import { registerIntentVerb } from '../api/verb-command.ts';

export const register = (p: Command) => registerIntentVerb(p, 'shutdown', 'ask the guest to power off (xl shutdown); onPoweroff and runStrategy decide what follows');
