// xenoform reboot NAME — ask the guest to reboot (xl reboot); onReboot decides what follows.
import type { Command } from 'commander';
import { registerIntentVerb } from '../api/verb-command.ts';

export const register = (p: Command) => registerIntentVerb(p, 'reboot', 'ask the guest to reboot (xl reboot); onReboot decides what follows');
