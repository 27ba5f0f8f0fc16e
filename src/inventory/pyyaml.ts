// YAML written as `ansible-inventory --yaml` writes it: yaml.dump with
// Ansible's dumper, which is PyYAML's CSafeDumper (libyaml's emitter) where
// libyaml is installed, as on Ansible's usual platforms; default_flow_style=False,
// allow_unicode=True: sorted keys, 2-space indent, sequences in a mapping
// not indented, lines folded at 80 columns, a string quoted when it would
// read back as another type, characters outside the BMP escaped, `!vault |`
// for vault values, &id001/*id001 for objects met twice. Written from
// libyaml's behavior (scalar analysis, style choice, writers).

import { pyFloatRepr } from "./python-repr.js";
import { UnsafeText, VaultedString } from "./vault.js";

/** libyaml's IS_BREAK. */
const LINE_BREAKS = "\r\n\x85\u2028\u2029";

/** libyaml's IS_PRINTABLE: LF, ASCII graphic and space, U+00A0..U+D7FF, U+E000..U+FFFD but U+FEFF (nothing beyond the BMP). */
function printable(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  return cp === 0x0a || (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff);
}
const BLANK_OR_BREAK = "\0 \t\r\n\x85\u2028\u2029";
const WIDTH = 80;
const INDENT = 2;

// YAML 1.1 implicit types (PyYAML's resolver): a plain string matching one of these reads back as something else.
const IMPLICIT = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:<<)$/,
  /^(?:~|null|Null|NULL|)$/,
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  /^(?:=)$/,
];

/** True when PyYAML would read `s` written plain back as a string (Python's `$` also matches before a final newline). */
function plainIsString(s: string): boolean {
  const t = s.endsWith("\n") ? s.slice(0, -1) : s;
  return !IMPLICIT.some((re) => re.test(t) || (s !== t && re.test(s)));
}

interface Analysis {
  chars: string[];
  empty: boolean;
  multiline: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
  allowBlock: boolean;
}

function analyze(scalar: string): Analysis {
  const chars = Array.from(scalar);
  if (!chars.length) return { chars, empty: true, multiline: false, allowBlockPlain: true, allowSingleQuoted: true, allowBlock: false };
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  if (scalar.startsWith("---") || scalar.startsWith("...")) blockIndicators = true;
  let precededByWs = true;
  let followedByWs = chars.length === 1 || BLANK_OR_BREAK.includes(chars[1]!);
  let previousSpace = false;
  let previousBreak = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (i === 0) {
      if ("#,[]{}&*!|>'\"%@`".includes(ch)) blockIndicators = true;
      if ("?:".includes(ch) && followedByWs) blockIndicators = true;
      if (ch === "-" && followedByWs) blockIndicators = true;
    } else {
      if (ch === ":" && followedByWs) blockIndicators = true;
      if (ch === "#" && precededByWs) blockIndicators = true;
    }
    if (LINE_BREAKS.includes(ch)) lineBreaks = true;
    if (!printable(ch)) special = true;
    if (ch === " ") {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (LINE_BREAKS.includes(ch)) {
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWs = BLANK_OR_BREAK.includes(ch);
    followedByWs = i + 2 >= chars.length || BLANK_OR_BREAK.includes(chars[i + 2]!);
  }
  let allowBlockPlain = true;
  let allowSingleQuoted = true;
  let allowBlock = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) allowBlockPlain = false;
  if (trailingSpace) allowBlock = false;
  if (breakSpace) allowBlockPlain = allowSingleQuoted = false;
  if (spaceBreak || special) allowBlockPlain = allowSingleQuoted = allowBlock = false;
  if (lineBreaks) allowBlockPlain = false;
  if (blockIndicators) allowBlockPlain = false;
  return { chars, empty: false, multiline: lineBreaks, allowBlockPlain, allowSingleQuoted, allowBlock };
}

const ESCAPES: Record<string, string> = {
  "\0": "0",
  "\x07": "a",
  "\x08": "b",
  "\t": "t",
  "\n": "n",
  "\x0b": "v",
  "\x0c": "f",
  "\r": "r",
  "\x1b": "e",
  '"': '"',
  "\\": "\\",
  "\x85": "N",
  "\xa0": "_",
  "\u2028": "L",
  "\u2029": "P",
};

interface Scalar {
  kind: "scalar";
  value: string;
  /** The plain form reads back as the same value (PyYAML's implicit[0]). */
  plainImplicit: boolean;
  tag?: string;
  style?: "|";
}

class Emitter {
  private readonly out: string[] = [];
  private column = 0;
  private whitespace = true;
  private indention = true;
  private indent: number | null = null;
  /** Objects met more than once get an anchor (&id001, then *id001), numbered as PyYAML's serializer numbers them. */
  private readonly anchors = new Map<object, string>();
  private readonly emitted = new Set<object>();

