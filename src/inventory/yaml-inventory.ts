// YAML inventories as Ansible's yaml plugin reads them: top-level groups, each
// with optional `hosts` (host keys may hold ranges and :port), `vars` and
// `children` (nested groups). Where Ansible warns and skips a malformed
// entry, postfleet stops with the file and line.

import { expandHostPattern } from "./address.js";
import { InventoryError } from "./errors.js";
import type { InventoryData } from "./model.js";
import { isSecretVar } from "./secrets.js";
import type { LoadedData } from "./yaml-loader.js";

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && v.constructor === Object;

export function parseYamlInventory(data: LoadedData, file: string, inv: InventoryData): void {
  const root = data.value;
  if (!isMapping(root)) {
    throw new InventoryError("a YAML inventory must be a mapping of group names (usually `all:` with hosts, vars and children)", { file, line: 1 });
  }
  if (root["plugin"]) throw new InventoryError(`inventory plugin configuration (plugin: ${String(root["plugin"])}) is not supported; export it to a YAML inventory with ansible-inventory --list -y`, { file, line: lineOfKey(data, root, "plugin") });
  for (const name of Object.keys(root)) parseGroup(data, file, inv, root, name, root[name]);
}

function lineOfKey(data: LoadedData, obj: object, key: string): number | undefined {
  return data.keys.get(obj)?.get(key)?.line;
}

/** What a value is, for messages; the value itself only when `key` is not a password (a misindented ansible_password: ...). */
function typeName(v: unknown, key: string): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return isSecretVar(key) ? `a ${typeof v} (not shown: a password?)` : `a ${typeof v} (${JSON.stringify(v)})`;
}

function parseGroup(data: LoadedData, file: string, inv: InventoryData, parent: object, name: string, group: unknown): string {
  const at = { file, line: lineOfKey(data, parent, name) ?? 0 };
  if (data.keys.get(parent)?.get(name)?.isString === false) throw new InventoryError(`group name ${name} must be a string: quote it`, at);
  if (group !== null && !isMapping(group)) {
    throw new InventoryError(`group '${name}' must be a mapping with hosts, vars and/or children, not ${typeName(group, name)}`, at);
  }
  if (!name) throw new InventoryError("empty group name", at);
  inv.addGroup(name);
  if (group === null) return name;
  for (const section of ["vars", "children", "hosts"]) {
    if (section in group && typeof group[section] === "string") group[section] = { [group[section] as string]: null };
    if (section in group && group[section] !== null && !isMapping(group[section])) {
      throw new InventoryError(`'${section}' of group '${name}' must be a mapping, not ${typeName(group[section], section)}`, { file, line: lineOfKey(data, group, section) ?? at.line });
    }
  }
  for (const key of Object.keys(group)) {
    const value = group[key];
    const kat = { file, line: lineOfKey(data, group, key) ?? at.line };
    if (!["vars", "children", "hosts"].includes(key)) {
      throw new InventoryError(`unexpected key '${key}' in group '${name}': only hosts, vars and children are valid (indent it under one of them?)`, kat);
    }
    if (value === null) continue;
    const section = value as Record<string, unknown>;
    if (key === "vars") {
      for (const v of Object.keys(section)) inv.setGroupVar(inv.groups.get(name)!, v, section[v], { file, line: lineOfKey(data, section, v) ?? kat.line });
    } else if (key === "children") {
      for (const sub of Object.keys(section)) {
        const child = parseGroup(data, file, inv, section, sub, section[sub]);
        inv.addChild(name, child, { file, line: lineOfKey(data, section, sub) ?? kat.line });
      }
    } else {
      for (const pattern of Object.keys(section)) {
        const hat = { file, line: lineOfKey(data, section, pattern) ?? kat.line };
        if (data.keys.get(section)?.get(pattern)?.isString === false) throw new InventoryError(`host pattern ${pattern} must be a string: enclose numbers in quotes`, hat);
        const hv = section[pattern] ?? {};
        if (!isMapping(hv)) throw new InventoryError(`variables of host '${pattern}' must be a mapping, not ${typeName(hv, pattern)}`, hat);
        let expanded: { names: string[]; port?: number };
        try {
          expanded = expandHostPattern(pattern, inv.limits.maxRangeHosts);
        } catch (e) {
          throw new InventoryError((e as Error).message, hat);
        }
        for (const hn of expanded.names) {
          const h = inv.addHost(hn, hat, name, expanded.port);
          for (const v of Object.keys(hv)) inv.setHostVar(h, v, hv[v], { file, line: lineOfKey(data, hv, v) ?? hat.line });
        }
      }
    }
  }
  return name;
}
