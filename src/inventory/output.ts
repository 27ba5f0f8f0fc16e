// What ansible-inventory prints: --list (groups with hosts/children, and
// _meta.hostvars; with --export each group's own vars), --host, --graph
// (with --vars: each host's and group's variables); JSON written as Python's
// json.dumps(sort_keys=True, indent=4, ensure_ascii=False) writes it, the
// --yaml and --toml layouts of --list as Ansible builds them (pyyaml.ts and
// toml-dump.ts write them).

import { InventoryError } from "./errors.js";
import type { Group, Host, InventoryData } from "./model.js";
import { pyFloatRepr, pyStr } from "./python-repr.js";
import { UnsafeText, VaultedString } from "./vault.js";

/** The variables ansible-inventory shows for a host and a group (its _get_host_variables and _get_group_variables). */
export interface ShownVars {
  host(h: Host): Record<string, unknown>;
  group(g: Group): Record<string, unknown>;
  /** A vault value's text (Ansible decrypts it where it prints the value as text). */
  reveal(v: VaultedString): string;
}

export function pythonJson(value: unknown, indent = 0): string {
  const pad = " ".repeat(indent + 4);
  const end = " ".repeat(indent);
  if (value instanceof VaultedString || value instanceof UnsafeText) return pythonJson(value.toJSON(), indent);
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") return Number.isFinite(value) ? pyFloatRepr(value) : Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return `[\n${value.map((v) => pad + pythonJson(v, indent + 4)).join(",\n")}\n${end}]`;
  }
  if (typeof value === "object") {
    const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (!keys.length) return "{}";
    const obj = value as Record<string, unknown>;
    return `{\n${keys.map((k) => `${pad}${JSON.stringify(k)}: ${pythonJson(obj[k], indent + 4)}`).join(",\n")}\n${end}}`;
  }
  return JSON.stringify(String(value));
}

/** The structure of `ansible-inventory --list` (without _meta); with `groupVars` (--export) each group's vars too. */
export function listGroups(inv: InventoryData, groupVars?: (g: Group) => Record<string, unknown>): Record<string, Record<string, unknown>> {
  const seen = new Set<string>();
  const format = (g: Group): Record<string, Record<string, unknown>> => {
    const results: Record<string, Record<string, unknown>> = {};
    const entry: Record<string, unknown> & { children?: string[] } = {};
    results[g.name] = entry;
    if (g.name !== "all") entry["hosts"] = g.hosts.map((h) => h.name);
    const children: string[] = [];
    entry["children"] = children;
    for (const sub of g.childGroups) {
      children.push(sub.name);
      if (!seen.has(sub.name)) {
        Object.assign(results, format(sub));
        seen.add(sub.name);
      }
    }
    if (groupVars) entry["vars"] = groupVars(g);
    removeEmpty(entry);
    if (Object.keys(entry).length === 0) delete results[g.name];
    return results;
  };
  return format(inv.groups.get("all")!);
}

/** ansible-inventory's _remove_empty: hosts, vars and children left out when empty. */
function removeEmpty(entry: Record<string, unknown>): void {
  for (const k of ["hosts", "vars", "children"]) {
    const v = entry[k];
    if (v !== undefined && (Array.isArray(v) ? v.length === 0 : v instanceof Map ? v.size === 0 : Object.keys(v as object).length === 0)) delete entry[k];
  }
}

/** A host's variables the first time a --yaml/--toml listing meets it, {} after (Ansible shows them once). */
function varsOnce(seen: Set<string>, shown: ShownVars, h: Host): Record<string, unknown> {
  if (seen.has(h.name)) return {};
  seen.add(h.name);
  return shown.host(h);
}

/** The structure `ansible-inventory --list --yaml` dumps: groups nested in their parents, each host's vars where it first appears. */
export function yamlInventory(top: Group, shown: ShownVars, exportVars: boolean): Record<string, unknown> {
  const seen = new Set<string>();
  const format = (g: Group): Record<string, unknown> => {
    const entry: Record<string, unknown> = {};
    const children: Record<string, unknown> = {};
    entry["children"] = children;
    for (const sub of g.childGroups) if (sub.name !== "all") Object.assign(children, format(sub));
    const hosts: Record<string, unknown> = {};
    entry["hosts"] = hosts;
    if (g.name !== "all") {
      for (const h of g.hosts) hosts[h.name] = varsOnce(seen, shown, h);
    }
    if (exportVars) {
      const gv = shown.group(g);
      if (Object.keys(gv).length) entry["vars"] = gv;
    }
    removeEmpty(entry);
    return { [g.name]: entry };
  };
  return format(top);
}

/** The structure `ansible-inventory --list --toml` dumps (key order matters: TOML keeps it, so Maps). */
export function tomlInventory(top: Group, shown: ShownVars, exportVars: boolean): Map<string, unknown> {
  const seen = new Set<string>();
  const hasUngrouped = top.childGroups.some((g) => g.name === "ungrouped" && g.hosts.length > 0);
  // Ansible builds one dictionary per group and merges them upwards with dict.update:
  // a group reached again replaces its earlier entry (hosts then seen: without vars) but keeps its place.
  const format = (g: Group): Map<string, unknown> => {
    const out = new Map<string, unknown>();
    const entry: Record<string, unknown> = {};
    out.set(g.name, entry);
    const children: string[] = [];
    entry["children"] = children;
    for (const sub of g.childGroups) {
      if (sub.name === "ungrouped" && !hasUngrouped) continue;
      if (g.name !== "all") children.push(sub.name);
      for (const [k, v] of format(sub)) out.set(k, v);
    }
    if (g.name !== "all") {
      for (const h of g.hosts) ((entry["hosts"] ??= new Map()) as Map<string, unknown>).set(h.name, varsOnce(seen, shown, h));
    }
    if (exportVars) entry["vars"] = shown.group(g);
    removeEmpty(entry);
    if (!Object.keys(entry).length) out.delete(g.name);
    return out;
  };
  return format(top);
}

/** Lines --graph prints at most: a group reached through many paths is printed once per path (a DAG of 30 levels: 2^30). */
export const MAX_GRAPH_LINES = 1_000_000;

/** The text of `ansible-inventory --graph [group]` (with `shown`: --vars, each variable as `{name = value}` in Python's str()). */
export function graph(inv: InventoryData, start: Group, maxLines = MAX_GRAPH_LINES, shown?: ShownVars): string {
  const lines: string[] = [];
  const name = (s: string, depth: number): string => (depth ? "  |".repeat(depth) + "--" + s : s);
  const showVars = (vars: Record<string, unknown>, depth: number): void => {
    const keys = Object.keys(vars).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const k of keys) lines.push(name(`{${k} = ${pyStr(vars[k], shown!.reveal)}}`, depth));
  };
  const walk = (g: Group, depth: number): void => {
    if (lines.length > maxLines) {
      throw new InventoryError(`--graph would print more than ${maxLines.toLocaleString("en-US")} lines (groups reached through many paths are printed once per path): use --list`);
    }
    lines.push(name(`@${g.name}:`, depth));
    for (const kid of g.childGroups) walk(kid, depth + 1);
    if (g.name !== "all") {
      for (const h of g.hosts) {
        lines.push(name(h.name, depth + 1));
        if (shown) showVars(shown.host(h), depth + 2);
      }
    }
    if (shown) showVars(shown.group(g), depth + 1);
  };
  walk(start, 0);
  void inv;
  return lines.join("\n");
}
