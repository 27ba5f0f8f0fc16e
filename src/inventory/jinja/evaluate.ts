// Over 400 lines: one evaluator, a case per node kind, filter and test of the subset, with Python's semantics.
// Evaluating the Jinja2 expression subset (parse.ts) as Ansible 2.14's
// Templar does: Python values and truthiness, Python comparisons (a
// TypeError where Python has one), AnsibleUndefined (attribute and item
// access on it give it back; printing, comparing, testing its truth fail),
// Jinja2's builtin filters and Ansible's (`bool`, `regex_*`, `match`,
// `search`). Two kinds of failure: JinjaError where Ansible's templating
// raises (strict: an error; else the entry is skipped, as Ansible does) and
// UnsupportedJinja for what postfleet does not evaluate (always an error).

import { literalEval } from "../python-literal.js";
import { pyFloatRepr, pyStrRepr } from "../python-repr.js";
import { UnsafeText, VaultedString } from "../vault.js";
import { parseExpression, parseTemplate, UnsupportedJinja, type Node } from "./parse.js";
import { pyRegExp, pySub, UnsupportedRegex } from "./pyregex.js";

export { UnsupportedJinja } from "./parse.js";

/** An error Ansible's templating raises too (undefined variable, TypeError, ...). */
export class JinjaError extends Error {}

/** Using an undefined value (Ansible's AnsibleUndefinedVariable). */
export class JinjaUndefinedError extends JinjaError {}

/** Jinja2's (Ansible's) undefined value. */
export class Undef {
  constructor(readonly hint: string) {}
}

export interface JinjaScope {
  /** A variable's raw value, or undefined when there is none. */
  lookup(name: string): { value: unknown } | undefined;
  /** Text of a `!vault` value. */
  reveal(v: VaultedString): string;
}

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Undef);

function typeName(v: unknown): string {
  if (v === null) return "NoneType";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "string") return "str";
  if (Array.isArray(v)) return "list";
  if (v instanceof Undef) return "AnsibleUndefined";
  return "dict";
}

function failUndef(u: Undef): never {
  throw new JinjaUndefinedError(u.hint);
}

/** Jinja2's finalize in Ansible: an undefined value anywhere in the output fails, None prints as ''. */
function finalize(v: unknown): unknown {
  const check = (x: unknown): void => {
    if (x instanceof Undef) failUndef(x);
    if (Array.isArray(x)) x.forEach(check);
    else if (isDict(x)) Object.values(x).forEach(check);
  };
  check(v);
  return v === null ? "" : v;
}

function hasUnsafe(v: unknown): boolean {
  if (v instanceof UnsafeText) return true;
  if (Array.isArray(v)) return v.some(hasUnsafe);
  if (isDict(v) && !(v instanceof VaultedString)) return Object.values(v).some(hasUnsafe);
  return false;
}

/** Python's truth value (an undefined value fails, as StrictUndefined does). */
export function truthy(v: unknown): boolean {
  if (v instanceof Undef) failUndef(v);
  if (v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isDict(v)) return Object.keys(v).length > 0;
  return true;
}

/** Python's repr(). */
export function pyRepr(v: unknown): string {
  if (v instanceof Undef) failUndef(v);
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return pyFloatRepr(v);
  if (typeof v === "string") return pyStrRepr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  return `{${Object.entries(v as Dict)
    .map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x)}`)
    .join(", ")}}`;
}

/** Python's str(). */
export function pyStr(v: unknown): string {
  return typeof v === "string" ? v : pyRepr(v);
}

const isNum = (v: unknown): v is number | boolean => typeof v === "number" || typeof v === "boolean";
const num = (v: number | boolean): number => (typeof v === "boolean" ? (v ? 1 : 0) : v);

/** Python's ==. */
export function pyEq(a: unknown, b: unknown): boolean {
  if (a instanceof Undef) failUndef(a);
  if (b instanceof Undef) failUndef(b);
  if (isNum(a) && isNum(b)) return num(a) === num(b);
  if (typeof a === "string" || typeof b === "string") return a === b;
  if (a === null || b === null) return a === b;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => pyEq(x, b[i]));
  if (isDict(a) && isDict(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && pyEq(a[k], b[k]));
  }
  return false;
}

/** Python's ordering comparison: negative, zero or positive; a TypeError as Python raises it. */
function pyCmp(a: unknown, b: unknown, op: string): number {
  if (a instanceof Undef) failUndef(a);
  if (b instanceof Undef) failUndef(b);
  if (isNum(a) && isNum(b)) return num(a) - num(b);
  if (typeof a === "string" && typeof b === "string") {
    // Code point order, as Python compares str.
    const x = [...a], y = [...b];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
      if (d) return d;
    }
    return x.length - y.length;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!pyEq(a[i], b[i])) return pyCmp(a[i], b[i], op);
    }
    return a.length - b.length;
  }
  throw new JinjaError(`'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

