// Where the controller's API listens: <state-dir>/api.sock (unix sockets allow 107 bytes).
import { join } from 'node:path';

export const apiSocketPath = (stateDir: string): string => join(stateDir, 'api.sock');
