// postfleet's reading of Ansible inventories: the same hosts, groups,
// variables and pattern selections as Ansible 2.14, from the same files.

import { resolve } from "node:path";
import type { ConnectionTarget } from "../shared/connection-target.js";
import { loadAnsibleConfig, type AnsibleConfig } from "./ansible-config.js";
import { resolveConnectionTarget, type ConnectionOverrides, type ResolvedVar } from "./connection-settings.js";
import { InventoryError } from "./errors.js";
import { DEFAULT_LIMITS, type InventoryLimits } from "./limits.js";
import { InventoryData, type Host } from "./model.js";
import { graph, listGroups, type ShownVars } from "./output.js";
import { PatternMatcher } from "./patterns.js";
import { collectVaultSecrets, promptOnTty, type PasswordPrompt } from "./vault-passwords.js";
import { inventorySources, parseSource } from "./sources.js";
import { render, TemplateError, type TemplateScope } from "./template.js";
import { decodeUtf8 } from "./text.js";
import { decryptVault, VaultedString, VaultError, type VaultSecret } from "./vault.js";
import { INTERNAL_VARS, varsBaseDirs, VarsResolver, type MergedVars } from "./vars.js";

export { InventoryError } from "./errors.js";
export { DEFAULT_LIMITS, type InventoryLimits } from "./limits.js";
export { loadAnsibleConfig, type AnsibleConfig } from "./ansible-config.js";
export { VaultedString, UnsafeText, encryptVault, decryptVault } from "./vault.js";
export { resolveConnectionTarget, type ConnectionOverrides, type ResolvedVar, type VarReader } from "./connection-settings.js";
export { inventorySources, SYSTEM_INVENTORY } from "./sources.js";
export { pythonJson, tomlInventory, yamlInventory, type ShownVars } from "./output.js";
export { pyYamlDump } from "./pyyaml.js";
export { tomlDumps } from "./toml-dump.js";
export { renderInventory, type InventoryView, type RenderOptions } from "./render.js";
export { render, hasTemplate, TemplateError, type TemplateScope } from "./template.js";

export interface LoadOptions {
  sources: string[];
  vaultPasswordFiles?: string[];
  askVaultPass?: boolean;
  vaultIds?: string[];
  /** vault_id_match (default: ansible.cfg's / ANSIBLE_VAULT_ID_MATCH). */
  vaultIdMatch?: boolean;
  cwd?: string;
  warn?: (msg: string) => void;
  /** Extra group_vars/ and host_vars/ next to a playbook (Ansible's playbook-adjacent vars). */
  playbookDir?: string;
  /** ansible.cfg to use; undefined: look for one from cwd; null: none. */
  ansibleConfig?: AnsibleConfig | null;
  /** Progress notes for --verbose. */
  verbose?: (msg: string) => void;
  /** Time limit for each run of an inventory script (default 30 s). */
  scriptTimeoutMs?: number;
  /** Time limit for a vault password script (default 60 s). */
  vaultScriptTimeoutMs?: number;
  /** Size limits against inventory bombs (default DEFAULT_LIMITS; lower them in tests). */
  limits?: Partial<InventoryLimits>;
  /** How to ask for a vault password (default: the terminal, without echo). */
  prompt?: PasswordPrompt;
  /** Extra variables (-e): a constructed source with use_extra_vars sees them in compose and keyed_groups keys. */
  extraVars?: Record<string, unknown>;
}

export interface Inventory {
  hostNames(): string[];
  selectHosts(pattern: string, limit?: string): string[];
  hostVars(name: string): Record<string, unknown>;
  groupNames(name: string): string[];
  /** How to reach one host: inventory variables, command-line `overrides` and ansible.cfg merged (resolveConnectionTarget). */
  toConnectionTarget(name: string, overrides?: ConnectionOverrides): ConnectionTarget;
  /** The same for every host given, in order; the first bad variable throws InventoryError (file, host, variable). */
  connectionTargets(hosts: readonly string[], overrides?: ConnectionOverrides): Map<string, ConnectionTarget>;
}

