// xenoform destroy NAME — destroy the domain now (xl destroy, a pulled plug); runStrategy decides what follows.
import type { Command } from 'commander';
import { registerIntentVerb } from '../api/verb-command.ts';

export const register = (p: Command) => registerIntentVerb(p, 'destroy', 'destroy the domain now (xl destroy); runStrategy decides whether it comes back');
