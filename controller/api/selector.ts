// Kubernetes label selectors (`-l`): equality (a=b, a==b, a!=b), set (a in (x,y), a notin (x)),
// existence (a, !a), comma-separated, all must hold (k8s.io/apimachinery labels.Parse).
import { UsageError } from '../errors.ts';

type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

export type Selector = (labels: Record<string, string> | undefined) => boolean;

export function parseSelector(text: string): Selector {
  const reqs: Requirement[] = [];
  const s = text.trim();
  let i = 0;
  const ws = () => { while (s[i] === ' ') i++; };
  const ident = (): string => {
    ws();
    const m = /^[A-Za-z0-9_./-]+/.exec(s.slice(i));
    if (!m) throw new UsageError(`invalid label selector ${JSON.stringify(text)}: expected a label key or value at position ${i + 1}`);
    i += m[0].length;
    return m[0];
  };
  while (i < s.length) {
    ws();
    if (s[i] === '!') {
      i++;
      reqs.push({ key: ident(), op: '!exists' });
    } else {
      const key = ident();
      ws();
      const rest = s.slice(i);
      if (rest.startsWith('==') || rest.startsWith('!=') || rest.startsWith('=')) {
        const op = rest.startsWith('!=') ? 'notin' : 'in';
        i += rest.startsWith('=') && !rest.startsWith('==') ? 1 : 2;
        ws();
        const m = /^[A-Za-z0-9_.-]*/.exec(s.slice(i))!;
        i += m[0].length;
        reqs.push({ key, op, values: [m[0]] });
      } else if (/^(in|notin)\s*\(/.test(rest)) {
        const op = rest.startsWith('in') ? 'in' : 'notin';
        i = s.indexOf('(', i) + 1;
        const close = s.indexOf(')', i);
        if (close < 0) throw new UsageError(`invalid label selector ${JSON.stringify(text)}: missing ')'`);
        const values = s.slice(i, close).split(',').map((v) => v.trim()).filter((v) => v !== '');
        i = close + 1;
        reqs.push({ key, op, values });
      } else {
        reqs.push({ key, op: 'exists' });
      }
    }
    ws();
    if (i < s.length) {
      if (s[i] !== ',') throw new UsageError(`invalid label selector ${JSON.stringify(text)}: expected ',' at position ${i + 1}`);
      i++;
    }
  }
  return (labels) => reqs.every((r) => {
    const v = labels?.[r.key];
    switch (r.op) {
      case 'exists': return v !== undefined;
      case '!exists': return v === undefined;
      case 'in': return v !== undefined && r.values.includes(v);
      case 'notin': return v === undefined || !r.values.includes(v);
    }
  });
}
