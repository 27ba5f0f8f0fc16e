// Over 400 lines: one recursive-descent parser, one function per precedence level of Jinja2's grammar.
// A Jinja2 expression parser for the subset inventory plugins use: names,
// attribute and item access, literals (strings, numbers, true/false/none,
// lists, dicts), comparisons, and/or/not, in / not in, `~`, filters with
// arguments and `is` tests. The grammar and precedence are Jinja2's
// (jinja2/parser.py); any other construct is an UnsupportedJinja error that
// names it.

export class UnsupportedJinja extends Error {}

export type Node =
  | { k: "const"; v: unknown }
  | { k: "name"; name: string }
  | { k: "list"; items: Node[] }
  | { k: "dict"; items: [Node, Node][] }
  | { k: "getattr"; obj: Node; attr: string }
  | { k: "getitem"; obj: Node; key: Node }
  | { k: "neg"; v: Node }
  | { k: "not"; v: Node }
  | { k: "and" | "or"; a: Node; b: Node }
  | { k: "compare"; first: Node; ops: { op: string; v: Node }[] }
  | { k: "concat"; items: Node[] }
  | { k: "filter"; name: string; v: Node; args: Node[]; kwargs: Record<string, Node> }
  | { k: "test"; name: string; v: Node; args: Node[]; kwargs: Record<string, Node> };

interface Tok {
  t: "name" | "string" | "int" | "float" | "op" | "end";
  v: string;
  value?: unknown;
}

const OPS = ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"];

/** Jinja2's string literal: Python's unicode-escape of the text between the quotes. */
function unescape(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== "\\" || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const d = s[++i]!;
    const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", f: "\f", v: "\v", a: "\x07", b: "\b", "\\": "\\", "'": "'", '"': '"', "\n": "" };
    if (d in simple) out += simple[d];
    else if (/[0-7]/.test(d)) {
      const m = /^[0-7]{1,3}/.exec(s.slice(i))!;
      out += String.fromCodePoint(parseInt(m[0], 8));
      i += m[0].length - 1;
    } else if (d === "x" || d === "u" || d === "U") {
      const n = d === "x" ? 2 : d === "u" ? 4 : 8;
      const hex = s.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new UnsupportedJinja(`a string with a malformed \\${d} escape`);
      out += String.fromCodePoint(parseInt(hex, 16));
      i += n;
    } else if (d === "N") throw new UnsupportedJinja("a string with a \\N{...} escape");
    else out += "\\" + d;
  }
  return out;
}

/**
 * Split an expression into tokens. `rawStrings`: string literals keep their
 * backslashes (Ansible doubles them inside `{{ }}` before Jinja2 reads them).
 */
function lex(src: string, rawStrings: boolean): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    const ws = /^\s+/.exec(rest);
    if (ws) {
      i += ws[0].length;
      continue;
    }
    const str = /^(?:'([^'\\]*(?:\\[\s\S][^'\\]*)*)'|"([^"\\]*(?:\\[\s\S][^"\\]*)*)")/.exec(rest);
    if (str) {
      const body = (str[1] ?? str[2])!.replace(/\r\n?/g, "\n");
      toks.push({ t: "string", v: str[0], value: rawStrings ? body : unescape(body) });
      i += str[0].length;
      continue;
    }
    const flt = /^(?:\d+_)*\d+(?:(?:\.(?:\d+_)*\d+)?[eE][+-]?(?:\d+_)*\d+|\.(?:\d+_)*\d+)/.exec(rest);
    if (flt && !(toks.length && toks[toks.length - 1]!.v === ".")) {
      toks.push({ t: "float", v: flt[0], value: parseFloat(flt[0].replace(/_/g, "")) });
      i += flt[0].length;
      continue;
    }
    const int = /^(?:0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0[xX](?:_?[\da-fA-F])+|[1-9](?:_?\d)*|0(?:_?0)*)/.exec(rest);
    if (int) {
      const t = int[0].replace(/_/g, "");
      const value = /^0[bBoOxX]/.test(t) ? Number(t.toLowerCase()) : parseInt(t, 10);
      toks.push({ t: "int", v: int[0], value });
      i += int[0].length;
      continue;
    }
    const name = /^[\p{L}_][\p{L}\p{N}_]*/u.exec(rest);
    if (name) {
      toks.push({ t: "name", v: name[0] });
      i += name[0].length;
      continue;
    }
    const op = OPS.find((o) => rest.startsWith(o));
    if (!op) throw new UnsupportedJinja(`unexpected character '${rest[0]}'`);
    toks.push({ t: "op", v: op });
    i += op.length;
  }
  toks.push({ t: "end", v: "" });
  return toks;
}

