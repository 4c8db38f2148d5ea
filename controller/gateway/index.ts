/**
 * Running the gateway in a controller process: a Gateway kept joined to a host's switch. The
 * uplink (NetworkApi.uplink(), the host agent's /v1/net/uplink) is re-opened with backoff
 * whenever it drops — a restarted host agent — while the gateway's TCP connections wait
 * (retransmitting) instead of failing.
 */
import type { NetworkApi } from '../../runtime/api.ts';
import { Gateway, type GatewayOptions } from './gateway.ts';

export { Gateway, GatewayError, type ForwardInfo, type ForwardSpec, type GatewayOptions } from './gateway.ts';
export { IpNode } from './node.ts';

export interface RunningGateway {
  gateway: Gateway;
  /** settles once the first uplink is attached */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export function runGateway(hv: NetworkApi, opts: GatewayOptions & { retryMs?: number; maxRetryMs?: number } = {}): RunningGateway {
  const gateway = new Gateway(opts);
  const log = opts.log ?? (() => undefined);
  let stopped = false;
  let delay = opts.retryMs ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const join = async (): Promise<void> => {
    timer = undefined;
    if (stopped) return;
    try {
      const link = await hv.uplink();
      if (stopped) return link.close();
      gateway.attach(link);
      delay = opts.retryMs ?? 200;
      markReady();
      link.onClose((err) => {
        if (stopped) return;
        log(`gateway: uplink closed${err ? `: ${err.message}` : ''}; reconnecting`);
        timer = setTimeout(join, delay);
      });
    } catch (e) {
      log(`gateway: cannot reach the host's switch: ${(e as Error).message}; retrying in ${delay} ms`);
      timer = setTimeout(join, delay);
      delay = Math.min(delay * 2, opts.maxRetryMs ?? 5000);
    }
  };
  void join();
  return {
    gateway,
    ready,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await gateway.close();
    },
  };
}
