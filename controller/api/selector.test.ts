import { describe, expect, it } from 'vitest';
import { parseSelector } from './selector.ts';

describe('label selectors', () => {
  const l = { app: 'web', tier: 'front', canary: '' };
  it.each([
    ['app=web', true], ['app==web', true], ['app!=web', false], ['app=db', false],
    ['app in (db, web)', true], ['app notin (web)', false], ['tier', true], ['!tier', false], ['!missing', true],
    ['app=web,tier=front', true], ['app=web,tier=back', false], ['missing!=x', true], ['canary=', true],
  ])('%s → %s', (sel, want) => expect(parseSelector(sel)(l)).toBe(want));
  it('refuses nonsense', () => {
    expect(() => parseSelector('app=web,,')).toThrow(/label selector/);
    expect(() => parseSelector('app in (a')).toThrow(/missing/);
  });
});
