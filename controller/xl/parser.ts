// The xl.cfg grammar, as Xen's bison parser (tools/libs/util/libxlu_cfg_y.y):
//   file:       stmts | stmts assignment
//   stmt:       assignment endstmt | endstmt | error NEWLINE
//   assignment: IDENT '=' value | IDENT "+=" value
//   endstmt:    NEWLINE | ';'
//   value:      atom | '[' nlok valuelist ']'        atom: STRING | NUMBER
//   valuelist:  /* empty */ | values | values ',' nlok
//   values:     value nlok | values ',' nlok value nlok
//   nlok:       /* empty */ | nlok NEWLINE
// and its semantics (libxlu_cfg.c): the last setting of a name wins; `+=` appends to the
// previous value of the name (strings concatenate, lists join; mixing them is an error);
// numbers are read at use with strtol(…, 0). Errors recover at the next NEWLINE, as bison's
// `error NEWLINE` rule does, so one run reports every bad line.
import { tokenize, type Token, type TokenType } from './lexer.ts';

export type XlValue =
  | { type: 'string'; value: string; line: number; col: number }
  | { type: 'list'; values: XlValue[]; line: number; col: number };

export interface XlSetting {
  name: string;
  op: '=' | '+=';
  value: XlValue;
  line: number;
  col: number;
}

export interface XlParseError {
  line: number;
  col: number;
  message: string;
}

export interface XlParseResult {
  /** every setting in order; later ones win */
  settings: XlSetting[];
  errors: XlParseError[];
  /** libxlu's hint when a failed file looks like the Python that xm used to accept */
  likelyPython: boolean;
}

const NAMES: Record<TokenType, string> = {
  IDENT: 'IDENT', NUMBER: 'NUMBER', STRING: 'STRING', NEWLINE: 'NEWLINE', ',': "','", '[': "'['", ']': "']'",
  '=': "'='", '+=': '"+="', ';': "';'", EOF: '$end',
};

