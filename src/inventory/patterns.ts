// Host patterns exactly as Ansible's InventoryManager evaluates them:
// split on `,` (or `:` when the whole is not one address), regular terms
// first, then `&` intersections, then `!` exclusions; each term matches group
// names (fnmatch glob, or `~regex`), then host names when no group matched or
// the term is a glob/regex; subscripts [i], [-i], [a:b], [a:] on the result.
// Unlike Ansible, a pattern it would silently widen is an error: a regex that
// does not compile, an empty `~`, a stray `[` or `]` that its splitting drops
// (`~[` would become `~`, every host) and a limit that names nothing.

import { readFileSync, statSync } from "node:fs";
import { parseAddress } from "./address.js";
import { InventoryError } from "./errors.js";
import type { Host, InventoryData } from "./model.js";
import { decodeUtf8 } from "./text.js";

const TERM = /(?:[^\s:[\]]|\[[^\]]*\])+/g;

export function splitHostPattern(pattern: string): string[] {
  let parts: string[];
  if (pattern.includes(",")) parts = pattern.split(",");
  else if (parseAddress(pattern)) parts = [pattern];
  else {
    parts = pattern.match(TERM) ?? [];
    // Ansible drops what its split cannot place (an unbalanced bracket) and goes on with the rest.
    const dropped = pattern.replace(TERM, "").replace(/[\s:]/g, "");
    if (dropped) {
      throw new InventoryError(`invalid host pattern '${pattern}': unbalanced '${dropped[0]}' (a bracket must enclose a range or a character class, e.g. web[0:2] or mx[12]*; quote a regex with a comma after it)`);
    }
  }
  return parts.map((p) => p.trim()).filter((p) => p);
}

export function orderPatterns(patterns: string[]): string[] {
  const regular: string[] = [];
  const inter: string[] = [];
  const excl: string[] = [];
  for (const p of patterns) {
    if (!p) continue;
    if (p[0] === "!") excl.push(p);
    else if (p[0] === "&") inter.push(p);
    else regular.push(p);
  }
  return [...(regular.length ? regular : ["all"]), ...inter, ...excl];
}

/** Python's fnmatch.translate, anchored: `*` also crosses dots. */
export function fnmatchToRegExp(pat: string): RegExp {
  let re = "";
  let i = 0;
  const n = pat.length;
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  while (i < n) {
    const c = pat[i]!;
    i++;
    if (c === "*") {
      if (!re.endsWith(".*")) re += ".*";
    } else if (c === "?") re += ".";
    else if (c === "[") {
      let j = i;
      if (j < n && pat[j] === "!") j++;
      if (j < n && pat[j] === "]") j++;
      while (j < n && pat[j] !== "]") j++;
      if (j >= n) re += "\\[";
      else {
        let stuff = pat.slice(i, j);
        i = j + 1;
        let neg = false;
        if (stuff[0] === "!") {
          neg = true;
          stuff = stuff.slice(1);
        }
        const body = stuff.replace(/\\/g, "\\\\").replace(/\]/g, "\\]").replace(/\[/g, "\\[");
        if (!body && !neg) re += "(?!)";
        else if (!body && neg) re += ".";
        else re += `[${neg ? "^" : body[0] === "^" ? "\\" : ""}${body}]`;
      }
    } else re += esc(c);
  }
  return new RegExp(`^(?:${re})$`, "su");
}

function compileTerm(term: string): RegExp {
  if (term === "~") throw new InventoryError("invalid host pattern '~': the regular expression after '~' is empty (it would match every host)");
  try {
    if (term[0] !== "~") return fnmatchToRegExp(term);
    // Python's re.match: anchored at the start only.
    const src = `^(?:${term.slice(1).replace(/\(\?P</g, "(?<").replace(/\(\?P=(\w+)\)/g, "\\k<$1>")})`;
    try {
      return new RegExp(src, "u");
    } catch {
      return new RegExp(src);
    }
  } catch {
    throw new InventoryError(`invalid host pattern '${term}': not a valid ${term[0] === "~" ? "regular expression" : "glob"}`);
  }
}

const SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/s;

export class PatternMatcher {
  private readonly cache = new Map<string, Host[]>();
  constructor(
    private readonly inv: InventoryData,
    private readonly warn: (msg: string) => void,
  ) {}

