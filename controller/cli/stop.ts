// xenoform stop NAME — shut a Domain down and keep it down until `start` (parks runStrategy Always).
import type { Command } from 'commander';
import { registerIntentVerb } from '../api/verb-command.ts';

export const register = (p: Command) => registerIntentVerb(p, 'stop', 'shut a Domain down gracefully and keep it down until `start`');