/** Python's `a in b`. */
function pyIn(a: unknown, b: unknown): boolean {
  if (b instanceof Undef) failUndef(b);
  if (typeof b === "string") {
    if (a instanceof Undef) failUndef(a);
    if (typeof a !== "string") throw new JinjaError(`'in <string>' requires string as left operand, not ${typeName(a)}`);
    return b.includes(a);
  }
  if (Array.isArray(b)) return b.some((x) => pyEq(a, x));
  if (isDict(b)) {
    if (a instanceof Undef) failUndef(a);
    if (Array.isArray(a) || isDict(a)) throw new JinjaError(`unhashable type: '${typeName(a)}'`);
    if (typeof a === "string") return Object.prototype.hasOwnProperty.call(b, a);
    // Keys are held as text: a number or None as a key is not supported.
    if (Object.keys(b).length === 0) return false;
    throw new UnsupportedJinja(`'in' with a ${typeName(a)} on the left of a mapping`);
  }
  throw new JinjaError(`argument of type '${typeName(b)}' is not iterable`);
}

// Python attributes of the types an inventory holds: Jinja2 returns them
// (bound methods) before it looks at items, which postfleet does not model.
const STR_ATTRS = new Set(
  "capitalize casefold center count encode endswith expandtabs find format format_map index isalnum isalpha isascii isdecimal isdigit isidentifier islower isnumeric isprintable isspace istitle isupper join ljust lower lstrip maketrans partition removeprefix removesuffix replace rfind rindex rjust rpartition rsplit rstrip split splitlines startswith strip swapcase title translate upper zfill".split(" "),
);
const LIST_ATTRS = new Set("append clear copy count extend index insert pop remove reverse sort".split(" "));
const DICT_ATTRS = new Set("clear copy fromkeys get items keys pop popitem setdefault update values".split(" "));
const NUM_ATTRS = new Set("as_integer_ratio bit_count bit_length conjugate denominator from_bytes imag numerator real to_bytes is_integer hex fromhex".split(" "));

function pythonAttr(obj: unknown, name: string): boolean {
  if (name.startsWith("__")) return true;
  if (typeof obj === "string") return STR_ATTRS.has(name);
  if (Array.isArray(obj)) return LIST_ATTRS.has(name);
  if (isNum(obj)) return NUM_ATTRS.has(name);
  if (isDict(obj)) return DICT_ATTRS.has(name);
  return false;
}

function item(obj: unknown, key: unknown, what: string): unknown {
  if (obj instanceof Undef) return obj;
  if (Array.isArray(obj) || typeof obj === "string") {
    if (typeof key === "number" || typeof key === "boolean") {
      if (typeof key === "number" && !Number.isInteger(key)) return new Undef(`'${what}' is undefined`);
      const n = num(key);
      const seq = typeof obj === "string" ? [...obj] : obj;
      const i = n < 0 ? seq.length + n : n;
      return i >= 0 && i < seq.length ? seq[i] : new Undef(`'${what}' is undefined (index ${n} out of range)`);
    }
    if (typeof key === "string" && pythonAttr(obj, key)) throw new UnsupportedJinja(`'${what}': '${key}' is a Python method of ${typeName(obj)} values, not data`);
    return new Undef(`'${what}' is undefined`);
  }
  if (isDict(obj)) {
    if (typeof key === "string") {
      if (Object.prototype.hasOwnProperty.call(obj, key)) return obj[key];
      if (pythonAttr(obj, key)) throw new UnsupportedJinja(`'${what}': '${key}' is a Python method of dict values, not data`);
      return new Undef(`'${what}' is undefined: the mapping has no key '${key}'`);
    }
    if (key === null || typeof key === "number" || typeof key === "boolean") throw new UnsupportedJinja(`'${what}': a ${typeName(key)} as a mapping key`);
    throw new JinjaError(`unhashable type: '${typeName(key)}'`);
  }
  if (typeof key === "string" && pythonAttr(obj, key)) throw new UnsupportedJinja(`'${what}': '${key}' is a Python attribute of ${typeName(obj)} values, not data`);
  return new Undef(`'${what}' is undefined`);
}

