import { describe, expect, it } from 'vitest';
import { dequote, tokenize } from './lexer.ts';
import { parseXl, strtol0 } from './parser.ts';

const values = (text: string) => Object.fromEntries(parseXl(text).settings.map((s) => [s.name, s.value.type === 'string' ? s.value.value : s.value]));

describe('xl lexer (libxlu_cfg_l.l)', () => {
  it('tokenizes identifiers, numbers, strings, punctuation and comments', () => {
    const { tokens, errors } = tokenize("a_1 = 0x1f, [ 'x' ] += ; # c\n");
    expect(errors).toEqual([]);
    expect(tokens.map((t) => t.type)).toEqual(['IDENT', '=', 'NUMBER', ',', '[', 'STRING', ']', '+=', ';', 'NEWLINE', 'EOF']);
    expect(tokens.map((t) => t.col)).toEqual([1, 5, 7, 11, 13, 15, 19, 21, 24, 26, 1]);
  });

  it('dequotes C escapes as libxlu does, refusing its broken numeric escapes', () => {
    expect(dequote(String.raw`'a\'b\"c\\d\n\t\a\v\f\r\b'`)).toEqual({ value: "a'b\"c\\d\n\t\x07\v\f\r\b" });
    expect(dequote(String.raw`"\x41"`).error).toContain('invalid digit after backslash hex');
    expect(dequote(String.raw`"\101"`).error).toContain('octal');
    expect(dequote(String.raw`"\q"`).error).toBe('invalid character after backlash in quoted string');
  });

  it('treats uppercase, unterminated strings and Python punctuation as lexical errors', () => {
    expect(tokenize('Name = 1\n').errors[0]).toMatchObject({ near: 'Name', message: 'lexical error', line: 1, col: 1 });
    expect(tokenize("a = 'open\n").errors[0]).toMatchObject({ near: "'open", col: 5 });
    expect(tokenize('a = foo.bar()\n').errors[0]).toMatchObject({ likelyPython: true });
  });
});

describe('xl parser (libxlu_cfg_y.y)', () => {
  it('parses settings separated by newlines or semicolons, last one wins', () => {
    expect(values("name = 'a'; memory = 32\nmemory = 64\n")).toEqual({ name: 'a', memory: '64' });
  });

  it('parses lists over several lines, with a trailing comma, and nested lists', () => {
    const r = parseXl("disk = [ 'a',\n  'b',\n\n]\nx = [ ]\ny = [ [ '1', 2 ], '3' ]\n");
    expect(r.errors).toEqual([]);
    const [disk, x, y] = r.settings;
    expect(disk!.value).toMatchObject({ type: 'list', line: 1, values: [{ value: 'a' }, { value: 'b', line: 2 }] });
    expect(x!.value).toMatchObject({ type: 'list', values: [] });
    expect(y!.value).toMatchObject({ type: 'list', values: [{ type: 'list', values: [{ value: '1' }, { value: '2' }] }, { value: '3' }] });
  });

  it('concatenates with += (strings and lists) and refuses mixing them', () => {
    expect(values("extra = 'a'\nextra += ' b'\n")).toEqual({ extra: 'a b' });
    const r = parseXl("vif = ['a']\nvif += ['b']\n");
    expect(r.settings.at(-1)!.value).toMatchObject({ values: [{ value: 'a' }, { value: 'b' }] });
    expect(parseXl("a = 'x'\na += ['y']\n").errors[0]!.message).toContain(`can't add [list] to "string" or vice versa`);
  });

  it('accepts a last line without a newline, and a final comment without one', () => {
    expect(values("a = 1\nb = 'x'")).toEqual({ a: '1', b: 'x' });
    expect(parseXl('a = 1\n# end').errors).toEqual([]);
  });

  it('reports syntax errors with line, column and bison\'s message, and recovers at the next line', () => {
    const r = parseXl("a = 1 2\nb = \nc = 'ok'\n= 3\nd 4\n");
    expect(r.errors.map((e) => `${e.line}:${e.col}: ${e.message}`)).toEqual([
      "1:7: config parsing error near `2': syntax error, unexpected NUMBER, expecting $end or NEWLINE or ';'",
      '2:5: config parsing error near <newline>: syntax error, unexpected NEWLINE, expecting STRING or NUMBER or \'[\'',
      "4:1: config parsing error near `=': syntax error, unexpected '=', expecting $end or IDENT or NEWLINE or ';'",
      // `d 4` on line 5 is not reported: bison stays quiet until three tokens follow an error
    ]);
    expect(parseXl('d 4\n').errors[0]!.message).toBe("config parsing error near `4': syntax error, unexpected NUMBER, expecting '=' or \"+=\"");
    // the assignment before the bad token is reduced, as bison's default reduction does
    expect(r.settings.map((s) => s.name)).toEqual(['a', 'c']);
  });

  it('does not pile a syntax error onto a lexical one on the same line', () => {
    const r = parseXl('a = $x\n');
    expect(r.errors.map((e) => e.message)).toEqual(["config parsing error near `$x': lexical error"]);
  });

  it('shows control characters as escapes', () => {
    expect(parseXl("a = 1\r\n").errors[0]!.message).toContain("near `\\r'");
  });
});

describe('strtol0', () => {
  it('reads numbers as strtol(s, &end, 0)', () => {
    expect(strtol0('32')).toEqual({ ok: true, value: 32 });
    expect(strtol0('0x20')).toEqual({ ok: true, value: 32 });
    expect(strtol0('040')).toEqual({ ok: true, value: 32 });
    expect(strtol0(' -5')).toEqual({ ok: true, value: -5 });
    expect(strtol0('0')).toEqual({ ok: true, value: 0 });
    expect(strtol0('09')).toEqual({ ok: false, reason: 'invalid' });
    expect(strtol0('1e3')).toEqual({ ok: false, reason: 'invalid' });
    expect(strtol0('32M')).toEqual({ ok: false, reason: 'invalid' });
    expect(strtol0('')).toEqual({ ok: false, reason: 'invalid' });
    expect(strtol0('99999999999999999999')).toEqual({ ok: false, reason: 'range' });
  });
});
