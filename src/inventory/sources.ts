// Inventory sources as Ansible's InventoryManager reads them: each -i in
// order; a directory is read entry by entry in sorted order, skipping what
// Ansible skips; a file goes to the first parser that accepts it (host list,
// executable script, YAML, INI).

import { accessSync, constants, existsSync, openSync, readSync, closeSync, readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { parseAddress } from "./address.js";
import type { AnsibleConfig } from "./ansible-config.js";
import { applyConstructed, CONSTRUCTED_NAMES } from "./constructed.js";
import { InventoryError } from "./errors.js";
import { readText } from "./files.js";
import { parseIni } from "./ini.js";
import type { InventoryData } from "./model.js";
import { parseScript } from "./script.js";
import type { VaultSecret } from "./vault.js";
import { loadYaml } from "./yaml-loader.js";
import { parseYamlInventory } from "./yaml-inventory.js";

/** Ansible 2.14's INVENTORY_IGNORE_EXTS (defaults) and its always-ignored names. */
export const IGNORED_EXTS = [".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".ini", ".cfg", ".retry"];
const IGNORED_ALWAYS = [/^\./, /^host_vars$/, /^group_vars$/, /^vars_plugins$/];

/** Ansible's last resort when neither -i nor ansible.cfg names an inventory. */
export const SYSTEM_INVENTORY = "/etc/ansible/hosts";

/**
 * Which inventory sources a run reads, as Ansible chooses them: the -i
 * sources, else ansible.cfg's [defaults] inventory, else /etc/ansible/hosts
 * when it exists; else an InventoryError saying how to give one.
 */
export function inventorySources(
  cliSources: readonly string[] | undefined,
  config: Pick<AnsibleConfig, "inventory"> | null | undefined,
  systemInventory: string = SYSTEM_INVENTORY,
): string[] {
  if (cliSources?.length) return [...cliSources];
  if (config?.inventory?.length) return [...config.inventory];
  if (existsSync(systemInventory)) return [systemInventory];
  throw new InventoryError("no inventory: give one with -i FILE (or set [defaults] inventory in ansible.cfg)");
}

export function ignoredInDirectory(name: string): boolean {
  return IGNORED_ALWAYS.some((r) => r.test(name)) || IGNORED_EXTS.some((e) => name.endsWith(e));
}

export interface SourceContext {
  inv: InventoryData;
  secrets: VaultSecret[];
  scriptTimeoutMs?: number;
  verbose?: (msg: string) => void;
  /** Sources parsed so far, in order (Ansible's processed_sources; the constructed plugin reads their vars files). */
  processed?: string[];
  /** Extra variables (-e), for a constructed source with use_extra_vars. */
  extraVars?: Record<string, unknown>;
}

function isExecutableScript(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return false;
  }
  const buf = Buffer.alloc(4);
  const fd = openSync(path, "r");
  try {
    readSync(fd, buf, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  // A shebang script or a binary; an executable text file without `#!` cannot be run.
  return buf.subarray(0, 2).toString("latin1") === "#!" || buf.toString("latin1") === "\x7fELF";
}

/** `-i host1,host2,` (Ansible's host_list plugin). */
function parseHostList(source: string, ctx: SourceContext): void {
  for (const raw of source.split(",")) {
    const h = raw.trim();
    if (!h) continue;
    const parsed = parseAddress(h);
    const host = parsed && !parsed.host.includes("[") ? parsed.host : h;
    const port = parsed && !parsed.host.includes("[") ? parsed.port : undefined;
    if (!ctx.inv.hosts.has(host)) ctx.inv.addHost(host, { file: "<command line>" }, "ungrouped", port);
  }
}

function looksLikeYaml(text: string): boolean {
  return /^---/m.test(text) || /^[^\s#;[][^=]*:\s*(?:#.*)?$/m.test(text);
}

function parseFile(path: string, ctx: SourceContext): void {
  const ext = extname(path);
  const text = readText(path, ctx.secrets);
  const yamlCandidate = !ext || [".yml", ".yaml", ".json"].includes(ext);
  if (ext === ".toml") throw new InventoryError("TOML inventories are not supported: convert it to YAML or INI", { file: path });
  if (!yamlCandidate) {
    parseIni(text, path, ctx.inv);
    return;
  }
  let yamlError: unknown;
  try {
    const data = loadYaml(text, path, ctx.inv.limits);
    const v = data.value;
    if (v !== null && v !== undefined && !(typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0)) {
      if (typeof v === "object" && !Array.isArray(v)) {
        const plugin = (v as Record<string, unknown>)["plugin"];
        // Ansible's auto plugin: a .yml/.yaml file naming an inventory plugin.
        if ((ext === ".yml" || ext === ".yaml") && typeof plugin === "string" && CONSTRUCTED_NAMES.includes(plugin)) {
          ctx.verbose?.(`${path}: constructed plugin`);
          applyConstructed(data, path, { inv: ctx.inv, secrets: ctx.secrets, processed: ctx.processed ?? [], extraVars: ctx.extraVars ?? {} });
          return;
        }
        parseYamlInventory(data, path, ctx.inv);
        return;
      }
      if (ext) parseYamlInventory(data, path, ctx.inv); // throws: not a mapping
    } else if (ext) {
      return; // an empty YAML file: no hosts (Ansible's INI parser accepts it)
    }
  } catch (e) {
    if (ext || !(e instanceof InventoryError)) throw e;
    yamlError = e;
  }
  // A file without extension that is not a YAML mapping: INI, as in Ansible.
  try {
    parseIni(text, path, ctx.inv);
  } catch (e) {
    if (yamlError && looksLikeYaml(text)) throw yamlError;
    throw e;
  }
}

export async function parseSource(source: string, ctx: SourceContext): Promise<void> {
  if (source.includes(",") && !existsSync(source)) {
    parseHostList(source, ctx);
    ctx.processed?.push(source);
    return;
  }
  if (!existsSync(source)) {
    throw new InventoryError("inventory source does not exist: check the -i path (or ansible.cfg's inventory)", { file: source });
  }
  if (statSync(source).isDirectory()) {
    for (const name of readdirSync(source).sort()) {
      if (ignoredInDirectory(name)) {
        ctx.verbose?.(`skipping ${join(source, name)} (ignored like Ansible does)`);
        continue;
      }
      await parseSource(join(source, name), ctx);
    }
    return;
  }
  if (isExecutableScript(source)) {
    ctx.verbose?.(`running inventory script ${source} --list`);
    await parseScript(source, ctx.inv, ctx.scriptTimeoutMs);
    ctx.processed?.push(source);
    return;
  }
  parseFile(source, ctx);
  ctx.processed?.push(source);
}
