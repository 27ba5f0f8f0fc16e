// -e/--extra-vars as ansible-playbook reads them (load_extra_vars): `@FILE`
// (YAML or JSON), inline YAML/JSON starting with { or [, else KEY=VALUE pairs
// separated by spaces (quotes group, values are strings). Each must make a
// mapping; later arguments replace earlier keys.

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";

export class ExtraVarsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExtraVarsError";
  }
}

/** Ansible's split_args for key=value text: spaces split, quotes group (and stay until unquoted), backslash escapes. */
function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | undefined;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\" && i + 1 < text.length) {
      cur += c + text[++i]!;
      started = true;
    } else if (quote) {
      cur += c;
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur += c;
      started = true;
    } else if (/\s/.test(c)) {
      if (started) out.push(cur);
      cur = "";
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  if (quote) throw new ExtraVarsError(`-e ${text}: unbalanced ${quote} quote`);
  if (started) out.push(cur);
  return out;
}

/** Remove one pair of surrounding quotes and the backslash of escaped characters, as parse_kv does. */
function unquote(s: string): string {
  if (s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0]) s = s.slice(1, -1);
  return s.replace(/\\(.)/g, "$1");
}

function parseKeyValues(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const token of splitArgs(text)) {
    const eq = token.search(/(?<!\\)=/);
    if (eq <= 0) throw new ExtraVarsError(`-e ${text}: '${token}' is not KEY=VALUE (use -e KEY=VALUE, -e @FILE or -e '{"key": "value"}')`);
    out[token.slice(0, eq).trim()] = unquote(token.slice(eq + 1).trim());
  }
  return out;
}

function parseYaml(text: string, where: string): unknown {
  const lc = new LineCounter();
  // Ansible reads these with PyYAML: YAML 1.1 (yes/no are booleans).
  const doc = parseDocument(text, { version: "1.1", lineCounter: lc, prettyErrors: false, merge: true });
  const err = doc.errors[0];
  if (err) {
    const p = lc.linePos(err.pos[0]);
    throw new ExtraVarsError(`${where}:${p.line}:${p.col}: YAML: ${err.message.split("\n")[0]}`);
  }
  return doc.toJS();
}

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** One -e argument as a mapping. */
export function parseExtraVarsArg(arg: string, cwd = process.cwd()): Record<string, unknown> {
  if (!arg) return {};
  let data: unknown;
  if (arg.startsWith("@")) {
    const file = resolve(cwd, arg.slice(1));
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new ExtraVarsError(`-e ${arg}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    data = parseYaml(text, arg.slice(1));
    if (data === null || data === undefined) data = {};
  } else if (arg[0] === "/" || arg[0] === ".") {
    throw new ExtraVarsError(`-e ${arg}: to read variables from a file, write -e @${arg}`);
  } else if (arg[0] === "{" || arg[0] === "[") {
    data = parseYaml(arg, "-e");
  } else data = parseKeyValues(arg);
  if (!isMapping(data)) throw new ExtraVarsError(`-e ${arg}: extra vars must be a mapping of names to values, not ${Array.isArray(data) ? "a list" : "a single value"}`);
  return data;
}

/** All -e arguments, in order: a later one replaces the keys it sets. */
export function parseExtraVars(args: readonly string[], cwd = process.cwd()): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of args) Object.assign(out, parseExtraVarsArg(a, cwd));
  return out;
}