export async function loadInventory(o: LoadOptions): Promise<AnsibleInventory> {
  const cwd = o.cwd ?? process.cwd();
  const warn = o.warn ?? ((m: string) => process.stderr.write(`[WARNING]: ${m}\n`));
  const config = o.ansibleConfig === undefined ? loadAnsibleConfig(cwd) : (o.ansibleConfig ?? undefined);
  if (config) {
    if (config.path) o.verbose?.(`using ${config.path}`);
    if (config.fromEnv.length) o.verbose?.(`from the environment: ${config.fromEnv.join(", ")}`);
    for (const w of config.warnings) warn(w);
  }
  // -i, else ansible.cfg's inventory, else /etc/ansible/hosts.
  const sources = inventorySources(o.sources, config);
  if (!o.sources.length) o.verbose?.(config?.inventory?.length ? `inventory from ${config.fromEnv.includes("ANSIBLE_INVENTORY") ? "ANSIBLE_INVENTORY" : config.path}: ${sources.join(", ")}` : `inventory from ${sources.join(", ")}`);
  const abs = sources.map((s) => (s.includes(",") && !s.includes("/") ? s : resolve(cwd, s)));
  const secrets = await collectVaultSecrets({ ...o, warn, vaultIdMatch: o.vaultIdMatch ?? config?.vaultIdMatch === true }, cwd, o.prompt ?? promptOnTty);
  const inv = new InventoryData({ ...DEFAULT_LIMITS, ...o.limits });
  const processed: string[] = [];
  for (const s of abs) {
    o.verbose?.(`reading inventory source ${s}`);
    await parseSource(s, { inv, secrets, processed, ...(o.extraVars ? { extraVars: o.extraVars } : {}), ...(o.scriptTimeoutMs ? { scriptTimeoutMs: o.scriptTimeoutMs } : {}), ...(o.verbose ? { verbose: o.verbose } : {}) });
  }
  inv.reconcile();
  for (const name of inv.groups.keys()) if (inv.hosts.has(name)) warn(`Found both group and host with same name: ${name}`);
  const resolver = new VarsResolver(inv, varsBaseDirs(abs), o.playbookDir ? resolve(cwd, o.playbookDir) : undefined, secrets);
  resolver.preload();
  return new AnsibleInventory(inv, resolver, secrets, warn, cwd, config);
}

export class AnsibleInventory implements Inventory {
  private readonly matcher: PatternMatcher;
  private readonly merged = new Map<string, MergedVars>();

  constructor(
    readonly data: InventoryData,
    private readonly resolver: VarsResolver,
    private readonly secrets: VaultSecret[],
    private readonly warn: (msg: string) => void,
    private readonly cwd: string,
    readonly config: AnsibleConfig | undefined,
  ) {
    this.matcher = new PatternMatcher(data, warn);
  }

  private host(name: string): Host {
    const h = this.data.hosts.get(name);
    if (!h) throw new InventoryError(`unknown host '${name}': it is in no inventory source`);
    return h;
  }

  private mergedVars(name: string): MergedVars {
    let m = this.merged.get(name);
    if (!m) {
      m = this.resolver.hostVars(this.host(name));
      this.merged.set(name, m);
    }
    return m;
  }

  hostNames(): string[] {
    return this.data.groups.get("all")!.getHosts().map((h) => h.name);
  }

  groupNamesAll(): string[] {
    return [...this.data.groups.keys()];
  }

  selectHosts(pattern: string, limit?: string): string[] {
    return this.matcher.select(pattern, limit, this.cwd).map((h) => h.name);
  }

  /** Variables as `ansible-inventory --host` shows them: merged, not templated, vault values kept encrypted. */
  rawHostVars(name: string): Record<string, unknown> {
    return { ...this.mergedVars(name).vars };
  }

  /** Where a host's variable was set (file and line). */
  varOrigin(name: string, variable: string): { file: string; line?: number } | undefined {
    return this.mergedVars(name).origins.get(variable);
  }

  groupNames(name: string): string[] {
    return this.host(name)
      .groups()
      .map((g) => g.name)
      .filter((n) => n !== "all")
      .sort();
  }

  private groupsDict?: Record<string, string[]>;

  private magic(name: string): Record<string, unknown> {
    const h = this.host(name);
    if (!this.groupsDict) {
      this.groupsDict = {};
      for (const [gn, g] of this.data.groups) this.groupsDict[gn] = g.getHosts().map((x) => x.name);
    }
    const groups = this.groupsDict;
    const isIp = /^\d{1,3}(?:\.\d{1,3}){3}$/.test(name) || name.includes(":");
    const file = h.origin.file.startsWith("<") ? null : h.origin.file;
    return {
      inventory_hostname: name,
      inventory_hostname_short: isIp ? name : name.split(".")[0],
      group_names: this.groupNames(name),
      groups,
      inventory_file: file,
      inventory_dir: file ? file.replace(/\/[^/]*$/, "") || "/" : null,
    };
  }

