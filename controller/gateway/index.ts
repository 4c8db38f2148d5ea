/**
 * Running the gateway in a controller process: a Gateway kept joined to one or more hosts'
 * switches. Each host's uplink (NetworkApi.uplink(), the host agent's /v1/net/uplink) is
 * re-opened with backoff whenever it drops — a restarted host agent — while the gateway's TCP
 * connections wait (retransmitting) instead of failing. With several hosts the gateway's
 * bridge (bridge.ts) makes them one segment, so a domain keeps its clients when it moves.
 */
import type { NetworkApi } from '../../runtime/api.ts';
import { DEFAULT_UPLINK, Gateway, type GatewayOptions } from './gateway.ts';

export { Gateway, GatewayError, DEFAULT_UPLINK, type ForwardInfo, type ForwardSpec, type GatewayOptions } from './gateway.ts';
export { LearningBridge } from './bridge.ts';
export { IpNode } from './node.ts';

export interface RunGatewayOptions extends GatewayOptions {
  /** the first host's name, when one is given to runGateway (default 'default') */
  hostName?: string;
  /** first reconnect delay, ms (doubles up to maxRetryMs) */
  retryMs?: number;
  maxRetryMs?: number;
}

export interface RunningGateway {
  gateway: Gateway;
  /** settles once the first uplink (of any host) is attached */
  ready: Promise<void>;
  /** Join a host's switch under `hostName` (kept joined across its agent's restarts); replaces one of that name. */
  attach(hostName: string, net: NetworkApi): void;
  /** Leave a host's switch; what the gateway learned through it is forgotten. */
  detach(hostName: string): void;
  /** hosts attached (joined or reconnecting) */
  hosts(): string[];
  stop(): Promise<void>;
}

interface Attachment {
  stopped: boolean;
  timer: NodeJS.Timeout | undefined;
}

export function runGateway(net: NetworkApi | undefined, opts: RunGatewayOptions = {}): RunningGateway {
  const gateway = new Gateway(opts);
  const log = opts.log ?? (() => undefined);
  const attachments = new Map<string, Attachment>();
  let stopped = false;
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));

  const detach = (hostName: string): void => {
    const a = attachments.get(hostName);
    if (!a) return;
    attachments.delete(hostName);
    a.stopped = true;
    clearTimeout(a.timer);
    gateway.detach(hostName);
  };

  const attach = (hostName: string, hv: NetworkApi): void => {
    if (stopped) return;
    detach(hostName);
    const a: Attachment = { stopped: false, timer: undefined };
    attachments.set(hostName, a);
    let delay = opts.retryMs ?? 200;
    const join = async (): Promise<void> => {
      a.timer = undefined;
      if (a.stopped) return;
      try {
        const link = await hv.uplink();
        if (a.stopped) return link.close();
        gateway.attach(link, hostName);
        delay = opts.retryMs ?? 200;
        markReady();
        link.onClose((err) => {
          if (a.stopped) return;
          log(`gateway: uplink to ${hostName} closed${err ? `: ${err.message}` : ''}; reconnecting`);
          a.timer = setTimeout(join, delay);
        });
      } catch (e) {
        if (a.stopped) return;
        log(`gateway: cannot reach ${hostName}'s switch: ${(e as Error).message}; retrying in ${delay} ms`);
        a.timer = setTimeout(join, delay);
        delay = Math.min(delay * 2, opts.maxRetryMs ?? 5000);
      }
    };
    void join();
  };

  if (net) attach(opts.hostName ?? DEFAULT_UPLINK, net);
  return {
    gateway,
    ready,
    attach,
    detach,
    hosts: () => [...attachments.keys()],
    stop: async () => {
      stopped = true;
      for (const name of [...attachments.keys()]) detach(name);
      await gateway.close();
    },
  };
}
