// glob(3) as OpenSSH's Include uses it (evaluate.ts): wildcards per path
// component, sorted results, hidden names only for patterns that start with
// `.`, and GLOB_TILDE.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { passwdHome } from "./tokens.js";

function hasMagic(s: string): boolean {
  return /[*?[]/.test(s);
}

/** One path component's glob pattern as a RegExp (`*`, `?`, `[...]`, backslash escapes). */
function componentRegExp(p: string): RegExp {
  let re = "";
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === "\\" && i + 1 < p.length) re += escapeRe(p[++i]!);
    else if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      let j = i + 1;
      let negate = false;
      if (p[j] === "!" || p[j] === "^") {
        negate = true;
        j++;
      }
      let body = "";
      let first = true;
      while (j < p.length && (first || p[j] !== "]")) {
        const ch = p[j]!;
        if (ch === "-" && !first && j + 1 < p.length && p[j + 1] !== "]") body += "-";
        else body += ch === "\\" || ch === "]" || ch === "[" || ch === "^" || ch === "-" ? `\\${ch}` : ch;
        first = false;
        j++;
      }
      if (j >= p.length) re += "\\[";
      else {
        re += `[${negate ? "^" : ""}${body}]`;
        i = j;
      }
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, "s");
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** glob(3) as OpenSSH calls it for Include: sorted, hidden names only for patterns starting with `.`, no match → []. */
export function globPaths(pattern: string): string[] {
  if (!hasMagic(pattern)) {
    return statSync(pattern, { throwIfNoEntry: false }) ? [pattern] : [];
  }
  const absolute = pattern.startsWith("/");
  const parts = pattern.split("/").filter((p, i) => p !== "" || i === 0);
  let current: string[] = [absolute ? "/" : ""];
  if (absolute) parts.shift();
  else if (parts[0] === "") parts.shift();
  parts.forEach((part, index) => {
    const last = index === parts.length - 1;
    const next: string[] = [];
    for (const base of current) {
      const join = (name: string) => (base === "" ? name : base.endsWith("/") ? `${base}${name}` : `${base}/${name}`);
      if (!hasMagic(part)) {
        const p = join(part.replace(/\\(.)/g, "$1"));
        const st = statSync(p, { throwIfNoEntry: false });
        if (st && (last || st.isDirectory())) next.push(p);
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(base === "" ? "." : base);
      } catch {
        continue;
      }
      const re = componentRegExp(part);
      for (const name of names) {
        if (name.startsWith(".") && !part.startsWith(".")) continue;
        if (!re.test(name)) continue;
        const p = join(name);
        if (!last && !statSync(p, { throwIfNoEntry: false })?.isDirectory()) continue;
        next.push(p);
      }
    }
    current = next;
  });
  return current.sort(byteOrder);
}

/** GLOB_TILDE: `~` and `~/...` are the home; `~user/...` that user's home from the passwd file, else left as is. */
export function expandGlobTilde(p: string, home: string, localUser: string): string {
  const m = /^~([^/]*)(\/.*)?$/.exec(p);
  if (!m) return p;
  const user = m[1]!;
  const tail = m[2] ?? "";
  if (user === "" || user === localUser) return home + tail;
  const found = passwdHome(user);
  // An unknown user (or no passwd file): left as is, like glob(3).
  return found !== undefined ? found + tail : p;
}
