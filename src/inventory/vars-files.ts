// group_vars/ and host_vars/ next to an inventory source (or a playbook), as
// Ansible's host_group_vars plugin finds them: NAME, NAME.yml, NAME.yaml,
// NAME.json (first that exists), or a directory NAME/ whose files (no
// extension or one of those, hidden and ~ files skipped) are merged in name
// order, recursively.

import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { InventoryError } from "./errors.js";
import { loadDataFile } from "./files.js";
import type { InventoryLimits } from "./limits.js";
import type { Origin } from "./model.js";
import type { VaultSecret } from "./vault.js";
import type { LoadedData } from "./yaml-loader.js";

export const VARS_EXTENSIONS = [".yml", ".yaml", ".json"];

export interface VarsLayer {
  vars: Record<string, unknown>;
  origins: Map<string, Origin>;
}

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

function dirFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".") || name.endsWith("~")) continue;
    const ext = extname(name);
    const full = join(dir, name);
    if (isDir(full)) {
      if (!ext) for (const f of dirFiles(full)) out.push(f);
    } else if (!ext || VARS_EXTENSIONS.includes(ext)) {
      out.push(full);
    }
  }
  return out;
}

/** What a group_vars/ or host_vars/ directory holds (read once per load: 150,000 hosts mean 150,000 look-ups). */
export type VarsDirCache = Map<string, { real: string; entries: Set<string> } | null>;

/** Files holding the variables of one group or host under basedir/{group,host}_vars. */
export function findVarsFiles(basedir: string, kind: "group_vars" | "host_vars", name: string, cache: VarsDirCache = new Map()): string[] {
  if (name.startsWith("/")) return [];
  const root = join(basedir, kind);
  let dir = cache.get(root);
  if (dir === undefined) {
    dir = existsSync(root) && isDir(root) ? { real: realpathSync(root), entries: new Set(readdirSync(root)) } : null;
    cache.set(root, dir);
  }
  if (!dir) return [];
  // A name with a slash (group "a/b") is looked up on disk, as before.
  const listed = !name.includes("/");
  for (const ext of ["", ...VARS_EXTENSIONS]) {
    const full = join(dir.real, name + ext);
    if (listed ? dir.entries.has(name + ext) : existsSync(full)) return isDir(full) ? dirFiles(full) : [full];
  }
  return [];
}

export function loadVarsLayer(files: string[], secrets: VaultSecret[], memo: Map<string, LoadedData>, limits?: InventoryLimits): VarsLayer {
  const layer: VarsLayer = { vars: {}, origins: new Map() };
  for (const f of files) {
    const data = loadDataFile(f, secrets, memo, limits);
    const v = data.value;
    if (v === null || v === undefined || v === "" || (typeof v === "object" && Object.keys(v).length === 0)) continue;
    if (typeof v !== "object" || Array.isArray(v)) throw new InventoryError("a vars file must hold a mapping of variable names to values", { file: f, line: 1 });
    const info = data.keys.get(v);
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      layer.vars[k] = val;
      const line = info?.get(k)?.line;
      layer.origins.set(k, line === undefined ? { file: f } : { file: f, line });
    }
  }
  return layer;
}