  constructor(root: unknown) {
    const seen = new Set<object>();
    const walk = (v: unknown): void => {
      if (v === null || typeof v !== "object" || v instanceof UnsafeText) return;
      if (seen.has(v)) {
        if (!this.anchors.has(v)) this.anchors.set(v, `id${String(this.anchors.size + 1).padStart(3, "0")}`);
        return;
      }
      seen.add(v);
      if (Array.isArray(v)) v.forEach(walk);
      else if (!(v instanceof VaultedString)) for (const k of sortedKeys(v as Record<string, unknown>)) walk((v as Record<string, unknown>)[k]);
    };
    walk(root);
  }

  text(): string {
    return this.out.join("");
  }

  private write(data: string, width = Array.from(data).length): void {
    this.column += width;
    this.out.push(data);
  }

  private lineBreak(data = "\n"): void {
    this.whitespace = true;
    this.indention = true;
    this.column = 0;
    this.out.push(data);
  }

  private writeIndent(): void {
    const indent = this.indent ?? 0;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.lineBreak();
    if (this.column < indent) {
      this.out.push(" ".repeat(indent - this.column));
      this.column = indent;
    }
    this.whitespace = true;
    this.indention = true;
  }

  private indicator(ind: string, needWhitespace: boolean, whitespace = false, indention = false): void {
    const data = this.whitespace || !needWhitespace ? ind : " " + ind;
    this.whitespace = whitespace;
    this.indention = this.indention && indention;
    this.write(data);
  }

  private increaseIndent(flow: boolean, indentless = false): void {
    if (this.indent === null) this.indent = flow ? INDENT : 0;
    else if (!indentless) this.indent += INDENT;
  }

  document(v: unknown): void {
    this.node(v, { mapping: false, simpleKey: false });
    this.indent = null;
    this.writeIndent();
  }

  private node(v: unknown, ctx: { mapping: boolean; simpleKey: boolean }): void {
    const anchor = v !== null && typeof v === "object" ? this.anchors.get(v) : undefined;
    if (anchor) {
      if (this.emitted.has(v as object)) return this.indicator(`*${anchor}`, true);
      this.emitted.add(v as object);
      this.indicator(`&${anchor}`, true);
    }
    if (Array.isArray(v)) return this.sequence(v, ctx.mapping);
    if (v !== null && typeof v === "object" && !(v instanceof VaultedString) && !(v instanceof UnsafeText)) return this.mapping(v as Record<string, unknown>);
    this.scalar(toScalar(v), ctx.simpleKey);
  }

  private flowEmpty(open: string, close: string): void {
    this.indicator(open, true, true);
    this.indicator(close, false);
  }

  private mapping(m: Record<string, unknown>): void {
    const keys = sortedKeys(m);
    if (!keys.length) return this.flowEmpty("{", "}");
    const saved = this.indent;
    this.increaseIndent(false);
    for (const k of keys) {
      this.writeIndent();
      const a = analyze(k);
      if (Buffer.byteLength(k) <= 128 && !a.multiline) {
        this.scalar(toScalar(k), true);
        this.indicator(":", false);
      } else {
        this.indicator("?", true, false, true);
        this.scalar(toScalar(k), false);
        this.writeIndent();
        this.indicator(":", true, false, true);
      }
      this.node(m[k], { mapping: true, simpleKey: false });
    }
    this.indent = saved;
  }

  private sequence(items: unknown[], mappingContext: boolean): void {
    if (!items.length) return this.flowEmpty("[", "]");
    const saved = this.indent;
    this.increaseIndent(false, mappingContext && !this.indention);
    for (const it of items) {
      this.writeIndent();
      this.indicator("-", true, false, true);
      this.node(it, { mapping: false, simpleKey: false });
    }
    this.indent = saved;
  }

  private scalar(s: Scalar, simpleKey: boolean): void {
    const saved = this.indent;
    this.increaseIndent(true);
    const a = analyze(s.value);
    // libyaml's yaml_emitter_select_scalar_style.
    let style: "" | "'" | '"' | "|" = s.style ?? "";
    if (simpleKey && a.multiline) style = '"';
    if (style === "" && (!a.allowBlockPlain || (a.empty && simpleKey) || !s.plainImplicit)) style = "'";
    if (style === "'" && !a.allowSingleQuoted) style = '"';
    if (style === "|" && (!a.allowBlock || simpleKey)) style = '"';
    if (s.tag) this.indicator(s.tag, true);
    const split = !simpleKey;
    if (style === "") this.plain(a.chars, split);
    else if (style === "'") this.singleQuoted(a.chars, split);
    else if (style === '"') this.doubleQuoted(a.chars, split);
    else this.literal(a.chars);
    this.indent = saved;
  }

