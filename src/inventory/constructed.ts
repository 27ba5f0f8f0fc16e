// Ansible's `constructed` inventory plugin (plugin: constructed or
// ansible.builtin.constructed, in a .yml/.yaml source): for every host the
// sources before it made, `compose` sets variables from Jinja2 expressions,
// `groups` adds the host to a group when a condition holds, `keyed_groups`
// adds it to groups named after a value. Each step as Ansible 2.14's
// Constructable does it (plugins/inventory/__init__.py, constructed.py):
// the variables seen are the inventory's own (group vars, host vars, magic
// variables; group_vars/ and host_vars/ only with use_vars_plugins), an
// expression that fails skips its entry unless `strict`, and what postfleet
// does not evaluate is an error at the file and line of the entry.

import { dirname } from "node:path";
import { InventoryError } from "./errors.js";
import { Evaluator, JinjaError, pyStr, truthy, UnsupportedJinja } from "./jinja/evaluate.js";
import { sortGroups, type Host, type InventoryData, type Origin } from "./model.js";
import { decodeUtf8 } from "./text.js";
import { decryptVault, VaultedString, VaultError, type VaultSecret } from "./vault.js";
import { VarsResolver, varsBaseDirs } from "./vars.js";
import type { LoadedData } from "./yaml-loader.js";

export const CONSTRUCTED_NAMES = ["constructed", "ansible.builtin.constructed"];

const OPTIONS = new Set(["plugin", "strict", "compose", "groups", "keyed_groups", "use_vars_plugins", "use_extra_vars", "leading_separator"]);

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof VaultedString);

/**
 * The plugin's group name sanitising (to_safe_group_name, forced): a leading
 * digit and every character that is not a Python word character become '_'.
 */
export function safeGroupName(name: string): string {
  return name.replace(/^\p{Nd}|[^\p{L}\p{N}_]/gu, "_");
}

/** Ansible's boolean(value, strict=False), as its option type `bool` converts. */
function boolOption(v: unknown): boolean {
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v === 1;
  if (typeof v === "string") return ["y", "yes", "on", "1", "true", "t"].includes(v.trim().toLowerCase());
  return false;
}

export interface ConstructedContext {
  inv: InventoryData;
  secrets: VaultSecret[];
  /** Sources parsed before this one (Ansible's processed_sources): their group_vars/ and host_vars/ with use_vars_plugins. */
  processed: readonly string[];
  /** Extra variables (-e): seen by compose and keyed_groups keys with use_extra_vars (highest precedence), as in Ansible. */
  extraVars?: Record<string, unknown>;
}

