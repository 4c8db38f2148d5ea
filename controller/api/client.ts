// The CLI's side of the controller API (server.ts): JSON requests, NDJSON watches, byte
// streams and the console upgrade, over <state-dir>/api.sock. No controller listening →
// NoControllerError (exit 1, one line saying how to start one).
import { request, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { NoControllerError, XenoformError } from '../errors.ts';
import { apiSocketPath } from './paths.ts';

export class ApiError extends XenoformError {
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
  }
}

export class ControllerClient {
  readonly socketPath: string;

  constructor(readonly stateDir: string) {
    this.socketPath = apiSocketPath(stateDir);
  }

  private open(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request({
        socketPath: this.socketPath, method, path,
        headers: { Accept: 'application/json', ...(data !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}), ...headers },
      }, async (res) => {
        if ((res.statusCode ?? 500) < 300) return resolve(res);
        const text = (await readAll(res)).toString('utf8');
        try {
          const e = (JSON.parse(text) as { error: { code: string; message: string } }).error;
          reject(new ApiError(e.code, e.message, res.statusCode ?? 500));
        } catch {
          reject(new ApiError('Protocol', `the controller answered HTTP ${res.statusCode}: ${text.slice(0, 200)}`, res.statusCode ?? 500));
        }
      });
      req.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? new NoControllerError(this.stateDir) : e));
      req.end(data);
    });
  }

  async get<T>(path: string): Promise<T> {
    return JSON.parse((await readAll(await this.open('GET', path))).toString('utf8')) as T;
  }

  async post<T>(path: string, body: unknown = {}): Promise<T> {
    return JSON.parse((await readAll(await this.open('POST', path, body))).toString('utf8')) as T;
  }

  /** NDJSON lines of a watch, until the server ends it or `signal` aborts. */
  async *watch<T>(path: string): AsyncGenerator<T> {
    const res = await this.open('GET', path);
    res.setEncoding('utf8');
    let partial = '';
    for await (const s of res as AsyncIterable<string>) {
      const lines = (partial + s).split('\n');
      partial = lines.pop()!;
      for (const line of lines) if (line) yield JSON.parse(line) as T;
    }
  }

  /** A byte stream (logs). */
  async bytes(path: string): Promise<IncomingMessage> {
    return this.open('GET', path, undefined, { Accept: 'application/octet-stream' });
  }

  /** The console: an upgraded connection carrying raw bytes both ways. */
  console(path: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, method: 'GET', path, headers: { Connection: 'Upgrade', Upgrade: 'xenoform-console' } });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', async (res) => {
        const text = (await readAll(res)).toString('utf8');
        try {
          const e = (JSON.parse(text) as { error: { code: string; message: string } }).error;
          reject(new ApiError(e.code, e.message, res.statusCode ?? 500));
        } catch {
          reject(new ApiError('Protocol', `the controller answered HTTP ${res.statusCode}`, res.statusCode ?? 500));
        }
      });
      req.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? new NoControllerError(this.stateDir) : e));
      req.end();
    });
  }
}

function readAll(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}
