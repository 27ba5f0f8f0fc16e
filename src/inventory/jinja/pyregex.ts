// Python `re` patterns and re.sub templates, translated to JavaScript
// RegExps with Python's meaning: `.` and `$` as Python has them, Unicode
// `\d`, `\w`, `\s`, `\b`, `(?P<name>...)`, `{` taken literally where it is not
// a repeat. What cannot be translated faithfully (inline flags, conditional
// groups, possessive repeats, \N{...}) is an UnsupportedRegex error.

export class UnsupportedRegex extends Error {}

const WORD = "\\p{L}\\p{N}_";
const SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const SYNTAX = new Set([..."^$\\.*+?()[]{}|/"]);

export interface PyRegexFlags {
  ignorecase?: boolean;
  multiline?: boolean;
}

function hexEscape(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

/** One escaped character (after the backslash) as JavaScript regex text; `inClass`: inside [...]. */
function escapeOut(p: string, i: number, inClass: boolean, groups: number): [string, number] {
  const c = p[i];
  if (c === undefined) throw new UnsupportedRegex("a pattern ending with a backslash (Python: bad escape)");
  const simple: Record<string, string> = { n: "\\n", t: "\\t", r: "\\r", f: "\\f", v: "\\v", a: "\\x07" };
  if (simple[c]) return [simple[c]!, i + 1];
  if (c === "d") return [inClass ? "\\p{Nd}" : "\\p{Nd}", i + 1];
  if (c === "D") {
    if (inClass) throw new UnsupportedRegex("\\D inside [...]");
    return ["\\P{Nd}", i + 1];
  }
  if (c === "w") return [inClass ? WORD : `[${WORD}]`, i + 1];
  if (c === "s") return [inClass ? SPACE : `[${SPACE}]`, i + 1];
  if (c === "W" || c === "S") {
    if (inClass) throw new UnsupportedRegex(`\\${c} inside [...]`);
    return [c === "W" ? `[^${WORD}]` : `[^${SPACE}]`, i + 1];
  }
  if (c === "b") return [inClass ? "\\x08" : `(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))`, i + 1];
  if (!inClass && c === "B") return [`(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))`, i + 1];
  if (!inClass && c === "A") return ["(?<![\\s\\S])", i + 1];
  if (!inClass && c === "Z") return ["(?![\\s\\S])", i + 1];
  if (c === "x") {
    const m = /^[0-9a-fA-F]{2}/.exec(p.slice(i + 1));
    if (!m) throw new UnsupportedRegex("an incomplete \\x escape");
    return [hexEscape(parseInt(m[0], 16)), i + 3];
  }
  if (c === "u" || c === "U") {
    const n = c === "u" ? 4 : 8;
    const m = new RegExp(`^[0-9a-fA-F]{${n}}`).exec(p.slice(i + 1));
    if (!m) throw new UnsupportedRegex(`an incomplete \\${c} escape`);
    return [hexEscape(parseInt(m[0], 16)), i + 1 + n];
  }
  if (/[0-9]/.test(c)) {
    const oct = /^(?:0[0-7]{0,2}|[0-7]{3})/.exec(p.slice(i));
    if (oct) return [hexEscape(parseInt(oct[0], 8)), i + oct[0].length];
    if (inClass) throw new UnsupportedRegex("a group reference inside [...]");
    const m = /^[0-9]{1,2}/.exec(p.slice(i))!;
    if (parseInt(m[0], 10) > groups) throw new UnsupportedRegex(`a reference to group ${m[0]}, which is not defined before it`);
    return [`\\${m[0]}`, i + m[0].length];
  }
  if (/[A-Za-z]/.test(c)) throw new UnsupportedRegex(`the escape \\${c}`);
  return [literal(c, inClass), i + 1];
}

function literal(c: string, inClass: boolean): string {
  if (inClass) return c === "]" || c === "\\" || c === "^" || c === "-" || c === "[" ? `\\${c}` : c;
  return SYNTAX.has(c) ? `\\${c}` : c;
}

/** A Python pattern as a JavaScript RegExp (flags u, plus i for ignorecase; `sticky` for re.match). */
export function pyRegExp(pattern: string, flags: PyRegexFlags = {}, mode: "" | "g" | "y" = ""): RegExp {
  let out = "";
  let i = 0;
  let groups = 0;
  const p = pattern;
  while (i < p.length) {
    const c = p[i]!;
    if (c === "\\") {
      const [s, j] = escapeOut(p, i + 1, false, groups);
      out += s;
      i = j;
      continue;
    }
    if (c === "[") {
      let j = i + 1;
      let cls = "[";
      if (p[j] === "^") {
        cls += "^";
        j++;
      }
      let first = true;
      while (j < p.length && (p[j] !== "]" || first)) {
        const d = p[j]!;
        first = false;
        if (d === "\\") {
          const [s, k] = escapeOut(p, j + 1, true, groups);
          cls += s;
          j = k;
        } else if (d === "-" && cls.length > 1 && p[j + 1] !== "]") {
          cls += "-";
          j++;
        } else {
          cls += literal(d, true);
          j++;
        }
      }
      if (j >= p.length) throw new UnsupportedRegex("an unterminated [ (Python: unterminated character set)");
      out += cls + "]";
      i = j + 1;
      continue;
    }
    if (c === "(") {
      if (p[i + 1] !== "?") {
        groups++;
        out += "(";
        i++;
        continue;
      }
      const rest = p.slice(i + 2);
      const named = /^P<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
      if (named) {
        groups++;
        out += `(?<${named[1]}>`;
        i += 2 + named[0].length;
        continue;
      }
      const backref = /^P=([A-Za-z_][A-Za-z0-9_]*)\)/.exec(rest);
      if (backref) {
        out += `\\k<${backref[1]}>`;
        i += 2 + backref[0].length;
        continue;
      }
      const plain = /^(?::|=|!|<=|<!)/.exec(rest);
      if (plain) {
        out += `(?${plain[0]}`;
        i += 2 + plain[0].length;
        continue;
      }
      if (rest.startsWith("#")) {
        const end = p.indexOf(")", i);
        if (end < 0) throw new UnsupportedRegex("an unterminated (?# comment");
        i = end + 1;
        continue;
      }
      throw new UnsupportedRegex(`the group '(?${rest.slice(0, 3)}' (inline flags, conditional or atomic groups)`);
    }
    if (c === "{") {
      const q = /^\{(\d*)(?:(,)(\d*))?\}/.exec(p.slice(i));
      if (q && (q[1] || q[2])) {
        out += `{${q[1] || "0"}${q[2] ? `,${q[3] ?? ""}` : ""}}`;
        i += q[0].length;
      } else {
        out += "\\{";
        i++;
      }
      continue;
    }
    if (c === "}") {
      out += "\\}";
      i++;
      continue;
    }
    if ((c === "*" || c === "+" || c === "?" || c === "}") && p[i + 1] === "+") throw new UnsupportedRegex("a possessive repeat (*+, ++, ?+)");
    if (c === ".") {
      out += "[^\\n]";
      i++;
      continue;
    }
    if (c === "^") {
      out += flags.multiline ? "(?<![^\\n])" : "(?<![\\s\\S])";
      i++;
      continue;
    }
    if (c === "$") {
      out += flags.multiline ? "(?![^\\n])" : "(?=\\n?(?![\\s\\S]))";
      i++;
      continue;
    }
    if (c === "/") {
      out += "\\/";
      i++;
      continue;
    }
    out += c;
    i++;
  }
  try {
    return new RegExp(out, `u${flags.ignorecase ? "i" : ""}${mode}`);
  } catch (e) {
    throw new UnsupportedRegex(`a pattern postfleet cannot translate (${(e as Error).message})`);
  }
}

