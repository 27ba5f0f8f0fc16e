// The text `ansible-inventory` prints for --list, --host and --graph with
// --yaml, --toml, --export and --vars (its dump(): JSON unless --yaml or
// --toml; --graph is always text). Without a final newline, as written by
// --output; the empty text is what Ansible treats as nothing to show (exit 1).

import { InventoryError } from "./errors.js";
import type { InventoryData } from "./model.js";
import { pythonJson, tomlInventory, yamlInventory, type ShownVars } from "./output.js";
import { pyYamlDump } from "./pyyaml.js";
import { tomlDumps } from "./toml-dump.js";

/** What rendering needs of a loaded inventory (AnsibleInventory in index.ts). */
export interface RenderableInventory {
  readonly data: InventoryData;
  selectHosts(pattern: string): string[];
  shownVars(exportVars: boolean): ShownVars;
  list(exportVars?: boolean): Record<string, unknown>;
  graph(group?: string, vars?: { exportVars: boolean }): string;
}

export type InventoryView = { list: true } | { host: string } | { graph: string };

export interface RenderOptions {
  yaml?: boolean;
  toml?: boolean;
  /** --export: group variables on their groups, hosts with their own variables only. */
  export?: boolean;
  /** --vars: --graph shows each host's and group's variables. */
  vars?: boolean;
}

export function renderInventory(inv: RenderableInventory, view: InventoryView, o: RenderOptions = {}): string {
  if (o.yaml && o.toml) throw new InventoryError("give at most one of --yaml and --toml");
  const exportVars = !!o.export;
  const shown = inv.shownVars(exportVars);
  const dump = (v: Record<string, unknown>): string => (o.yaml ? pyYamlDump(v) : o.toml ? tomlDumps(v, shown.reveal) : pythonJson(v));
  if ("list" in view) {
    const top = inv.data.groups.get("all")!;
    if (o.yaml) return pyYamlDump(yamlInventory(top, shown, exportVars));
    if (o.toml) return tomlDumps(tomlInventory(top, shown, exportVars), shown.reveal);
    return pythonJson(inv.list(exportVars));
  }
  if ("host" in view) {
    const hosts = inv.selectHosts(view.host);
    if (hosts.length !== 1) throw new InventoryError(`--host needs exactly one host; '${view.host}' matches ${hosts.length}`);
    return dump(shown.host(inv.data.hosts.get(hosts[0]!)!));
  }
  return inv.graph(view.graph || "all", o.vars ? { exportVars } : undefined);
}