  private plain(t: string[], split: boolean): void {
    if (!this.whitespace && t.length) this.write(" ");
    let spaces = false;
    for (let i = 0; i < t.length; i++) {
      const ch = t[i]!;
      if (ch === " ") {
        if (split && !spaces && this.column > WIDTH && t[i + 1] !== " ") this.writeIndent();
        else this.write(ch);
        spaces = true;
      } else {
        this.write(ch);
        this.indention = false;
        spaces = false;
      }
    }
    this.whitespace = false;
    this.indention = false;
  }

  private singleQuoted(t: string[], split: boolean): void {
    this.indicator("'", true);
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < t.length; i++) {
      const ch = t[i]!;
      if (ch === " ") {
        if (split && !spaces && this.column > WIDTH && i !== 0 && i !== t.length - 1 && t[i + 1] !== " ") this.writeIndent();
        else this.write(ch);
        spaces = true;
      } else if (LINE_BREAKS.includes(ch)) {
        if (!breaks && ch === "\n") this.lineBreak();
        this.lineBreak(ch);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.write(ch === "'" ? "''" : ch, 1);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    if (breaks) this.writeIndent();
    this.indicator("'", false);
  }

  private doubleQuoted(t: string[], split: boolean): void {
    this.indicator('"', true);
    let spaces = false;
    for (let i = 0; i < t.length; i++) {
      const ch = t[i]!;
      const cp = ch.codePointAt(0)!;
      if (!printable(ch) || cp === 0xfeff || LINE_BREAKS.includes(ch) || ch === '"' || ch === "\\") {
        const hex = cp.toString(16).toUpperCase();
        this.write(ch in ESCAPES ? "\\" + ESCAPES[ch] : cp <= 0xff ? "\\x" + hex.padStart(2, "0") : cp <= 0xffff ? "\\u" + hex.padStart(4, "0") : "\\U" + hex.padStart(8, "0"));
        spaces = false;
      } else if (ch === " ") {
        if (split && !spaces && this.column > WIDTH && i !== 0 && i !== t.length - 1) {
          this.writeIndent();
          if (t[i + 1] === " ") this.write("\\");
        } else this.write(ch);
        spaces = true;
      } else {
        this.write(ch);
        spaces = false;
      }
    }
    this.indicator('"', false);
  }

  private literal(t: string[]): void {
    let hints = "";
    if (t.length) {
      if (` ${LINE_BREAKS}`.includes(t[0]!)) hints += String(INDENT);
      if (!LINE_BREAKS.includes(t[t.length - 1]!)) hints += "-";
      else if (t.length === 1 || LINE_BREAKS.includes(t[t.length - 2]!)) hints += "+";
    } else hints = "-";
    this.indicator("|" + hints, true);
    this.lineBreak();
    let breaks = true;
    for (const ch of t) {
      if (LINE_BREAKS.includes(ch)) {
        this.lineBreak(ch);
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.write(ch);
        this.indention = false;
        breaks = false;
      }
    }
  }
}

function sortedKeys(m: Record<string, unknown>): string[] {
  return Object.keys(m).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function toScalar(v: unknown): Scalar {
  if (v instanceof VaultedString) return { kind: "scalar", value: v.ciphertext, plainImplicit: false, tag: "!vault", style: "|" };
  if (v instanceof UnsafeText) return { kind: "scalar", value: v.text, plainImplicit: plainIsString(v.text) };
  if (v === null || v === undefined) return { kind: "scalar", value: "null", plainImplicit: true };
  if (typeof v === "boolean") return { kind: "scalar", value: v ? "true" : "false", plainImplicit: true };
  if (typeof v === "number") {
    if (Number.isNaN(v)) return { kind: "scalar", value: ".nan", plainImplicit: true };
    if (!Number.isFinite(v)) return { kind: "scalar", value: v > 0 ? ".inf" : "-.inf", plainImplicit: true };
    let r = pyFloatRepr(v).toLowerCase();
    // PyYAML's float representer: 1e+16 is written 1.0e+16.
    if (!Number.isInteger(v) && !r.includes(".") && r.includes("e")) r = r.replace("e", ".0e");
    return { kind: "scalar", value: r, plainImplicit: true };
  }
  const s = String(v);
  return { kind: "scalar", value: s, plainImplicit: plainIsString(s) };
}

/** yaml.dump(value, Dumper=AnsibleDumper, default_flow_style=False, allow_unicode=True). */
export function pyYamlDump(value: unknown): string {
  const e = new Emitter(value);
  e.document(value);
  return e.text();
}
