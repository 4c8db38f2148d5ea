/**
 * Readiness probes run from the gateway's own TCP/IP node on the guests' segment (DESIGN.md §5):
 * a TCP probe is a handshake with the guest's port; an HTTP probe a GET whose status is 2xx/3xx
 * (Kubernetes' httpGet semantics). No host port or forward is needed for either.
 */
import type { IpNode } from './node.ts';

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

function probe(node: IpNode, ip: string, port: number, timeoutMs: number, request?: Uint8Array, judge?: (head: string) => ProbeResult): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    let head = '';
    const finish = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.abort();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, detail: `no answer from ${ip}:${port} within ${timeoutMs} ms` }), timeoutMs);
    const conn = node.connect(ip, port, {
      onConnect: () => {
        if (!request) return finish({ ok: true, detail: `${ip}:${port} accepted a connection` });
        conn.write(request);
      },
      onData: (chunk) => {
        head += Buffer.from(chunk).toString('latin1');
        if (head.includes('\r\n') && judge) finish(judge(head));
        else if (head.length > 8192) finish({ ok: false, detail: `${ip}:${port} sent no HTTP status line` });
      },
      onClose: (err) => finish({ ok: false, detail: err ? `${ip}:${port}: ${err.message}` : `${ip}:${port} closed the connection` }),
    });
  });
}

export function tcpProbe(node: IpNode, ip: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return probe(node, ip, port, timeoutMs);
}

export function httpProbe(node: IpNode, ip: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  const req = new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${ip}\r\nUser-Agent: xenoform-probe\r\nConnection: close\r\n\r\n`);
  return probe(node, ip, port, timeoutMs, req, (head) => {
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (!m) return { ok: false, detail: `${ip}:${port} answered something that is not HTTP/1.x` };
    const code = Number(m[1]);
    return code >= 200 && code < 400 ? { ok: true, detail: `GET ${path} → ${code}` } : { ok: false, detail: `GET ${path} → ${code}` };
  });
}
