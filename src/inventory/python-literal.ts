// Python's ast.literal_eval, as far as Ansible's INI plugin relies on it:
// numbers (with _, 0x/0o/0b, floats), strings (quotes, prefixes, escapes,
// implicit concatenation), True/False/None, lists, tuples (also bare `1, 2`),
// dicts, unary +/- on numbers. Anything else is "not a literal" and the INI
// plugin keeps the text as a string. Tuples become arrays (as JSON shows them).

export type PyValue = null | boolean | number | string | PyValue[] | { [k: string]: PyValue };

class NotLiteral extends Error {}

type Tok =
  | { t: "num"; v: number }
  | { t: "str"; v: string }
  | { t: "name"; v: string }
  | { t: "op"; v: string }
  | { t: "end" };

const NAME_RE = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*/;
const NUM_RE =
  /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\.?)(?:[eE][+-]?[0-9](?:_?[0-9])*)?)[jJ]?/;

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === " " || c === "\t" || c === "\f" || c === "\r" || c === "\n") {
      i++;
      continue;
    }
    if (c === "#") break; // Python comment to end of line
    if (c === "\\" && (src[i + 1] === "\n" || i + 1 === src.length)) throw new NotLiteral();
    const rest = src.slice(i);
    const nm = NAME_RE.exec(rest);
    if (nm) {
      const word = nm[0];
      const q = src[i + word.length];
      if ((q === "'" || q === '"') && /^(?:[rRuUbB]|[bB][rR]|[rR][bB])$/.test(word)) {
        if (/[fF]/.test(word)) throw new NotLiteral();
        const [s, next] = readString(src, i + word.length, /[rR]/.test(word));
        pushString(toks, s);
        i = next;
        continue;
      }
      toks.push({ t: "name", v: word });
      i += word.length;
      continue;
    }
    if (c === "'" || c === '"') {
      const [s, next] = readString(src, i, false);
      pushString(toks, s);
      i = next;
      continue;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      const m = NUM_RE.exec(rest);
      if (!m) throw new NotLiteral();
      const text = m[0];
      const after = src[i + text.length];
      if (after !== undefined && /[A-Za-z0-9_]/.test(after)) throw new NotLiteral();
      if (/[jJ]$/.test(text)) throw new NotLiteral(); // complex numbers: not representable
      toks.push({ t: "num", v: parseNumber(text) });
      i += text.length;
      continue;
    }
    if ("[](){},:+-".includes(c)) {
      toks.push({ t: "op", v: c });
      i++;
      continue;
    }
    throw new NotLiteral();
  }
  toks.push({ t: "end" });
  return toks;
}

function pushString(toks: Tok[], s: string): void {
  const last = toks[toks.length - 1];
  if (last && last.t === "str") last.v += s; // implicit concatenation
  else toks.push({ t: "str", v: s });
}

function parseNumber(text: string): number {
  const clean = text.replace(/_/g, "");
  if (/^0[xX]/.test(clean)) return parseInt(clean.slice(2), 16);
  if (/^0[oO]/.test(clean)) return parseInt(clean.slice(2), 8);
  if (/^0[bB]/.test(clean)) return parseInt(clean.slice(2), 2);
  if (/^[0-9]+$/.test(clean)) {
    // Python 3 forbids leading zeros in non-zero decimal integers (08, 010).
    if (clean.length > 1 && clean[0] === "0" && /[1-9]/.test(clean)) throw new NotLiteral();
    return parseInt(clean, 10);
  }
  return parseFloat(clean);
}

function readString(src: string, start: number, raw: boolean): [string, number] {
  const q = src[start]!;
  const triple = src.slice(start, start + 3) === q.repeat(3);
  const delim = triple ? q.repeat(3) : q;
  let i = start + delim.length;
  let out = "";
  while (i < src.length) {
    if (src.startsWith(delim, i)) return [out, i + delim.length];
    const c = src[i]!;
    if (!triple && c === "\n") throw new NotLiteral();
    if (c === "\\") {
      const n = src[i + 1];
      if (n === undefined) throw new NotLiteral();
      if (raw) {
        out += c + n;
        i += 2;
        continue;
      }
      const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"', a: "\x07", b: "\b", f: "\f", v: "\v", "\n": "" };
      if (n in simple) {
        out += simple[n];
        i += 2;
        continue;
      }
      if (/[0-7]/.test(n)) {
        const m = /^[0-7]{1,3}/.exec(src.slice(i + 1))![0];
        out += String.fromCodePoint(parseInt(m, 8));
        i += 1 + m.length;
        continue;
      }
      const hexLen = n === "x" ? 2 : n === "u" ? 4 : n === "U" ? 8 : 0;
      if (hexLen) {
        const h = src.slice(i + 2, i + 2 + hexLen);
        if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(h)) throw new NotLiteral();
        const cp = parseInt(h, 16);
        if (cp > 0x10ffff) throw new NotLiteral();
        out += String.fromCodePoint(cp);
        i += 2 + hexLen;
        continue;
      }
      if (n === "N") throw new NotLiteral();
      out += c + n; // unknown escapes keep the backslash
      i += 2;
      continue;
    }
    out += c;
    i++;
  }
  throw new NotLiteral();
}

