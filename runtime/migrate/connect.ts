/**
 * Opening the migration stream: the source host's agent connects to the target's TCP agent
 * (`xenoform host --listen`), presents the target's bearer token and upgrades
 * `POST /v1/migrations/incoming` to the `xenoform-migrate` protocol (wire.ts). A refusal
 * (wrong token, no such route) comes back as the agent's JSON error.
 */
import { request } from 'node:http';
import { HypervisorError, errorFromCode, InvalidArgumentError, parseHostPort, type MigrationTarget } from '../api.ts';
import { MigrationChannel } from './wire.ts';

export const MIGRATE_PROTOCOL = 'xenoform-migrate';
export const INCOMING_PATH = '/v1/migrations/incoming';

/** A target's HOST:PORT (port 1–65535). */
export function parseAddress(address: string): { host: string; port: number } {
  const hp = parseHostPort(address);
  if (!hp || hp.port === 0) throw new InvalidArgumentError(`a migration target is HOST:PORT of a host agent, not ${JSON.stringify(address)}`);
  return hp;
}

export function openMigrationChannel(target: MigrationTarget, timeoutMs = 10_000): Promise<MigrationChannel> {
  const { host, port } = parseAddress(target.address);
  return new Promise((resolve, reject) => {
    const req = request({
      host, port, method: 'POST', path: INCOMING_PATH,
      headers: { Connection: 'Upgrade', Upgrade: MIGRATE_PROTOCOL, Authorization: `Bearer ${target.token}` },
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('upgrade', (_res, socket, head) => {
      req.setTimeout(0);
      resolve(new MigrationChannel(socket, head));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          const e = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error: { code: string; message: string } }).error;
          reject(errorFromCode(e.code, `target host ${target.address}: ${e.message}`));
        } catch {
          reject(new HypervisorError('EPROTO', `target host ${target.address} answered HTTP ${res.statusCode} instead of accepting the migration`));
        }
      });
    });
    req.on('error', (e) => reject(new HypervisorError('EHOSTDOWN', `cannot reach the target host ${target.address}: ${e.message}`)));
    req.end();
  });
}
