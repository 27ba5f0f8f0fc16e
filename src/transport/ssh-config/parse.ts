// ssh_config files as OpenSSH's readconf.c reads them: line syntax (Keyword
// value / Keyword=value, quotes, comments), the owner and mode check, and the
// parsed files kept while they stay the same.
import { readFileSync, statSync, type Stats } from "node:fs";
import { TransportConfigError } from "../errors.js";
import { isSshConfigKeyword } from "./keywords.js";
import type { Origin } from "./types.js";

const WHITESPACE = " \t\r\n";

export interface ConfigLine {
  line: number;
  /** Lowercased keyword. */
  keyword: string;
  /** The keyword as written (for messages). */
  written: string;
  /** Whether ssh knows the keyword (else it is refused unless IgnoreUnknown matches it). */
  known: boolean;
  /** Arguments as OpenSSH's argv_split gives them (quotes and escapes removed, stops at a `#` token). */
  args: string[];
  /** The raw text after the keyword (ProxyJump, ProxyCommand and Match read this, as OpenSSH does). */
  rest: string;
  /** A syntax error OpenSSH would reject the file for. */
  error?: string;
}

/** A cursor over OpenSSH's strdelim(): splits on whitespace or one `=`, honours "double quotes". */
export class Delim {
  /** Set when a token opened a quote it never closed. */
  unmatchedQuote = false;
  constructor(private s: string | null) {}
  get remaining(): string | null {
    return this.s;
  }
  /** Next token ("" when the text ends in a separator), null when nothing is left or a quote is unmatched. */
  next(): string | null {
    const s = this.s;
    if (s === null) return null;
    let i = 0;
    while (i < s.length && !`${WHITESPACE}"=`.includes(s[i]!)) i++;
    if (i === s.length) {
      this.s = null;
      return s;
    }
    if (s[i] === '"') {
      const unquoted = s.slice(0, i) + s.slice(i + 1);
      const close = unquoted.indexOf('"', i);
      if (close < 0) {
        this.s = null;
        this.unmatchedQuote = true;
        return null;
      }
      this.s = skipWs(unquoted.slice(close + 1));
      return unquoted.slice(0, close);
    }
    const wasEquals = s[i] === "=";
    let rest = skipWs(s.slice(i + 1));
    if (!wasEquals && rest.startsWith("=")) rest = skipWs(rest.slice(1));
    this.s = rest;
    return s.slice(0, i);
  }
}

function skipWs(s: string): string {
  let i = 0;
  while (i < s.length && WHITESPACE.includes(s[i]!)) i++;
  return s.slice(i);
}

/** OpenSSH's argv_split(s, terminate_on_comment=1); null on an unterminated quote. */
export function splitArguments(s: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === " " || s[i] === "\t") {
      i++;
      continue;
    }
    if (s[i] === "#") break;
    let quote = "";
    let arg = "";
    for (; i < s.length; i++) {
      const c = s[i]!;
      if (c === "\\") {
        const n = s[i + 1];
        if (n === "'" || n === '"' || n === "\\" || (quote === "" && n === " ")) {
          i++;
          arg += n;
        } else arg += c;
      } else if (quote === "" && (c === " " || c === "\t")) break;
      else if (quote === "" && (c === '"' || c === "'")) quote = c;
      else if (quote !== "" && c === quote) quote = "";
      else arg += c;
    }
    if (quote !== "") return null;
    out.push(arg);
  }
  return out;
}

export function parseConfigText(text: string): ConfigLine[] {
  const lines: ConfigLine[] = [];
  text.split("\n").forEach((raw, index) => {
    const stripped = raw.replace(/[ \t\r\n\f]+$/, "");
    if (stripped === "") return;
    const d = new Delim(stripped);
    let keyword = d.next();
    if (keyword === "") keyword = d.next();
    if (keyword === null || keyword === "" || keyword.startsWith("#")) return;
    const written = keyword;
    keyword = keyword.toLowerCase();
    const known = isSshConfigKeyword(keyword);
    const rest = skipWs(d.remaining ?? "");
    const line = index + 1;
    // As ssh: a missing argument is an error before the keyword is even looked up.
    if (rest === "") {
      lines.push({ line, keyword, written, known, args: [], rest, error: `no argument after keyword "${keyword}"` });
      return;
    }
    const args = splitArguments(rest);
    if (args === null) lines.push({ line, keyword, written, known, args: [], rest, error: "invalid quotes" });
    else lines.push({ line, keyword, written, known, args, rest });
  });
  return lines;
}

// Parsed files by path, kept while the file's identity and mtime stay the same:
// resolveHop runs per host and the files are the same for the whole run.
const parsedFiles = new Map<string, { key: string; lines: ConfigLine[] }>();
let parseCount = 0;

/** How many times a file was parsed in this process (the cache's effect is observable). */
export function sshConfigParseCount(): number {
  return parseCount;
}

function statKey(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** Lines of a colon-separated account file (/etc/passwd, /etc/group), split. */
function accountEntries(path: string): string[][] {
  try {
    return readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => l.split(":"));
  } catch {
    return [];
  }
}

/**
 * OpenSSH's check of an ssh config's owner and mode: owned by root or the user,
 * not world-writable, and group-writable only (as Debian's ssh allows, whose
 * `ssh -G` is our oracle) when the group's one member is the file's owner.
 */
function securePermissions(st: Stats): boolean {
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== uid) return false;
  if ((st.mode & 0o002) !== 0) return false;
  if ((st.mode & 0o020) === 0) return true;
  const group = accountEntries("/etc/group").find((g) => Number(g[2]) === st.gid);
  if (!group) return false;
  const users = accountEntries("/etc/passwd");
  let members = 0;
  for (const u of users) {
    if (Number(u[3]) !== st.gid) continue;
    members++;
    if (Number(u[2]) !== uid) return false;
  }
  const owner = users.find((u) => Number(u[2]) === st.uid);
  if (!owner) return false;
  const supplementary = (group[3] ?? "").split(",").filter(Boolean);
  if (supplementary.length > 0) {
    members++;
    if (supplementary[0] !== owner[0] || supplementary.length > 1) return false;
  }
  return members > 0;
}

export type Loaded = { kind: "missing" } | { kind: "lines"; lines: ConfigLine[] };

export function loadFile(path: string, checkPermissions: boolean, label: string, from: Origin | undefined): Loaded {
  const where = from ? `${from.file}:${from.line}: ` : "";
  let st: Stats | undefined;
  try {
    st = statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    throw new TransportConfigError(label, `${where}cannot read ssh config ${path}: ${(e as Error).message}`);
  }
  // Missing, or a dangling link matched by an Include: ssh skips it too.
  if (!st) return { kind: "missing" };
  if (checkPermissions && !securePermissions(st)) {
    throw new TransportConfigError(label, `${where}bad owner or permissions on ${path} (ssh refuses it too): make it owned by you and not writable by others`);
  }
  // fopen() of a directory succeeds and reads nothing.
  if (st.isDirectory()) return { kind: "lines", lines: [] };
  const key = statKey(st);
  const cached = parsedFiles.get(path);
  if (cached?.key === key) return { kind: "lines", lines: cached.lines };
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new TransportConfigError(label, `${where}cannot read ssh config ${path}: ${(e as Error).message}`);
  }
  const lines = parseConfigText(text);
  parseCount++;
  parsedFiles.set(path, { key, lines });
  return { kind: "lines", lines };
}
