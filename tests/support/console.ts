// A domain's console through the Hypervisor API, for tests: all that is held, or followed
// until a pattern shows up.
import type { HypervisorApi } from '../../runtime/api.ts';

export async function consoleText(hv: HypervisorApi, id: number): Promise<string> {
  let out = '';
  for await (const b of hv.console(id)) out += Buffer.from(b).toString('latin1');
  return out;
}

/** Follow the console until `pattern` (a RegExp, or text to find) matches; throws after timeoutMs. */
export async function consoleUntil(hv: HypervisorApi, id: number, pattern: RegExp | string, timeoutMs = 30_000): Promise<string> {
  const found = (s: string) => (typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s));
  const s = hv.console(id, { follow: true });
  const timer = setTimeout(() => s.close(), timeoutMs);
  let out = '';
  try {
    for await (const b of s) {
      out += Buffer.from(b).toString('latin1');
      if (found(out)) return out;
    }
  } finally {
    clearTimeout(timer);
    s.close();
  }
  throw new Error(`console of domain ${id}: no ${String(pattern)} within ${timeoutMs} ms in:\n${out}`);
}