  private enumerate(pattern: string): Host[] {
    const results: Host[] = [];
    const re = compileTerm(pattern);
    const groups = [...this.inv.groups.keys()].filter((g) => re.test(g));
    for (const g of groups) for (const h of this.inv.groups.get(g)!.getHosts()) results.push(h);
    if (!groups.length || pattern[0] === "~" || /[.?*[]/.test(pattern)) {
      for (const [name, h] of this.inv.hosts) if (re.test(name)) results.push(h);
    }
    if (!results.length && !groups.length && pattern !== "all") this.warn(`Could not match supplied host pattern, ignoring: ${pattern}`);
    return results;
  }

  private matchOne(pattern: string): Host[] {
    const p = pattern[0] === "&" || pattern[0] === "!" ? pattern.slice(1) : pattern;
    const hit = this.cache.get(p);
    if (hit) return hit;
    let expr = p;
    let subscript: [number, number | undefined] | undefined;
    if (p[0] !== "~") {
      const m = SUBSCRIPT.exec(p);
      if (m) {
        expr = m[1]!;
        if (m[2] !== undefined) subscript = [parseInt(m[2], 10), undefined];
        else {
          subscript = [parseInt(m[3]!, 10), m[5] ? parseInt(m[5], 10) : -1];
          if (m[4] === "-") this.warn("Use [x:y] inclusive subscripts instead of [x-y] which has been removed");
        }
      }
    }
    let hosts = this.enumerate(expr);
    if (hosts.length && subscript) {
      const [start, end] = subscript;
      if (end) {
        const last = end === -1 ? hosts.length - 1 : end;
        hosts = hosts.slice(start, last + 1);
      } else {
        const idx = start < 0 ? hosts.length + start : start;
        const h = hosts[idx];
        if (idx < 0 || !h) throw new InventoryError(`No hosts matched the subscripted pattern '${p}': the index is beyond the ${hosts.length} host(s) matched`);
        hosts = [h];
      }
    }
    this.cache.set(p, hosts);
    return hosts;
  }

  evaluate(patterns: string[]): Host[] {
    let hosts: Host[] = [];
    for (const p of orderPatterns(patterns)) {
      const exact = this.inv.hosts.get(p);
      if (exact) {
        hosts.push(exact);
        continue;
      }
      const that = this.matchOne(p);
      if (p[0] === "!") {
        const s = new Set(that);
        hosts = hosts.filter((h) => !s.has(h));
      } else if (p[0] === "&") {
        const s = new Set(that);
        hosts = hosts.filter((h) => s.has(h));
      } else {
        const existing = new Set(hosts.map((h) => h.name));
        for (const h of that) if (!existing.has(h.name)) hosts.push(h);
      }
    }
    return hosts;
  }

  /** inventory.get_hosts(pattern) after subset(limit): Ansible's order, no duplicates. */
  select(pattern: string, limit?: string, cwd = process.cwd()): Host[] {
    let hosts = this.evaluate(splitHostPattern(pattern));
    if (limit !== undefined) {
      const terms = limitPatterns(limit, cwd);
      // Ansible reads an empty limit (or an empty @file) as no limit at all: every host.
      if (!terms.some((t) => t !== "")) {
        throw new InventoryError(`--limit '${limit}' names no host, group or pattern (an empty limit would select every host): give a pattern, or leave --limit out`);
      }
      const subset = new Set(this.evaluate(terms));
      hosts = hosts.filter((h) => subset.has(h));
    }
    return [...new Set(hosts)];
  }
}

/** --limit terms; `@file` reads one term per line (Ansible's limit files). */
export function limitPatterns(limit: string, cwd: string): string[] {
  const out: string[] = [];
  for (const x of splitHostPattern(limit)) {
    if (x[0] === "@") {
      const file = x.slice(1).startsWith("/") ? x.slice(1) : `${cwd}/${x.slice(1)}`;
      let st;
      try {
        st = statSync(file);
      } catch {
        throw new InventoryError(`unable to find limit file ${x.slice(1)}`);
      }
      if (!st.isFile()) throw new InventoryError(`limit starting with "@" must be a file, not a directory: ${x.slice(1)}`);
      for (const l of decodeUtf8(readFileSync(file), file).split("\n")) out.push(l.trim());
    } else out.push(x);
  }
  return out;
}
