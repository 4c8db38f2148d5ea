/** A small HTTP client for tests that talk to guests through the gateway: one request, whole body. */
import { request, type Agent } from 'node:http';

export function httpCall(port: number, method: string, path: string, body?: string, agent?: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent, timeout: 10_000 }, (res) => {
      let s = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (s += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: s }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
