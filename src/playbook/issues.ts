// Zod's findings turned into an operator's messages, each at the position of
// the node it is about (unknown keys at the key itself).

import { z } from "zod";
import type { Diagnostics, Path, YamlSource } from "./yaml-source.js";

/** Known keys that Ansible users bring along, with what postfleet uses instead. */
const HINTS: Record<string, string> = {
  tasks: "postfleet plays have 'steps'",
  max_fail_percentage: "use max_fail (fleet-wide budget, stops when reached) or max_fail_per_batch (Ansible's per-batch, must-exceed semantics)",
  become: "use -b/--become on the command line",
  become_user: "use --become-user on the command line",
  remote_user: "use -u or the inventory's ansible_user",
  gather_facts: "postfleet reads each host's instances itself",
  handlers: "use `then: reload | restart` on the step that changes settings",
  notify: "use `then: reload | restart` on the step that changes settings",
  any_errors_fatal: "use max_fail: 1",
  throttle: "use serial, or -f/--forks",
  vars_files: "use vars, the inventory's group_vars/host_vars, or -e @FILE",
  then: "then: is for steps that change settings (instances, postconf)",
};

/** Plain description of a value's YAML kind, for "expected X, not Y". */
export function kindOf(v: unknown): string {
  if (v === null || v === undefined) return "nothing (null)";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `the string '${v}'`;
  if (typeof v === "boolean") return `the boolean ${v}`;
  if (typeof v === "number") return `the number ${v}`;
  return typeof v;
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping",
  array: "a list",
  null: "nothing (null)",
  record: "a mapping",
};

function getIn(value: unknown, path: Path): unknown {
  let cur = value;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/** "healthy_timeout", "serial[1]", "steps[2]": the field a message is about. */
export function fieldName(path: Path): string {
  let i = path.length - 1;
  while (i >= 0 && typeof path[i] === "number") i--;
  const base = i >= 0 ? String(path[i]) : "entry";
  return base + path.slice(i + 1).map((n) => `[${n}]`).join("");
}

/** The object keys a schema allows at `path` (through arrays, unions, optionals). */
export function keysAt(schema: z.ZodType, path: Path): string[] {
  const out = new Set<string>();
  const walk = (s: z.ZodType, rest: Path): void => {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) return walk(s.unwrap() as z.ZodType, rest);
    if (s instanceof z.ZodPipe) return walk(s.out as z.ZodType, rest);
    if (s instanceof z.ZodUnion) {
      for (const o of s.options) walk(o as z.ZodType, rest);
      return;
    }
    if (s instanceof z.ZodObject) {
      if (!rest.length) {
        for (const k of Object.keys(s.shape)) out.add(k);
        return;
      }
      const next = s.shape[String(rest[0])] as z.ZodType | undefined;
      if (next) walk(next, rest.slice(1));
      return;
    }
    if (s instanceof z.ZodArray && rest.length && typeof rest[0] === "number") return walk(s.element as z.ZodType, rest.slice(1));
    if (s instanceof z.ZodRecord && rest.length) return walk(s.valueType as z.ZodType, rest.slice(1));
  };
  walk(schema, path);
  return [...out];
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

/** " (did you mean 'restart'?)" when a known word is close. */
export function suggest(word: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(word.toLowerCase(), k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? ` (did you mean '${best}'?)` : "";
}

export function unknownKeyMessage(key: string, where: string, allowed: readonly string[]): string {
  const hint = HINTS[key];
  return `unknown key '${key}' in ${where}${hint ? `: ${hint}` : suggest(key, allowed) || (allowed.length ? ` (expected one of: ${allowed.join(", ")})` : "")}`;
}

/**
 * A union none of whose options matched, where exactly one option has the
 * value's type (a mapping for a mapping option, a string for a template
 * option) and the union has no message of its own: that option's own issues, at the union's path, so that the message
 * says what is wrong inside (a bad parameter name) rather than "wrong shape".
 */
function narrowUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  // A union with its own message (an `error` that lists what it takes) keeps it.
  if (issue.code !== "invalid_union" || !/^Invalid input/.test(issue.message) || !Array.isArray(issue.errors) || issue.errors.length < 2) return [issue];
  const fits = issue.errors.filter((errs) => errs.length > 0 && !errs.some((e) => e.path.length === 0 && e.code === "invalid_type"));
  if (fits.length !== 1) return [issue];
  return fits[0]!.map((e) => ({ ...e, path: [...issue.path, ...e.path] }) as z.core.$ZodIssue).flatMap(narrowUnion);
}

/**
 * Report a failed zod parse of the value at `base` (validated by `schema`),
 * each issue at its node. `where(path)` names the object an unknown key is in;
 * `suffix` is appended to each message (e.g. " (for host mta1)").
 */
export function reportZodIssues(
  error: z.ZodError,
  o: {
    schema: z.ZodType;
    value: unknown;
    base: Path;
    source: YamlSource;
    diag: Diagnostics;
    where: (path: Path) => string;
    suffix?: string;
    /** Text before each message (not for unknown keys), given the issue's path and value. */
    prefix?: (path: Path, actual: unknown) => string;
  },
): void {
  const suffix = o.suffix ?? "";
  for (const issue of error.issues.flatMap(narrowUnion)) {
    const rel = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    const abs = [...o.base, ...rel];
    const actual = getIn(o.value, rel);
    const field = rel.length ? fieldName(rel) : fieldName(o.base);
    if (issue.code === "unrecognized_keys") {
      const allowed = keysAt(o.schema, rel);
      for (const k of issue.keys) o.diag.add(o.source.at([...abs, k], { key: true }), unknownKeyMessage(k, o.where(rel), allowed) + suffix);
      continue;
    }
    if (issue.code === "invalid_key") {
      const key = String(rel[rel.length - 1]);
      o.diag.add(o.source.at(abs, { key: true }), `'${key}': ${issue.issues[0]?.message ?? "not a valid name here"}` + suffix);
      continue;
    }
    let msg: string;
    if ((issue.code === "invalid_type" || issue.code === "invalid_union") && actual === undefined && rel.length) msg = `missing required key '${field}' in ${o.where(rel.slice(0, -1))}`;
    else if (issue.code === "invalid_type") msg = `${field} must be ${EXPECTED[issue.expected] ?? issue.expected}, not ${kindOf(actual)}`;
    else if (issue.code === "invalid_value") msg = `${field} must be ${issue.values.length === 1 ? String(issue.values[0]) : `one of: ${issue.values.map(String).join(", ")}`}, not ${kindOf(actual)}`;
    else if (issue.code === "too_small" && issue.origin === "array") msg = `${field} needs at least ${String(issue.minimum)} ${issue.minimum === 1 ? "entry" : "entries"}`;
    else if (issue.code === "too_small" && issue.origin === "string") msg = `${field} must not be empty`;
    else if (issue.code === "too_small") msg = `${field} must be at least ${String(issue.minimum)}, not ${kindOf(actual).replace(/^the number /, "")}`;
    else if (issue.code === "too_big") msg = `${field} must be at most ${String(issue.maximum)}`;
    else if (issue.code === "invalid_union" && /^Invalid input/.test(issue.message)) msg = `${field} has the wrong shape (${kindOf(actual)})`;
    else msg = issue.message.startsWith(`${field} `) ? issue.message : `${field}: ${issue.message}`;
    o.diag.add(o.source.at(abs), (o.prefix?.(rel, actual) ?? "") + msg + suffix);
  }
}