const UNSUPPORTED_OPS: Record<string, string> = {
  "+": "the operator '+'",
  "-": "the operator '-'",
  "*": "the operator '*'",
  "/": "the operator '/'",
  "//": "the operator '//'",
  "%": "the operator '%'",
  "**": "the operator '**'",
};

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  private get cur(): Tok {
    return this.toks[this.i]!;
  }
  private look(n = 1): Tok {
    return this.toks[Math.min(this.i + n, this.toks.length - 1)]!;
  }
  private isOp(v: string): boolean {
    return this.cur.t === "op" && this.cur.v === v;
  }
  private isName(v: string): boolean {
    return this.cur.t === "name" && this.cur.v === v;
  }
  private expectOp(v: string): void {
    if (!this.isOp(v)) throw new UnsupportedJinja(`expected '${v}' but found ${this.describe()} (a Jinja2 syntax error)`);
    this.i++;
  }
  private describe(): string {
    return this.cur.t === "end" ? "the end of the expression" : `'${this.cur.v}'`;
  }

  top(): Node {
    const n = this.expression();
    if (this.cur.t !== "end") {
      if (this.isName("if")) throw new UnsupportedJinja("the conditional expression 'x if y else z'");
      if (this.isOp(",")) throw new UnsupportedJinja("a tuple ('a, b')");
      const u = UNSUPPORTED_OPS[this.cur.v];
      if (this.cur.t === "op" && u) throw new UnsupportedJinja(u);
      throw new UnsupportedJinja(`${this.describe()} after a complete expression (a Jinja2 syntax error)`);
    }
    return n;
  }

  private expression(): Node {
    const n = this.or();
    if (this.isName("if")) throw new UnsupportedJinja("the conditional expression 'x if y else z'");
    return n;
  }

  private or(): Node {
    let a = this.and();
    while (this.isName("or")) {
      this.i++;
      a = { k: "or", a, b: this.and() };
    }
    return a;
  }

  private and(): Node {
    let a = this.not();
    while (this.isName("and")) {
      this.i++;
      a = { k: "and", a, b: this.not() };
    }
    return a;
  }

  private not(): Node {
    if (this.isName("not")) {
      this.i++;
      return { k: "not", v: this.not() };
    }
    return this.compare();
  }

  private compare(): Node {
    const first = this.math1();
    const ops: { op: string; v: Node }[] = [];
    for (;;) {
      if (this.cur.t === "op" && ["==", "!=", "<", "<=", ">", ">="].includes(this.cur.v)) {
        const op = this.cur.v;
        this.i++;
        ops.push({ op, v: this.math1() });
      } else if (this.isName("in")) {
        this.i++;
        ops.push({ op: "in", v: this.math1() });
      } else if (this.isName("not") && this.look().t === "name" && this.look().v === "in") {
        this.i += 2;
        ops.push({ op: "not in", v: this.math1() });
      } else break;
    }
    return ops.length ? { k: "compare", first, ops } : first;
  }

  private math1(): Node {
    const n = this.concat();
    if (this.isOp("+") || this.isOp("-")) throw new UnsupportedJinja(UNSUPPORTED_OPS[this.cur.v]!);
    return n;
  }

  private concat(): Node {
    const items = [this.math2()];
    while (this.isOp("~")) {
      this.i++;
      items.push(this.math2());
    }
    return items.length === 1 ? items[0]! : { k: "concat", items };
  }

  private math2(): Node {
    const n = this.unary(true);
    const u = UNSUPPORTED_OPS[this.cur.v];
    if (this.cur.t === "op" && u && !(this.cur.v === "+" || this.cur.v === "-")) throw new UnsupportedJinja(u);
    return n;
  }

  private unary(withFilter: boolean): Node {
    let n: Node;
    if (this.isOp("-")) {
      this.i++;
      n = { k: "neg", v: this.unary(false) };
    } else if (this.isOp("+")) throw new UnsupportedJinja("the unary operator '+'");
    else n = this.primary();
    n = this.postfix(n);
    if (withFilter) n = this.filterExpr(n);
    return n;
  }

  private primary(): Node {
    const t = this.cur;
    if (t.t === "name") {
      this.i++;
      if (t.v === "true" || t.v === "True") return { k: "const", v: true };
      if (t.v === "false" || t.v === "False") return { k: "const", v: false };
      if (t.v === "none" || t.v === "None") return { k: "const", v: null };
      if (["and", "or", "not", "in", "is", "if", "else"].includes(t.v)) throw new UnsupportedJinja(`'${t.v}' where a value is expected (a Jinja2 syntax error)`);
      return { k: "name", name: t.v };
    }
    if (t.t === "string") {
      let s = "";
      while (this.cur.t === "string") {
        s += this.cur.value as string;
        this.i++;
      }
      return { k: "const", v: s };
    }
    if (t.t === "int" || t.t === "float") {
      this.i++;
      if (t.t === "float" && Number.isInteger(t.value)) throw new UnsupportedJinja(`the float literal ${t.v} (a whole float cannot be told from an integer here)`);
      return { k: "const", v: t.value };
    }
    if (this.isOp("(")) {
      this.i++;
      if (this.isOp(")")) throw new UnsupportedJinja("an empty tuple '()'");
      const n = this.expression();
      if (this.isOp(",")) throw new UnsupportedJinja("a tuple ('(a, b)')");
      this.expectOp(")");
      return n;
    }
    if (this.isOp("[")) {
      this.i++;
      const items: Node[] = [];
      while (!this.isOp("]")) {
        if (items.length) this.expectOp(",");
        if (this.isOp("]")) break;
        items.push(this.expression());
      }
      this.i++;
      return { k: "list", items };
    }
    if (this.isOp("{")) {
      this.i++;
      const items: [Node, Node][] = [];
      while (!this.isOp("}")) {
        if (items.length) this.expectOp(",");
        if (this.isOp("}")) break;
        const key = this.expression();
        this.expectOp(":");
        items.push([key, this.expression()]);
      }
      this.i++;
      return { k: "dict", items };
    }
    throw new UnsupportedJinja(`${this.describe()} where a value is expected (a Jinja2 syntax error)`);
  }

  private postfix(n: Node): Node {
    for (;;) {
      if (this.isOp(".")) {
        this.i++;
        const t = this.cur;
        if (t.t === "name") {
          this.i++;
          n = { k: "getattr", obj: n, attr: t.v };
        } else if (t.t === "int") {
          this.i++;
          n = { k: "getitem", obj: n, key: { k: "const", v: t.value } };
        } else throw new UnsupportedJinja(`'.' followed by ${this.describe()} (a Jinja2 syntax error)`);
      } else if (this.isOp("[")) {
        this.i++;
        if (this.isOp(":")) throw new UnsupportedJinja("a slice ('x[a:b]')");
        const key = this.expression();
        if (this.isOp(":")) throw new UnsupportedJinja("a slice ('x[a:b]')");
        if (this.isOp(",")) throw new UnsupportedJinja("a tuple subscript ('x[a, b]')");
        this.expectOp("]");
        n = { k: "getitem", obj: n, key };
      } else if (this.isOp("(")) {
        throw new UnsupportedJinja(`a function or method call ('${callee(n)}(...)')`);
      } else return n;
    }
  }

  private dottedName(): string {
    if (this.cur.t !== "name") throw new UnsupportedJinja(`expected a filter or test name but found ${this.describe()}`);
    let name = this.cur.v;
    this.i++;
    while (this.isOp(".")) {
      this.i++;
      if (this.cur.t !== "name") throw new UnsupportedJinja(`expected a name after '${name}.'`);
      name += "." + this.cur.v;
      this.i++;
    }
    return name;
  }

  private callArgs(): { args: Node[]; kwargs: Record<string, Node> } {
    this.expectOp("(");
    const args: Node[] = [];
    const kwargs: Record<string, Node> = {};
    let first = true;
    while (!this.isOp(")")) {
      if (!first) this.expectOp(",");
      first = false;
      if (this.isOp(")")) break;
      if (this.isOp("*") || this.isOp("**")) throw new UnsupportedJinja("*args / **kwargs in a call");
      if (this.cur.t === "name" && this.look().t === "op" && this.look().v === "=") {
        const key = this.cur.v;
        this.i += 2;
        kwargs[key] = this.expression();
      } else {
        if (Object.keys(kwargs).length) throw new UnsupportedJinja("a positional argument after a keyword argument (a Jinja2 syntax error)");
        args.push(this.expression());
      }
    }
    this.i++;
    return { args, kwargs };
  }

  private filterExpr(n: Node): Node {
    for (;;) {
      if (this.isOp("|")) {
        this.i++;
        const name = this.dottedName();
        const call = this.isOp("(") ? this.callArgs() : { args: [], kwargs: {} };
        n = { k: "filter", name, v: n, ...call };
      } else if (this.isName("is")) {
        this.i++;
        let negated = false;
        if (this.isName("not")) {
          this.i++;
          negated = true;
        }
        const name = this.dottedName();
        let call: { args: Node[]; kwargs: Record<string, Node> } = { args: [], kwargs: {} };
        if (this.isOp("(")) call = this.callArgs();
        else if (
          (["name", "string", "int", "float"].includes(this.cur.t) || this.isOp("[") || this.isOp("{") || this.isOp("(")) &&
          !(this.cur.t === "name" && ["else", "or", "and"].includes(this.cur.v))
        ) {
          if (this.isName("is")) throw new UnsupportedJinja("'is' after a test (a Jinja2 syntax error)");
          call = { args: [this.postfix(this.primary())], kwargs: {} };
        }
        const test: Node = { k: "test", name, v: n, ...call };
        n = negated ? { k: "not", v: test } : test;
      } else if (this.isOp("(")) {
        throw new UnsupportedJinja(`a function or method call ('${callee(n)}(...)')`);
      } else return n;
    }
  }
}

