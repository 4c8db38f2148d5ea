// The xl.cfg lexer, rule for rule as Xen's flex scanner (tools/libs/util/libxlu_cfg_l.l):
//   [a-z][_0-9a-z]*   IDENT          [0-9][0-9a-fx]*   NUMBER (kept as text; strtol at use)
//   [ \t]             skipped        , [ ] += = ;      themselves
//   \n | #.*\n        NEWLINE        '…' "…"           STRING (no newline inside; C escapes)
//   [+-.():]          lexical error, "likely Python"   anything else: lexical error
// After a lexical error the scanner skips to the next blank (state lexerr), as flex does.
// Flex takes the longest match, then the earliest rule; these patterns never tie otherwise.

export type TokenType = 'IDENT' | 'NUMBER' | 'STRING' | 'NEWLINE' | ',' | '[' | ']' | '=' | '+=' | ';' | 'EOF';

export interface Token {
  type: TokenType;
  /** the source text (yytext) */
  text: string;
  /** IDENT/NUMBER: the text; STRING: the dequoted value */
  value: string;
  line: number;
  col: number;
}

export interface LexError {
  line: number;
  col: number;
  /** yytext: what the message says the error is near */
  near: string;
  message: string;
  likelyPython: boolean;
}

const isLower = (c: string) => c >= 'a' && c <= 'z';
const isDigit = (c: string) => c >= '0' && c <= '9';
const isIdentChar = (c: string) => isLower(c) || isDigit(c) || c === '_';
const isNumberChar = (c: string) => isDigit(c) || (c >= 'a' && c <= 'f') || c === 'x';

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"', "'": "'", '\\': '\\', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};

/**
 * xlu__cfgl_dequote: the quoted token's value. libxlu's numeric escapes are broken — `\x`
 * always fails ("invalid digit after backslash hex…") and `\NNN` drops the character — so
 * both are refused here, \x with libxlu's own message, octal because silently dropping a
 * character is worse than refusing.
 */
export function dequote(token: string): { value: string; error?: string } {
  let out = '';
  for (let i = 1; i < token.length - 1;) {
    const c = token[i++]!;
    if (c !== '\\') { out += c; continue; }
    const nc = token[i++]!;
    if (nc in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[nc];
    else if (nc === 'x') return { value: out, error: 'invalid digit after backslash hex numerical character escape in quoted string' };
    else if (nc >= '0' && nc <= '7') return { value: out, error: 'octal character escapes in quoted strings are not supported (xl drops the character); write the character itself' };
    else return { value: out, error: 'invalid character after backlash in quoted string' };
  }
  return { value: out };
}

export function tokenize(src: string): { tokens: Token[]; errors: LexError[] } {
  const tokens: Token[] = [];
  const errors: LexError[] = [];
  let i = 0;
  let line = 1;
  let col = 1;
  const push = (type: TokenType, text: string, value: string, l: number, c: number) => tokens.push({ type, text, value, line: l, col: c });
  const advance = (n: number) => {
    for (let k = 0; k < n; k++) {
      if (src[i] === '\n') { line++; col = 1; } else col++;
      i++;
    }
  };

  while (i < src.length) {
    const c = src[i]!;
    const l = line;
    const cl = col;
    if (c === ' ' || c === '\t') { advance(1); continue; }
    if (isLower(c)) {
      let j = i + 1;
      while (j < src.length && isIdentChar(src[j]!)) j++;
      const text = src.slice(i, j);
      push('IDENT', text, text, l, cl);
      advance(j - i);
      continue;
    }
    if (isDigit(c)) {
      let j = i + 1;
      while (j < src.length && isNumberChar(src[j]!)) j++;
      const text = src.slice(i, j);
      push('NUMBER', text, text, l, cl);
      advance(j - i);
      continue;
    }
    if (c === '\n') { push('NEWLINE', '\n', '', l, cl); advance(1); continue; }
    if (c === '#') {
      const nl = src.indexOf('\n', i);
      if (nl >= 0) {
        const text = src.slice(i, nl + 1);
        push('NEWLINE', text, '', l, cl);
        advance(text.length);
        continue;
      }
      // `#.*\n` needs the newline: flex falls to the catch-all rule (see parseXl's final newline)
    }
    if (c === '+' && src[i + 1] === '=') { push('+=', '+=', '', l, cl); advance(2); continue; }
    if (c === ',' || c === '[' || c === ']' || c === '=' || c === ';') { push(c as TokenType, c, '', l, cl); advance(1); continue; }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let closed = false;
      while (j < src.length && src[j] !== '\n') {
        if (src[j] === '\\' && j + 1 < src.length && src[j + 1] !== '\n') { j += 2; continue; }
        if (src[j] === c) { closed = true; break; }
        j++;
      }
      if (closed) {
        const text = src.slice(i, j + 1);
        const dq = dequote(text);
        if (dq.error) errors.push({ line: l, col: cl, near: text, message: dq.error, likelyPython: false });
        push('STRING', text, dq.value, l, cl);
        advance(text.length);
        continue;
      }
    }
    // Lexical error: this character, plus (state lexerr) the rest up to a blank or newline.
    const likelyPython = '+,-.():'.includes(c) && c !== ',';
    let j = i + 1;
    if (j < src.length && (src[j] === ' ' || src[j] === '\t')) j++;
    else while (j < src.length && src[j] !== ' ' && src[j] !== '\t' && src[j] !== '\n') j++;
    const near = src.slice(i, j);
    const crlf = near.includes('\r');
    errors.push({
      line: l, col: cl, near, likelyPython,
      message: crlf ? 'lexical error (a carriage return: convert the file from DOS to Unix line endings)' : 'lexical error',
    });
    advance(j - i);
  }
  push('EOF', '', '', line, col);
  return { tokens, errors };
}