function attr(obj: unknown, name: string, what: string): unknown {
  if (obj instanceof Undef) return obj;
  if (pythonAttr(obj, name)) throw new UnsupportedJinja(`'${what}': '${name}' is a Python method or attribute of ${typeName(obj)} values, not data`);
  return item(obj, name, what);
}

function show(n: Node): string {
  switch (n.k) {
    case "name":
      return n.name;
    case "getattr":
      return `${show(n.obj)}.${n.attr}`;
    case "getitem":
      return `${show(n.obj)}[${n.key.k === "const" ? pyRepr(n.key.v) : "..."}]`;
    case "const":
      return pyRepr(n.v);
    default:
      return "...";
  }
}

function toText(v: unknown): string {
  if (v instanceof Undef) failUndef(v);
  return pyStr(v);
}

function iterate(v: unknown): unknown[] {
  if (v instanceof Undef) failUndef(v);
  if (typeof v === "string") return [...v];
  if (Array.isArray(v)) return v;
  if (isDict(v)) return Object.keys(v);
  throw new JinjaError(`'${typeName(v)}' object is not iterable`);
}

function regexFlags(ignorecase: unknown, multiline: unknown): { ignorecase: boolean; multiline: boolean } {
  return { ignorecase: truthy(ignorecase), multiline: truthy(multiline) };
}

function compile(pattern: unknown, flags: { ignorecase: boolean; multiline: boolean }, mode: "" | "g" | "y" = ""): RegExp {
  if (typeof pattern !== "string") throw new UnsupportedJinja(`a regular expression that is a ${typeName(pattern)}, not a string`);
  try {
    return pyRegExp(pattern, flags, mode);
  } catch (e) {
    if (e instanceof UnsupportedRegex) throw new UnsupportedJinja(`the regular expression '${pattern}': ${e.message}`);
    throw e;
  }
}

/** Python's int() of a string (whitespace, sign, underscores between digits). */
function pyIntText(s: string): number | undefined {
  const t = s.trim();
  if (!/^[+-]?\d+(?:_\d+)*$/.test(t)) return undefined;
  return parseInt(t.replace(/_/g, ""), 10);
}