function callee(n: Node): string {
  if (n.k === "name") return n.name;
  if (n.k === "getattr") return `${callee(n.obj)}.${n.attr}`;
  if (n.k === "filter") return `...|${n.name}`;
  return "...";
}

// Parsed expressions, shared by every host (an inventory evaluates the same few texts many times).
const parsed = new Map<string, Node>();

/** Parse one Jinja2 expression (the text between `{{` and `}}`). */
export function parseExpression(src: string, rawStrings = false): Node {
  const key = `${rawStrings ? "r" : "e"}${src}`;
  let n = parsed.get(key);
  if (!n) {
    n = new Parser(lex(src, rawStrings)).top();
    if (parsed.size > 10_000) parsed.clear();
    parsed.set(key, n);
  }
  return n;
}

export type TemplatePart = string | { expr: Node; src: string };

/**
 * Split a template string into text and `{{ expr }}` parts. `{% %}` and
 * `{# #}` are unsupported. Expressions keep their backslashes (Ansible's
 * _escape_backslashes).
 */
export function parseTemplate(text: string): TemplatePart[] {
  if (text.includes("{%")) throw new UnsupportedJinja("a Jinja2 statement ({% ... %})");
  if (text.includes("{#")) throw new UnsupportedJinja("a Jinja2 comment ({# ... #})");
  const parts: TemplatePart[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf("{{", i);
    if (open < 0) {
      parts.push(text.slice(i));
      break;
    }
    if (open > i) parts.push(text.slice(i, open));
    const close = findClose(text, open + 2);
    if (close < 0) throw new UnsupportedJinja("'{{' without a closing '}}' (a Jinja2 syntax error)");
    let src = text.slice(open + 2, close);
    // Whitespace control: '{{-' strips the whitespace before the tag, '-}}' the whitespace after it.
    if (src.startsWith("-")) {
      src = src.slice(1);
      const prev = parts[parts.length - 1];
      if (typeof prev === "string") parts[parts.length - 1] = prev.replace(/\s+$/, "");
    }
    let stripAfter = false;
    if (src.endsWith("-")) {
      src = src.slice(0, -1);
      stripAfter = true;
    }
    if (src.startsWith("+")) throw new UnsupportedJinja("'{{+'");
    src = src.trim();
    parts.push({ expr: parseExpression(src, true), src });
    i = close + 2;
    if (stripAfter) while (i < text.length && /\s/.test(text[i]!)) i++;
  }
  return parts.filter((p) => p !== "");
}

/** The `}}` closing an expression: outside string literals and brackets, as Jinja2's lexer balances them. */
function findClose(text: string, from: number): number {
  let i = from;
  let depth = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      i++;
      while (i < text.length && text[i] !== c) i += text[i] === "\\" ? 2 : 1;
      i++;
      continue;
    }
    if (depth === 0 && text.startsWith("}}", i)) return i;
    if (c === "(" || c === "[" || c === "{") depth++;
    else if ((c === ")" || c === "]" || c === "}") && depth > 0) depth--;
    i++;
  }
  return -1;
}
