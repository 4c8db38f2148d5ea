import { describe, expect, it } from 'vitest';
import { hostDiffs } from './diff.ts';

const live = (name: string, spec: object) => ({ apiVersion: 'xenoform.dev/v1alpha1' as const, kind: 'Host' as const, metadata: { name }, spec });

describe('diff: Hosts', () => {
  it('shows created, changed and (with the watched directory) deleted Hosts; local is never pruned', () => {
    const current = [live('local', {}), live('b', { address: 'b:1', tokenFile: 'b.token' }), live('gone', { address: 'g:1', tokenFile: 'g.token' })];
    const declared = [{ name: 'b', spec: { address: 'b:2', tokenFile: 'b.token' } }, { name: 'c', spec: { address: 'c:1', tokenFile: 'c.token' } }];
    const out = hostDiffs(declared, current, true).join('\n');
    expect(out).toContain('# host/b: would change');
    expect(out).toContain('-  address: b:1');
    expect(out).toContain('+  address: b:2');
    expect(out).toContain('# host/c: would be created');
    expect(out).toContain('# host/gone: would be deleted');
    expect(out).not.toContain('host/local');
    expect(hostDiffs([{ name: 'b', spec: { address: 'b:1', tokenFile: 'b.token' } }], current, false)).toEqual([]);
  });
});