export function applyConstructed(data: LoadedData, file: string, ctx: ConstructedContext): void {
  const config = data.value as Dict;
  const keyLine = (obj: object, key: string): number | undefined => data.keys.get(obj)?.get(key)?.line;
  const at = (obj: object, key: string): Origin => {
    const line = keyLine(obj, key);
    return line ? { file, line } : { file };
  };
  for (const k of Object.keys(config)) {
    if (!OPTIONS.has(k)) throw new InventoryError(`unknown option '${k}' for the constructed plugin (it has ${[...OPTIONS].join(", ")})`, at(config, k));
  }
  const option = (name: string, type: "dict" | "list"): unknown => {
    const v = config[name];
    if (v === null || v === undefined) return type === "dict" ? {} : [];
    if (type === "dict" && !isDict(v)) throw new InventoryError(`option ${name} of the constructed plugin must be a mapping`, at(config, name));
    if (type === "list" && !Array.isArray(v)) throw new InventoryError(`option ${name} of the constructed plugin must be a list`, at(config, name));
    return v;
  };
  const strict = config["strict"] === undefined ? false : boolOption(config["strict"]);
  const useVarsPlugins = config["use_vars_plugins"] === undefined ? false : boolOption(config["use_vars_plugins"]);
  const useExtraVars = config["use_extra_vars"] === undefined ? false : boolOption(config["use_extra_vars"]);
  const extra = useExtraVars ? (ctx.extraVars ?? {}) : {};
  const leadingSeparator = config["leading_separator"] === undefined ? true : boolOption(config["leading_separator"]);
  const compose = option("compose", "dict") as Dict;
  const groups = option("groups", "dict") as Dict;
  const keyed = option("keyed_groups", "list") as unknown[];
  for (const [obj, kind] of [[compose, "compose"], [groups, "groups"]] as const) {
    for (const k of Object.keys(obj)) {
      if (data.keys.get(obj)?.get(k)?.isString === false) throw new InventoryError(`${kind} entry ${k}: the name must be a string: quote it`, at(obj, k));
    }
  }
  const { inv } = ctx;
  // get_vars_from_inventory_sources: each source so far (a directory, else the file's directory).
  const dirs = useVarsPlugins ? varsBaseDirs([...ctx.processed]) : [];
  const fileVars = dirs.map((d) => new VarsResolver(inv, [d], undefined, ctx.secrets));

  const reveal = (v: VaultedString): string => {
    try {
      return decodeUtf8(decryptVault(v.ciphertext, ctx.secrets), "<vault value>", "the decrypted vault value");
    } catch (e) {
      if (e instanceof VaultError) throw new InventoryError(`a vault value used by the constructed plugin cannot be decrypted: ${e.message}`, { file });
      throw e;
    }
  };

  /** constructed's get_all_host_vars: group vars (sorted groups), host vars and magic variables, vars plugins when asked. */
  const hostVars = (h: Host): Dict => {
    const hostGroups = h.groups();
    const out: Dict = {};
    for (const g of sortGroups(hostGroups)) Object.assign(out, g.vars);
    for (const r of fileVars) for (const g of hostGroups) Object.assign(out, r.groupFileVars(g).vars);
    Object.assign(out, h.vars);
    const file = h.origin.file.startsWith("<") ? null : h.origin.file;
    if (!("inventory_file" in h.vars)) out["inventory_file"] = file;
    if (!("inventory_dir" in h.vars)) out["inventory_dir"] = file ? dirname(file) : null;
    const ip = /^\d{1,3}(?:\.\d{1,3}){3}$/.test(h.name) || h.name.includes(":");
    out["inventory_hostname"] = h.name;
    out["inventory_hostname_short"] = ip ? h.name : h.name.split(".")[0];
    out["group_names"] = hostGroups
      .map((g) => g.name)
      .filter((n) => n !== "all")
      .sort();
    for (const r of fileVars) Object.assign(out, r.hostFileVars(h).vars);
    return out;
  };
  const evaluator = (vars: Dict) => new Evaluator({ lookup: (n) => (Object.prototype.hasOwnProperty.call(vars, n) ? { value: vars[n] } : undefined), reveal });

  /** Run one step; a templating failure is an error with strict, else the entry is skipped (undefined). */
  const attempt = <T>(where: Origin, what: () => string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof UnsupportedJinja) throw new InventoryError(`${e.message} is not supported by postfleet's Jinja2 (constructed plugin)`, where);
      if (e instanceof JinjaError) {
        if (strict) throw new InventoryError(`${what()}: ${e.message}`, where);
        return undefined;
      }
      throw e;
    }
  };
  const addGroup = (raw: string, where: Origin): string => {
    const name = safeGroupName(raw);
    if (!name) throw new InventoryError("a constructed group name is empty", where);
    inv.addGroup(name);
    return name;
  };

  for (const h of [...inv.hosts.values()]) {
    // compose: every expression sees the variables as they were before this step.
    // _compose (compose, keyed_groups keys, then parent_group) sees the extra variables; groups' conditions do not.
    let ev = evaluator({ ...hostVars(h), ...extra });
    for (const [name, expr] of Object.entries(compose)) {
      const where = at(compose, name);
      ev.usedUnsafe = false;
      const r = attempt(where, () => `could not set ${name} for host ${h.name}`, () => ({ v: ev.keep(ev.compose(pyStr(expr))) }));
      if (r) inv.setHostVar(h, name, r.v, where);
    }
    const vars = hostVars(h);
    ev = evaluator(vars);
    for (const [name, cond] of Object.entries(groups)) {
      const where = at(groups, name);
      const ok = attempt(where, () => `could not add host ${h.name} to group ${name}`, () => ev.condition(pyStr(cond)));
      if (ok) inv.addHost(h.name, where, addGroup(name, where));
    }
    if (keyed.length) ev = evaluator({ ...vars, ...extra });
    keyed.forEach((entry, idx) => {
      const where: Origin = { file, ...(data.lines.get(entry as object) ?? data.lines.get(keyed) ? { line: (data.lines.get(entry as object) ?? data.lines.get(keyed))! } : {}) };
      if (!isDict(entry)) {
        if (truthy(entry)) throw new InventoryError(`keyed_groups entry ${idx + 1} must be a mapping (key, prefix, separator, ...)`, where);
        return;
      }
      for (const k of Object.keys(entry)) {
        if (!["key", "prefix", "separator", "parent_group", "default_value", "trailing_separator"].includes(k)) {
          throw new InventoryError(`unknown option '${k}' in keyed_groups entry ${idx + 1} (it has key, prefix, separator, parent_group, default_value, trailing_separator)`, at(entry, k));
        }
      }
      const keyWhere = "key" in entry ? at(entry, "key") : where;
      const r = attempt(keyWhere, () => `could not generate a group for host ${h.name} from ${pyStr(entry["key"] ?? null)}`, () => ({ v: ev.compose(pyStr(entry["key"] ?? null)) }));
      if (!r) return;
      const key = r.v;
      const defaultValue = entry["default_value"] ?? null;
      const trailing = entry["trailing_separator"] ?? null;
      if (trailing !== null && defaultValue !== null) throw new InventoryError("keyed_groups: default_value and trailing_separator are mutually exclusive", where);
      if (!(truthy(key) || (key === "" && defaultValue !== null))) {
        const empty = (Array.isArray(key) && key.length === 0) || (isDict(key) && Object.keys(key).length === 0);
        if (strict && !empty) throw new InventoryError(`keyed_groups: no key or the key resulted empty for ${pyStr(entry["key"] ?? null)} in host ${h.name}`, keyWhere);
        return;
      }
      const prefix = "prefix" in entry ? pyStr(entry["prefix"]) : "";
      let sep = "separator" in entry ? pyStr(entry["separator"]) : "_";
      let parent: string | undefined;
      const rawParent = entry["parent_group"];
      if (rawParent !== undefined && rawParent !== null && truthy(rawParent)) {
        if (typeof rawParent !== "string") throw new InventoryError("keyed_groups: parent_group must be a string", at(entry, "parent_group"));
        const p = attempt(at(entry, "parent_group"), () => `could not generate parent group ${rawParent} for group ${pyStr(key)}`, () => ({ v: ev.templateValue(rawParent) }));
        if (!p) return;
        if (typeof p.v !== "string") throw new InventoryError(`keyed_groups: parent_group became a ${Array.isArray(p.v) ? "list" : typeof p.v}, not a group name`, at(entry, "parent_group"));
        parent = p.v;
      }
      const names: unknown[] = [];
      if (typeof key === "string") names.push(key === "" && defaultValue !== null ? defaultValue : key);
      else if (Array.isArray(key)) for (const n of key) names.push(n === "" && defaultValue !== null ? defaultValue : n);
      else if (isDict(key)) {
        for (const [gname, gval] of Object.entries(key)) {
          let bare = `${gname}${sep}${pyStr(gval)}`;
          if (gval === "") {
            if (defaultValue !== null) bare = `${gname}${sep}${pyStr(defaultValue)}`;
            else if (trailing === false) bare = gname;
          }
          names.push(bare);
        }
      } else {
        throw new InventoryError(`keyed_groups: the key ${pyStr(entry["key"] ?? null)} gave ${pyStr(key)} for host ${h.name}: a group name must come from a string, a list or a mapping (Ansible: Invalid group name format)`, keyWhere);
      }
      for (const bare of names) {
        if (prefix === "" && !leadingSeparator) sep = "";
        const g = addGroup(`${prefix}${sep}${pyStr(bare)}`, keyWhere);
        inv.addHost(h.name, keyWhere, g);
        if (parent !== undefined) inv.addChild(addGroup(parent, at(entry, "parent_group")), g, at(entry, "parent_group"));
      }
    });
  }
}
