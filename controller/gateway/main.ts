/**
 * A gateway on its own, for tests and for trying things by hand:
 *
 *   node --import tsx controller/gateway/main.ts --host-socket .xenoform/host.sock \
 *     --forward 8080=00:16:3e:0a:0b:0c:80 [--forward HOSTPORT=GUEST:PORT …]
 *   node --import tsx controller/gateway/main.ts --host-url http://H:P --token-file F …
 *
 * GUEST is the guest's IP (10.x.y.z) or its MAC (00:16:3e:…, the IP derived from it). It
 * prints one "forward 127.0.0.1:HOSTPORT -> IP:PORT" line per port, then "ready", on stdout;
 * diagnostics go to stderr. SIGINT/SIGTERM stop it (exit 0); bad arguments exit 2.
 */
import { readFileSync } from 'node:fs';
import { RemoteHypervisor } from '../../runtime/client.ts';
import { runGateway } from './index.ts';

function usage(msg: string): never {
  process.stderr.write(`gateway: ${msg}\nusage: main.ts (--host-socket PATH | --host-url URL [--token-file F]) [--bind ADDR] --forward HOSTPORT=GUEST:PORT …\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let socketPath: string | undefined, url: string | undefined, tokenFile: string | undefined, bind: string | undefined;
const forwards: { hostPort: number; guest: { ip?: string; mac?: string; port: number } }[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  const val = (): string => args[++i] ?? usage(`${a} needs a value`);
  if (a === '--host-socket') socketPath = val();
  else if (a === '--host-url') url = val();
  else if (a === '--token-file') tokenFile = val();
  else if (a === '--bind') bind = val();
  else if (a === '--forward') {
    const m = /^(\d{1,5})=(.+):(\d{1,5})$/.exec(val());
    if (!m) usage(`--forward takes HOSTPORT=GUEST:PORT, not ${args[i]}`);
    const guest = m[2]!;
    forwards.push({ hostPort: Number(m[1]), guest: { ...(guest.includes(':') ? { mac: guest } : { ip: guest }), port: Number(m[3]) } });
  } else usage(`unknown argument ${a}`);
}
if (!socketPath === !url) usage('give exactly one of --host-socket and --host-url');

const token = tokenFile ? readFileSync(tokenFile, 'utf8').trim() : undefined;
const hv = new RemoteHypervisor(socketPath ? { socketPath } : { url, token });
const log = (line: string) => process.stderr.write(`${line}\n`);
const running = runGateway(hv, { bindHost: bind, log });
await running.ready;
for (const f of forwards) {
  try {
    const port = await running.gateway.forward(f);
    const g = running.gateway.list().find((x) => x.hostPort === port)!;
    process.stdout.write(`forward ${bind ?? '127.0.0.1'}:${port} -> ${g.guestIp}:${g.guestPort}\n`);
  } catch (e) {
    log(`gateway: ${(e as Error).message}`);
    await running.stop();
    process.exit(1);
  }
}
process.stdout.write('ready\n');
const stop = async () => {
  await running.stop();
  await hv.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
