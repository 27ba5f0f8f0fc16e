// What ansible-inventory prints: --list (groups with hosts/children, and
// _meta.hostvars), --host, --graph; JSON written as Python's
// json.dumps(sort_keys=True, indent=4, ensure_ascii=False) writes it.

import { InventoryError } from "./errors.js";
import type { Group, InventoryData } from "./model.js";
import { UnsafeText, VaultedString } from "./vault.js";

export function pythonJson(value: unknown, indent = 0): string {
  const pad = " ".repeat(indent + 4);
  const end = " ".repeat(indent);
  if (value instanceof VaultedString || value instanceof UnsafeText) return pythonJson(value.toJSON(), indent);
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
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

/** The structure of `ansible-inventory --list` (without _meta). */
export function listGroups(inv: InventoryData): Record<string, Record<string, string[]>> {
  const seen = new Set<string>();
  const format = (g: Group): Record<string, Record<string, string[]>> => {
    const results: Record<string, Record<string, string[]>> = {};
    const entry: Record<string, string[]> = {};
    results[g.name] = entry;
    if (g.name !== "all") entry["hosts"] = g.hosts.map((h) => h.name);
    entry["children"] = [];
    for (const sub of g.childGroups) {
      entry["children"].push(sub.name);
      if (!seen.has(sub.name)) {
        Object.assign(results, format(sub));
        seen.add(sub.name);
      }
    }
    for (const k of ["hosts", "children"]) if (entry[k] && entry[k].length === 0) delete entry[k];
    if (Object.keys(entry).length === 0) delete results[g.name];
    return results;
  };
  return format(inv.groups.get("all")!);
}

/** Lines --graph prints at most: a group reached through many paths is printed once per path (a DAG of 30 levels: 2^30). */
export const MAX_GRAPH_LINES = 1_000_000;

/** The text of `ansible-inventory --graph [group]`. */
export function graph(inv: InventoryData, start: Group, maxLines = MAX_GRAPH_LINES): string {
  const lines: string[] = [];
  const name = (s: string, depth: number): string => (depth ? "  |".repeat(depth) + "--" + s : s);
  const walk = (g: Group, depth: number): void => {
    if (lines.length > maxLines) {
      throw new InventoryError(`--graph would print more than ${maxLines.toLocaleString("en-US")} lines (groups reached through many paths are printed once per path): use --list`);
    }
    lines.push(name(`@${g.name}:`, depth));
    for (const kid of g.childGroups) walk(kid, depth + 1);
    if (g.name !== "all") for (const h of g.hosts) lines.push(name(h.name, depth + 1));
  };
  walk(start, 0);
  void inv;
  return lines.join("\n");
}
