#!/usr/bin/env node
// The xenoform command. The sources are TypeScript, run through tsx's loader, so no build step
// is needed. Paths are resolved from this file's real location, so it works from any directory
// and through npm's bin symlink (Node resolves the symlink for the main module).
import { register } from 'tsx/esm/api';

register();
await import(new URL('../controller/cli/main.ts', import.meta.url).href);