type TemplatePart = string | { group: number | string };

/** A re.sub replacement template: text, \1 and \g<name|n> references, Python escapes. */
export function pyReplacement(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = "";
  let i = 0;
  const flush = () => {
    if (text) parts.push(text);
    text = "";
  };
  const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", f: "\f", v: "\v", a: "\x07", b: "\b", "\\": "\\" };
  while (i < template.length) {
    const c = template[i]!;
    if (c !== "\\") {
      text += c;
      i++;
      continue;
    }
    const d = template[i + 1];
    if (d === undefined) throw new UnsupportedRegex("a replacement ending with a backslash (Python: bad escape)");
    if (d === "g") {
      const m = /^<([^>]*)>/.exec(template.slice(i + 2));
      if (!m) throw new UnsupportedRegex("a \\g without <name> in the replacement");
      flush();
      parts.push({ group: /^\d+$/.test(m[1]!) ? parseInt(m[1]!, 10) : m[1]! });
      i += 2 + m[0].length;
      continue;
    }
    if (/[0-9]/.test(d)) {
      const oct = /^(?:0[0-7]{0,2}|[0-7]{3})/.exec(template.slice(i + 1));
      if (oct) {
        text += String.fromCodePoint(parseInt(oct[0], 8));
        i += 1 + oct[0].length;
        continue;
      }
      const m = /^[0-9]{1,2}/.exec(template.slice(i + 1))!;
      flush();
      parts.push({ group: parseInt(m[0], 10) });
      i += 1 + m[0].length;
      continue;
    }
    if (simple[d]) {
      text += simple[d];
      i += 2;
      continue;
    }
    if (/[A-Za-z]/.test(d)) throw new UnsupportedRegex(`the escape \\${d} in a replacement`);
    text += c + d; // Python keeps other unknown escapes as they are
    i += 2;
  }
  flush();
  return parts;
}

/** re.sub(pattern, template, value). */
export function pySub(re: RegExp, template: string, value: string): string {
  const parts = pyReplacement(template);
  const g = new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`);
  return value.replace(g, (...args: unknown[]) => {
    const hasNamed = typeof args[args.length - 1] === "object" && args[args.length - 1] !== null;
    const named = (hasNamed ? args[args.length - 1] : {}) as Record<string, string | undefined>;
    const numbered = args.slice(0, hasNamed ? -3 : -2) as (string | undefined)[];
    return parts
      .map((p) => {
        if (typeof p === "string") return p;
        if (typeof p.group === "number") {
          if (p.group >= numbered.length) throw new UnsupportedRegex(`invalid group reference ${p.group} in the replacement`);
          return numbered[p.group] ?? "";
        }
        if (!(p.group in named)) throw new UnsupportedRegex(`unknown group name '${p.group}' in the replacement`);
        return named[p.group] ?? "";
      })
      .join("");
  });
}