/** `near `text'` as libxlu's yyerror prints it (a trailing newline shown as <newline>). */
/** Control characters shown as C escapes, so a message stays one printable line. */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => ({ '\r': '\\r', '\t': '\\t', '\n': '\\n' })[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function near(tok: Token): string {
  if (tok.type === 'EOF') return 'near end of file';
  let t = tok.text;
  if (t.endsWith('\n')) t = t.slice(0, -1);
  t = t.replace(/[ \t]+$/, '');
  return t ? `near \`${printable(t)}'` : 'near <newline>';
}

class Parser {
  private pos = 0;
  readonly settings: XlSetting[] = [];
  readonly errors: XlParseError[] = [];
  /** bison suppresses new messages until three tokens have been shifted after an error */
  private quiet = 0;

  constructor(private readonly tokens: Token[], private readonly lexErrLines: Set<number>) {}

  private get tok(): Token { return this.tokens[this.pos]!; }
  /** the lookahead's type (a method, so TypeScript does not narrow it across shifts) */
  private peek(): TokenType { return this.tokens[this.pos]!.type; }
  private shift(): Token {
    const t = this.tokens[this.pos]!;
    if (t.type !== 'EOF') this.pos++;
    if (this.quiet > 0) this.quiet--;
    return t;
  }

  private fail(expected: TokenType[]): never {
    const t = this.tok;
    if (this.quiet === 0 && !this.lexErrLines.has(t.line)) {
      const exp = expected.length ? `, expecting ${expected.map((e) => NAMES[e]).join(' or ')}` : '';
      this.errors.push({ line: t.line, col: t.col, message: `config parsing error ${near(t)}: syntax error, unexpected ${NAMES[t.type]}${exp}` });
    }
    throw new SyntaxRecovery();
  }

  private nlok(): void {
    while (this.peek() === 'NEWLINE') this.shift();
  }

  private value(): XlValue {
    const t = this.tok;
    if (t.type === 'STRING' || t.type === 'NUMBER') {
      this.shift();
      return { type: 'string', value: t.value, line: t.line, col: t.col };
    }
    if (t.type !== '[') this.fail(['STRING', 'NUMBER', '[']);
    this.shift();
    this.nlok();
    const list: XlValue = { type: 'list', values: [], line: t.line, col: t.col };
    if (this.peek() === ']') { this.shift(); return list; }
    for (;;) {
      list.values.push(this.value());
      this.nlok();
      if (this.peek() === ']') { this.shift(); return list; }
      if (this.peek() !== ',') this.fail([',', ']']);
      this.shift();
      this.nlok();
      if (this.peek() === ']') { this.shift(); return list; }
    }
  }

  private assignment(): void {
    const name = this.shift();
    const opTok = this.tok;
    if (opTok.type !== '=' && opTok.type !== '+=') this.fail(['=', '+=']);
    this.shift();
    const value = this.value();
    this.store({ name: name.value, op: opTok.type, value, line: value.line, col: name.col });
  }

  /** xlu__cfg_set_store: `+=` folds the previous value of the name into this one. */
  private store(s: XlSetting): void {
    if (s.op === '+=') {
      const prev = this.findLast(s.name);
      if (prev) {
        if (prev.value.type !== s.value.type) {
          this.errors.push({ line: s.line, col: s.value.col, message: `config parsing error near \`${s.name}': can't add [list] to "string" or vice versa` });
          return;
        }
        if (prev.value.type === 'string' && s.value.type === 'string') s.value = { ...s.value, value: prev.value.value + s.value.value };
        else if (prev.value.type === 'list' && s.value.type === 'list') s.value = { ...s.value, values: [...prev.value.values, ...s.value.values] };
      }
    }
    this.settings.push(s);
  }

  private findLast(name: string): XlSetting | undefined {
    for (let i = this.settings.length - 1; i >= 0; i--) if (this.settings[i]!.name === name) return this.settings[i];
    return undefined;
  }

  parse(): void {
    while (this.peek() !== 'EOF') {
      try {
        const t = this.tok;
        if (t.type === 'NEWLINE' || t.type === ';') { this.shift(); continue; }
        if (t.type !== 'IDENT') this.fail(['EOF', 'IDENT', 'NEWLINE', ';']);
        this.assignment();
        const end = this.tok;
        if (end.type === 'NEWLINE' || end.type === ';') this.shift();
        else if (end.type !== 'EOF') this.fail(['EOF', 'NEWLINE', ';']);
      } catch (e) {
        if (!(e instanceof SyntaxRecovery)) throw e;
        // error NEWLINE: discard tokens up to and including the next NEWLINE
        while (this.peek() !== 'NEWLINE' && this.peek() !== 'EOF') this.pos++;
        if (this.peek() === 'NEWLINE') this.pos++;
        // bison: three shifts before errors are reported again; shifting NEWLINE was the first
        this.quiet = 2;
      }
    }
  }
}

class SyntaxRecovery extends Error {}

/**
 * Parses xl.cfg text. A final newline is supplied when missing: libxlu needs `#.*\n` to end a
 * comment, so a file whose last line is a comment without one would be a "lexical error" to
 * xl; every editor-written file has the newline, so nothing else changes.
 */
export function parseXl(text: string): XlParseResult {
  const src = text.endsWith('\n') || text === '' ? text : text + '\n';
  const lex = tokenize(src);
  const lexErrLines = new Set(lex.errors.map((e) => e.line));
  const p = new Parser(lex.tokens, lexErrLines);
  p.parse();
  const errors: XlParseError[] = [
    ...lex.errors.map((e) => ({ line: e.line, col: e.col, message: `config parsing error near \`${printable(e.near.replace(/[ \t]+$/, ''))}': ${e.message}` })),
    ...p.errors,
  ].sort((a, b) => a.line - b.line || a.col - b.col);
  return { settings: p.settings, errors, likelyPython: lex.errors.some((e) => e.likelyPython) };
}

/**
 * C's strtol(s, &end, 0) on a whole string, as xlu_cfg_get_long uses it: leading blanks and a
 * sign, then 0x… hex, 0… octal or decimal; the whole string must be consumed.
 */
export function strtol0(s: string): { ok: true; value: number } | { ok: false; reason: 'invalid' | 'range' } {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return { ok: false, reason: 'invalid' };
  const digits = m[2]!;
  let big: bigint;
  if (/^0[xX]/.test(digits)) big = BigInt(digits);
  else if (digits.length > 1 && digits.startsWith('0')) big = BigInt('0o' + digits.slice(1));
  else big = BigInt(digits);
  if (m[1] === '-') big = -big;
  // long is 64-bit on the x86-64 hosts xl runs on
  if (big > 0x7fffffffffffffffn || big < -0x8000000000000000n) return { ok: false, reason: 'range' };
  if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) return { ok: false, reason: 'range' };
  return { ok: true, value: Number(big) };
}