class Parser {
  private i = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly jsonNames = false,
  ) {}

  private peek(): Tok {
    return this.toks[this.i]!;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === "op" && t.v === v;
  }
  private expect(v: string): void {
    if (!this.isOp(v)) throw new NotLiteral();
    this.i++;
  }

  top(): PyValue {
    const first = this.value();
    if (this.isOp(",")) {
      const items = [first];
      while (this.isOp(",")) {
        this.i++;
        if (this.peek().t === "end") break;
        items.push(this.value());
      }
      if (this.peek().t !== "end") throw new NotLiteral();
      return items;
    }
    if (this.peek().t !== "end") throw new NotLiteral();
    return first;
  }

  private value(): PyValue {
    const t = this.peek();
    if (t.t === "num" || t.t === "str") {
      this.i++;
      return t.v;
    }
    if (t.t === "name") {
      this.i++;
      if (t.v === "True") return true;
      if (t.v === "False") return false;
      if (t.v === "None") return null;
      // Ansible's Json2Python: the names true, false and null are constants too.
      if (this.jsonNames && t.v === "true") return true;
      if (this.jsonNames && t.v === "false") return false;
      if (this.jsonNames && t.v === "null") return null;
      throw new NotLiteral();
    }
    if (t.t === "op") {
      if (t.v === "+" || t.v === "-") {
        // A sign applies to a number literal only (parentheses vanish in Python's AST: -(1) is -1, --1 is not a literal).
        this.i++;
        let parens = 0;
        while (this.isOp("(")) {
          this.i++;
          parens++;
        }
        const n = this.peek();
        if (n.t !== "num") throw new NotLiteral();
        this.i++;
        for (; parens > 0; parens--) this.expect(")");
        return t.v === "-" ? -n.v : n.v;
      }
      if (t.v === "[") return this.sequence("[", "]");
      if (t.v === "(") {
        this.i++;
        if (this.isOp(")")) {
          this.i++;
          return [];
        }
        const first = this.value();
        if (this.isOp(")")) {
          this.i++;
          return first; // parenthesised value, not a tuple
        }
        const items = [first];
        while (this.isOp(",")) {
          this.i++;
          if (this.isOp(")")) break;
          items.push(this.value());
        }
        this.expect(")");
        return items;
      }
      if (t.v === "{") return this.dict();
    }
    throw new NotLiteral();
  }

  private sequence(open: string, close: string): PyValue[] {
    this.expect(open);
    const items: PyValue[] = [];
    while (!this.isOp(close)) {
      items.push(this.value());
      if (this.isOp(",")) this.i++;
      else break;
    }
    this.expect(close);
    return items;
  }

  private dict(): PyValue {
    this.expect("{");
    const out: Record<string, PyValue> = {};
    if (this.isOp("}")) {
      this.i++;
      return out;
    }
    while (!this.isOp("}")) {
      const k = this.value();
      if (!this.isOp(":")) throw new NotLiteral(); // a set literal: not representable here
      this.i++;
      const v = this.value();
      if (typeof k === "object" && k !== null) throw new NotLiteral(); // unhashable key
      out[pyKeyString(k)] = v;
      if (this.isOp(",")) this.i++;
      else break;
    }
    this.expect("}");
    return out;
  }
}

/** How Python's json module writes a non-string dict key. */
export function pyKeyString(k: PyValue): string {
  if (k === null) return "null";
  if (k === true) return "true";
  if (k === false) return "false";
  return String(k);
}

/**
 * ast.literal_eval(text), or undefined when the text is not a Python literal;
 * `jsonNames`: true/false/null are constants too (Ansible's Json2Python).
 */
export function literalEval(text: string, jsonNames = false): PyValue | undefined {
  try {
    const src = text.replace(/^[ \t]+/, "");
    return new Parser(tokenize(src), jsonNames).top();
  } catch (e) {
    if (e instanceof NotLiteral) return undefined;
    throw e;
  }
}

/** The INI plugin's value typing: a Python literal when it is one, else the text. */
export function iniValue(text: string): PyValue {
  const v = literalEval(text);
  return v === undefined ? text : v;
}