/** Python's float() of a string. */
function pyFloatText(s: string): number | undefined {
  const t = s.trim().toLowerCase();
  if (/^[+-]?(?:inf|infinity)$/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (/^[+-]?nan$/.test(t)) return NaN;
  if (!/^[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:e[+-]?\d+(?:_\d+)*)?$/.test(t)) return undefined;
  return parseFloat(t.replace(/_/g, ""));
}

type Args = { args: unknown[]; kwargs: Record<string, unknown> };

/** Bind call arguments to parameter names (Python's rules), with defaults. */
function bind(fn: string, a: Args, params: [string, unknown][]): unknown[] {
  if (a.args.length > params.length) throw new JinjaError(`${fn}() takes at most ${params.length + 1} arguments`);
  const out = params.map(([, d]) => d);
  a.args.forEach((v, i) => (out[i] = v));
  for (const [k, v] of Object.entries(a.kwargs)) {
    const i = params.findIndex(([p]) => p === k);
    if (i < 0) throw new JinjaError(`${fn}() got an unexpected keyword argument '${k}'`);
    if (i < a.args.length) throw new JinjaError(`${fn}() got multiple values for argument '${k}'`);
    out[i] = v;
  }
  return out;
}

const FILTERS: Record<string, (v: unknown, a: Args) => unknown> = {
  default: (v, a) => {
    const [d, boolean] = bind("default", a, [["default_value", ""], ["boolean", false]]);
    return v instanceof Undef || (truthy(boolean) && !truthy(v)) ? d : v;
  },
  lower: (v, a) => (bind("lower", a, []), toText(v).toLowerCase()),
  upper: (v, a) => (bind("upper", a, []), toText(v).toUpperCase()),
  replace: (v, a) => {
    const [old, neu, count] = bind("replace", a, [["old", undefined], ["new", undefined], ["count", null]]);
    if (old === undefined || neu === undefined) throw new JinjaError("replace() missing required arguments 'old' and 'new'");
    const s = toText(v), o = toText(old), n = toText(neu);
    let limit = count === null ? -1 : typeof count === "number" && Number.isInteger(count) ? count : NaN;
    if (Number.isNaN(limit)) throw new JinjaError("'count' must be an integer");
    if (limit < 0) limit = Infinity;
    if (o === "") {
      const chars = [...s];
      let out = "";
      let done = 0;
      for (let i = 0; i <= chars.length; i++) {
        if (done < limit) {
          out += n;
          done++;
        }
        if (i < chars.length) out += chars[i];
      }
      return out;
    }
    let out = "";
    let i = 0;
    let done = 0;
    while (done < limit) {
      const j = s.indexOf(o, i);
      if (j < 0) break;
      out += s.slice(i, j) + n;
      i = j + o.length;
      done++;
    }
    return out + s.slice(i);
  },
  regex_replace: (v, a) => {
    const [pattern, replacement, ignorecase, multiline] = bind("regex_replace", a, [["pattern", ""], ["replacement", ""], ["ignorecase", false], ["multiline", false]]);
    const re = compile(pattern, regexFlags(ignorecase, multiline), "g");
    if (typeof replacement !== "string") throw new UnsupportedJinja(`a regex_replace replacement that is a ${typeName(replacement)}`);
    try {
      return pySub(re, replacement, toText(v));
    } catch (e) {
      if (e instanceof UnsupportedRegex) throw new UnsupportedJinja(`the replacement '${replacement}': ${e.message}`);
      throw e;
    }
  },
  regex_search: (v, a) => {
    if (a.args.length < 1) throw new JinjaError("regex_search() missing 1 required positional argument: 'regex'");
    const [pattern, ...refs] = a.args;
    for (const k of Object.keys(a.kwargs)) if (k !== "ignorecase" && k !== "multiline") throw new UnsupportedJinja(`regex_search's argument '${k}'`);
    const groups: (number | string)[] = refs.map((r) => {
      if (typeof r !== "string") throw new JinjaError(`'${typeName(r)}' object has no attribute 'startswith'`);
      const named = /^\\g<(\S+)>/.exec(r);
      if (r.startsWith("\\g")) {
        if (!named) throw new JinjaError("'NoneType' object has no attribute 'group'");
        return /^\d+$/.test(named[1]!) ? parseInt(named[1]!, 10) : named[1]!;
      }
      const n = /^\\(\d+)/.exec(r);
      if (r.startsWith("\\")) {
        if (!n) throw new JinjaError("'NoneType' object has no attribute 'group'");
        return parseInt(n[1]!, 10);
      }
      throw new JinjaError("Unknown argument");
    });
    const re = compile(pattern, regexFlags(a.kwargs["ignorecase"] ?? false, a.kwargs["multiline"] ?? false));
    const m = re.exec(toText(v));
    if (!m) return null;
    if (!groups.length) return m[0];
    return groups.map((g) => {
      if (typeof g === "number") {
        if (g >= m.length) throw new JinjaError("no such group");
        return m[g] ?? null;
      }
      if (!m.groups || !(g in m.groups)) throw new JinjaError("no such group");
      return m.groups[g] ?? null;
    });
  },
  int: (v, a) => {
    const [d, base] = bind("int", a, [["default", 0], ["base", 10]]);
    if (base !== 10) throw new UnsupportedJinja("the int filter with a base other than 10");
    if (v instanceof Undef) failUndef(v);
    if (typeof v === "string") {
      const i = pyIntText(v);
      if (i !== undefined) return i;
      const f = pyFloatText(v);
      if (f === undefined || Number.isNaN(f)) return d;
      if (!Number.isFinite(f)) throw new JinjaError("cannot convert float infinity to integer");
      return Math.trunc(f);
    }
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number") return Math.trunc(v);
    return d;
  },
  string: (v, a) => (bind("string", a, []), toText(v)),
  bool: (v, a) => {
    bind("bool", a, []);
    if (v instanceof Undef) failUndef(v);
    if (v === null || typeof v === "boolean") return v;
    if (typeof v === "string") return ["yes", "on", "1", "true"].includes(v.toLowerCase());
    return v === 1;
  },
  join: (v, a) => {
    const [d, attribute] = bind("join", a, [["d", ""], ["attribute", null]]);
    if (attribute !== null) throw new UnsupportedJinja("the join filter's attribute argument");
    return iterate(v).map(toText).join(toText(d));
  },
  first: (v, a) => {
    bind("first", a, []);
    const items = iterate(v);
    return items.length ? items[0] : new Undef("No first item, sequence was empty.");
  },
  last: (v, a) => {
    bind("last", a, []);
    if (v instanceof Undef) failUndef(v);
    if (!(typeof v === "string" || Array.isArray(v) || isDict(v))) throw new JinjaError(`'${typeName(v)}' object is not reversible`);
    const items = iterate(v);
    return items.length ? items[items.length - 1] : new Undef("No last item, sequence was empty.");
  },
  length: (v, a) => {
    bind("length", a, []);
    if (v instanceof Undef) failUndef(v);
    if (typeof v === "string") return [...v].length;
    if (Array.isArray(v)) return v.length;
    if (isDict(v)) return Object.keys(v).length;
    throw new JinjaError(`object of type '${typeName(v)}' has no len()`);
  },
};
FILTERS["d"] = FILTERS["default"]!;
FILTERS["count"] = FILTERS["length"]!;

function regexTest(kind: "match" | "search") {
  return (v: unknown, a: Args): boolean => {
    const [pattern, ignorecase, multiline] = bind(kind, a, [["pattern", ""], ["ignorecase", false], ["multiline", false]]);
    const text = toText(v);
    const re = compile(pattern, regexFlags(ignorecase, multiline), kind === "match" ? "y" : "");
    re.lastIndex = 0;
    return re.test(text);
  };
}

const TESTS: Record<string, (v: unknown, a: Args) => boolean> = {
  defined: (v, a) => (bind("defined", a, []), !(v instanceof Undef)),
  undefined: (v, a) => (bind("undefined", a, []), v instanceof Undef),
  match: regexTest("match"),
  search: regexTest("search"),
};

/** A filter or test name, with Ansible's collection prefixes taken off. */
function plainName(name: string, kind: "filter" | "test"): string {
  const builtin = kind === "filter" ? FILTERS : TESTS;
  const short = name.replace(/^ansible\.builtin\./, "");
  if (short in builtin && (short === name || !["d", "count", "default", "lower", "upper", "replace", "int", "string", "join", "first", "last", "length", "defined", "undefined"].includes(short))) return short;
  throw new UnsupportedJinja(`the ${kind} '${name}'`);
}

export class Evaluator {
  /** Values of variables already templated, and the variables being templated (loops). */
  private readonly cache = new Map<string, unknown>();
  private readonly active: string[] = [];

  constructor(private readonly scope: JinjaScope) {}

  /** A variable as Jinja2 sees it in Ansible: templated (AnsibleJ2Vars), undefined when missing. */
  variable(name: string): unknown {
    const found = this.scope.lookup(name);
    if (found && hasUnsafe(found.value)) this.usedUnsafe = true;
    if (this.cache.has(name)) return this.cache.get(name);
    if (!found) return new Undef(`'${name}' is undefined`);
    if (this.active.includes(name)) throw new JinjaError(`recursive loop detected in template string: ${[...this.active, name].join(" -> ")}`);
    this.active.push(name);
    let v: unknown;
    try {
      v = this.templateValue(found.value);
    } catch (e) {
      // An undefined variable inside another variable's template: that variable is undefined (lazily, as Ansible does).
      if (e instanceof JinjaUndefinedError) v = new Undef(`'${name}' is undefined: ${e.message}`);
      else throw e;
    } finally {
      this.active.pop();
    }
    this.cache.set(name, v);
    return v;
  }

  /** Whether an `!unsafe` value was used (Ansible then marks the result unsafe: never templated again). */
  usedUnsafe = false;

  /** Templar.template on a value: strings with `{{ }}` rendered, lists and mappings item by item. */
  templateValue(v: unknown): unknown {
    if (v instanceof UnsafeText) return v.text;
    if (v instanceof VaultedString) return this.scope.reveal(v);
    if (Array.isArray(v)) return v.map((x) => this.templateValue(x));
    if (isDict(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.templateValue(x)]));
    if (typeof v === "string" && (v.includes("{{") || v.includes("{%") || v.includes("{#"))) return this.renderString(v);
    return v;
  }

  /** A template string rendered with ansible_eval_concat: text, or a list/dict/bool when it reads as one. */
  renderString(text: string): unknown {
    // Templar's shortcut (its SINGLE_VAR): '{{ name }}' naming a number or bool (or None) is that value.
    const single = /^\{\{\s*(\w*)\s*\}\}$/u.exec(text);
    if (single) {
      const found = this.scope.lookup(single[1]!);
      if (found && (typeof found.value === "number" || typeof found.value === "boolean" || found.value === null)) return found.value;
    }
    const parts = parseTemplate(text);
    const values = parts.map((p) => (typeof p === "string" ? p : finalize(this.eval(p.expr))));
    if (values.length === 0) return "";
    const out = values.map(toText).join("");
    // The `string` filter's result (NativeJinjaText) alone is kept as text.
    const only = parts.length === 1 ? parts[0]! : undefined;
    if (only && typeof only !== "string" && only.expr.k === "filter" && only.expr.name === "string") return out;
    if (out.startsWith("{") || out.startsWith("[") || out === "True" || out === "False") {
      const lit = literalEval(out, true);
      if (lit !== undefined) return lit;
    }
    return out;
  }

  /** `{{ expression }}` as Ansible's constructed plugin composes it (_compose). */
  compose(expression: string): unknown {
    return this.renderString(`{{${expression}}}`);
  }

  /** A composed value to keep: its strings stay `!unsafe` when an unsafe value went into it (Ansible's wrap_var). */
  keep(v: unknown): unknown {
    if (!this.usedUnsafe) return v;
    const wrap = (x: unknown): unknown => (typeof x === "string" ? new UnsafeText(x) : Array.isArray(x) ? x.map(wrap) : isDict(x) ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, wrap(y)])) : x);
    return wrap(v);
  }

  /** `{% if condition %}`: the condition's truth. */
  condition(expression: string): boolean {
    return truthy(this.eval(parseExpression(expression, false)));
  }

  eval(n: Node): unknown {
    switch (n.k) {
      case "const":
        return n.v;
      case "name":
        return this.variable(n.name);
      case "list":
        return n.items.map((x) => this.eval(x));
      case "dict": {
        const out: Dict = {};
        for (const [k, v] of n.items) {
          const key = this.eval(k);
          if (key instanceof Undef) failUndef(key);
          if (typeof key !== "string") throw new UnsupportedJinja(`a ${typeName(key)} as a mapping key`);
          out[key] = this.eval(v);
        }
        return out;
      }
      case "getattr":
        return attr(this.eval(n.obj), n.attr, show(n));
      case "getitem": {
        const key = this.eval(n.key);
        if (key instanceof Undef) failUndef(key);
        return item(this.eval(n.obj), key, show(n));
      }
      case "neg": {
        const v = this.eval(n.v);
        if (v instanceof Undef) failUndef(v);
        if (!isNum(v)) throw new JinjaError(`bad operand type for unary -: '${typeName(v)}'`);
        return -num(v);
      }
      case "not":
        return !truthy(this.eval(n.v));
      case "and": {
        const a = this.eval(n.a);
        return truthy(a) ? this.eval(n.b) : a;
      }
      case "or": {
        const a = this.eval(n.a);
        return truthy(a) ? a : this.eval(n.b);
      }
      case "compare": {
        let left = this.eval(n.first);
        for (const { op, v } of n.ops) {
          const right = this.eval(v);
          let ok: boolean;
          if (op === "==") ok = pyEq(left, right);
          else if (op === "!=") ok = !pyEq(left, right);
          else if (op === "in") ok = pyIn(left, right);
          else if (op === "not in") ok = !pyIn(left, right);
          else {
            const c = pyCmp(left, right, op);
            ok = op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : c >= 0;
          }
          if (!ok) return false;
          left = right;
        }
        return true;
      }
      case "concat":
        return n.items.map((x) => toText(this.eval(x))).join("");
      case "filter": {
        const name = plainName(n.name, "filter");
        const v = this.eval(n.v);
        return FILTERS[name]!(v, this.args(n));
      }
      case "test": {
        const name = plainName(n.name, "test");
        const v = this.eval(n.v);
        return TESTS[name]!(v, this.args(n));
      }
    }
  }

  private args(n: { args: Node[]; kwargs: Record<string, Node> }): Args {
    return { args: n.args.map((x) => this.eval(x)), kwargs: Object.fromEntries(Object.entries(n.kwargs).map(([k, x]) => [k, this.eval(x)])) };
  }
}
