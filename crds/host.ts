// Kind Host: the rules a structural schema cannot express.
import { LOCAL_HOST } from './host.schema.ts';
import type { RuleViolation } from './domain.ts';
import type { Host } from './host.types.ts';

/** Host has no derived defaults (capacity falls back to what the host reports, at run time). */
export function applyHostDefaults(obj: Host): Host {
  return obj;
}

export function hostRules(obj: Host): RuleViolation[] {
  const out: RuleViolation[] = [];
  if (obj.metadata.name === LOCAL_HOST) {
    out.push({ path: ['metadata', 'name'], code: 'ReservedName', message: `"${LOCAL_HOST}" is the host that \`xenoform up\` starts or finds; it is implicit and cannot be declared (pick another name)` });
  }
  const address = obj.spec.address;
  if (address !== undefined) {
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    if (!(port >= 1 && port <= 65535)) out.push({ path: ['spec', 'address'], code: 'OutOfRange', message: `port ${port} must be 1–65535` });
  }
  return out;
}