  private reveal(v: VaultedString): string {
    try {
      return decodeUtf8(decryptVault(v.ciphertext, this.secrets), "<vault value>", "the decrypted vault value");
    } catch (e) {
      if (e instanceof VaultError) throw new TemplateError(e.message);
      if (e instanceof InventoryError) throw new TemplateError("is a vault value whose text is not valid UTF-8");
      throw e;
    }
  }

  private scope(name: string): TemplateScope {
    const vars = this.mergedVars(name).vars;
    const magic = this.magic(name);
    return {
      lookup: (n) => (n in vars ? { value: vars[n] } : n in magic ? { value: magic[n] } : undefined),
      reveal: (v) => this.reveal(v),
    };
  }

  /** Merged variables with simple {{ var }} references resolved and vault values decrypted where a password fits. */
  hostVars(name: string): Record<string, unknown> {
    const m = this.mergedVars(name);
    const scope = this.scope(name);
    const memo = new Map<object, unknown>();
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(m.vars)) {
      try {
        let x = render(v, scope, false, [k], memo);
        if (x instanceof VaultedString && this.secrets.length) x = this.reveal(x);
        out[k] = x;
      } catch {
        out[k] = v;
      }
    }
    return out;
  }

  /** One variable, templated strictly; errors name file, host and variable. */
  private readVar(name: string, variable: string): ResolvedVar | undefined {
    const m = this.mergedVars(name);
    if (!(variable in m.vars)) return undefined;
    const origin = m.origins.get(variable);
    try {
      let v = render(m.vars[variable], this.scope(name), true, [variable]);
      if (v instanceof VaultedString) v = this.reveal(v);
      return origin ? { name: variable, value: v, origin } : { name: variable, value: v };
    } catch (e) {
      if (e instanceof TemplateError) throw new InventoryError(`host ${name}: variable ${variable} ${e.message}`, origin ?? {});
      throw e;
    }
  }

  /**
   * How to reach a host: its inventory variables, the command line's
   * `overrides` and ansible.cfg, merged by resolveConnectionTarget (whose
   * file documents the precedence).
   */
  toConnectionTarget(name: string, overrides: ConnectionOverrides = {}): ConnectionTarget {
    this.host(name);
    const read = (...names: string[]): ResolvedVar | undefined => {
      for (const n of names) {
        const v = this.readVar(name, n);
        if (v) return v;
      }
      return undefined;
    };
    return resolveConnectionTarget(name, read, overrides, this.config);
  }

  connectionTargets(hosts: readonly string[], overrides: ConnectionOverrides = {}): Map<string, ConnectionTarget> {
    return new Map(hosts.map((h) => [h, this.toConnectionTarget(h, overrides)]));
  }

  /** `ansible-inventory --list` as a value (print it with pythonJson); `exportVars`: --export. */
  list(exportVars = false): Record<string, unknown> {
    const shown = this.shownVars(exportVars);
    const out: Record<string, unknown> = listGroups(this.data, exportVars ? (g) => shown.group(g) : undefined);
    const hostvars: Record<string, unknown> = {};
    for (const h of this.hostNames()) {
      const v = shown.host(this.host(h));
      if (Object.keys(v).length) hostvars[h] = v;
    }
    out["_meta"] = { hostvars };
    return out;
  }

  /** `ansible-inventory --graph [group]` text (`vars`: --vars); throws when the group does not exist. */
  graph(group = "all", vars?: { exportVars: boolean }): string {
    const g = this.data.groups.get(group);
    if (!g) throw new InventoryError(`--graph needs a group name; '${group}' is not a group`);
    return graph(this.data, g, undefined, vars ? this.shownVars(vars.exportVars) : undefined);
  }

  /**
   * What ansible-inventory shows of a host's and a group's variables: merged
   * (or with --export the host's own: inline and host_vars/), a group's own
   * (inline and group_vars/, ansible_group_priority when not 1).
   */
  shownVars(exportVars: boolean): ShownVars {
    return {
      host: (h) => {
        if (!exportVars) return this.rawHostVars(h.name);
        const own = { ...h.vars, ...this.resolver.hostFileVars(h).vars };
        for (const k of INTERNAL_VARS) delete own[k];
        return own;
      },
      group: (g) => {
        const own: Record<string, unknown> = { ...g.vars, ...this.resolver.groupFileVars(g).vars };
        if (g.priority !== 1) own["ansible_group_priority"] = g.priority;
        for (const k of INTERNAL_VARS) delete own[k];
        return own;
      },
      reveal: (v) => {
        try {
          return this.reveal(v);
        } catch (e) {
          if (e instanceof TemplateError) throw new InventoryError(`a vault value must be decrypted to print it here: ${e.message}`);
          throw e;
        }
      },
    };
  }
}
