// Host variables merged with Ansible's precedence (VARIABLE_PRECEDENCE
// defaults): `all` inline, other groups inline (by depth, priority, name),
// group_vars/all (next to each source, then next to the playbook), the
// host's groups' group_vars (same order), the host inline, host_vars/.

import { existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { Group, Host, InventoryData, Origin } from "./model.js";
import { sortGroups } from "./model.js";
import type { VaultSecret } from "./vault.js";
import { findVarsFiles, loadVarsLayer, type VarsDirCache, type VarsLayer } from "./vars-files.js";
import type { LoadedData } from "./yaml-loader.js";

/** Variables ansible-inventory leaves out of --list/--host (its INTERNAL_VARS). */
export const INTERNAL_VARS = new Set([
  "ansible_diff_mode",
  "ansible_config_file",
  "ansible_facts",
  "ansible_forks",
  "ansible_inventory_sources",
  "ansible_limit",
  "ansible_playbook_python",
  "ansible_run_tags",
  "ansible_skip_tags",
  "ansible_verbosity",
  "ansible_version",
  "inventory_dir",
  "inventory_file",
  "inventory_hostname",
  "inventory_hostname_short",
  "groups",
  "group_names",
  "omit",
  "playbook_dir",
]);

export interface MergedVars {
  vars: Record<string, unknown>;
  origins: Map<string, Origin>;
}

/** Directories whose group_vars/ and host_vars/ apply: each source's own (a directory) or its parent. */
export function varsBaseDirs(sources: string[]): string[] {
  const out: string[] = [];
  for (const s of sources) {
    if (s.includes(",") && !existsSync(s)) continue;
    let isDir = false;
    try {
      isDir = statSync(s).isDirectory();
    } catch {
      isDir = false;
    }
    out.push(isDir ? s : dirname(s));
  }
  return out;
}

export class VarsResolver {
  private readonly memo = new Map<string, LoadedData>();
  private readonly layers = new Map<string, VarsLayer>();
  private readonly dirs: VarsDirCache = new Map();

  constructor(
    private readonly inv: InventoryData,
    private readonly sourceDirs: string[],
    private readonly playbookDir: string | undefined,
    private readonly secrets: VaultSecret[],
  ) {}

  private layer(dir: string, kind: "group_vars" | "host_vars", name: string): VarsLayer {
    const key = `${kind}\0${dir}\0${name}`;
    let l = this.layers.get(key);
    if (!l) {
      l = loadVarsLayer(findVarsFiles(dir, kind, name, this.dirs), this.secrets, this.memo, this.inv.limits);
      this.layers.set(key, l);
    }
    return l;
  }

  /** Load every group_vars/host_vars file now, so errors surface before anything connects. */
  preload(): void {
    for (const h of this.inv.hosts.values()) this.hostVars(h);
  }

  groupFileVars(g: Group): MergedVars {
    const out: MergedVars = { vars: {}, origins: new Map() };
    for (const dir of [...this.sourceDirs, ...(this.playbookDir ? [this.playbookDir] : [])]) merge(out, this.layer(dir, "group_vars", g.name));
    return out;
  }

  /** host_vars/ files of one host (next to each source, then the playbook). */
  hostFileVars(h: Host): MergedVars {
    const out: MergedVars = { vars: {}, origins: new Map() };
    for (const dir of [...this.sourceDirs, ...(this.playbookDir ? [this.playbookDir] : [])]) merge(out, this.layer(dir, "host_vars", h.name));
    return out;
  }

  hostVars(h: Host): MergedVars {
    const out: MergedVars = { vars: {}, origins: new Map() };
    const all = this.inv.groups.get("all")!;
    const groups = sortGroups(h.groups().filter((g) => g !== all));
    merge(out, all);
    for (const g of groups) merge(out, g);
    for (const d of this.sourceDirs) merge(out, this.layer(d, "group_vars", "all"));
    if (this.playbookDir) merge(out, this.layer(this.playbookDir, "group_vars", "all"));
    for (const d of this.sourceDirs) for (const g of groups) merge(out, this.layer(d, "group_vars", g.name));
    if (this.playbookDir) for (const g of groups) merge(out, this.layer(this.playbookDir, "group_vars", g.name));
    merge(out, h);
    for (const d of this.sourceDirs) merge(out, this.layer(d, "host_vars", h.name));
    if (this.playbookDir) merge(out, this.layer(this.playbookDir, "host_vars", h.name));
    for (const k of INTERNAL_VARS) {
      delete out.vars[k];
      out.origins.delete(k);
    }
    return out;
  }
}

function merge(out: MergedVars, src: { vars: Record<string, unknown>; varOrigins?: Map<string, Origin>; origins?: Map<string, Origin> }): void {
  const origins = src.varOrigins ?? src.origins;
  for (const [k, v] of Object.entries(src.vars)) {
    out.vars[k] = v;
    const o = origins?.get(k);
    if (o) out.origins.set(k, o);
  }
}
