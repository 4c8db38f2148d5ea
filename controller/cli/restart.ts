// xenoform restart NAME — graceful shutdown, then start again.
import type { Command } from 'commander';
import { registerIntentVerb } from '../api/verb-command.ts';

export const register = (p: Command) => registerIntentVerb(p, 'restart', 'shut a Domain down gracefully and start it again');
