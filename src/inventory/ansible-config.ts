// ansible.cfg ([defaults]) as far as postfleet uses it: inventory,
// remote_user, private_key_file, forks, timeout. Found as Ansible finds it
// (ANSIBLE_CONFIG, else ./ansible.cfg). host_key_checking = False is
// reported, never obeyed: postfleet keeps verifying host keys.

import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { InventoryError } from "./errors.js";

export interface AnsibleConfig {
  /** The ansible.cfg that was read. */
  path: string;
  /** [defaults] inventory, as absolute paths (or host lists). */
  inventory?: string[];
  remoteUser?: string;
  privateKeyFile?: string;
  forks?: number;
  /** Connection timeout, seconds. */
  timeout?: number;
  /** What host_key_checking said, if anything (postfleet does not weaken checking because of it). */
  hostKeyChecking?: boolean;
  /** Things the operator should know (e.g. host_key_checking = False ignored). */
  warnings: string[];
}

const TRUE = new Set(["y", "yes", "on", "1", "true", "t"]);
const FALSE = new Set(["n", "no", "off", "0", "false", "f"]);

/** The ansible.cfg Ansible would read from this directory: ANSIBLE_CONFIG, else ./ansible.cfg. */
export function findAnsibleConfig(cwd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env["ANSIBLE_CONFIG"];
  if (fromEnv) {
    let p = resolve(cwd, fromEnv.replace(/^~(?=\/|$)/, homedir()));
    if (existsSync(p) && statSync(p).isDirectory()) p = join(p, "ansible.cfg");
    if (existsSync(p)) return p;
  }
  const local = join(cwd, "ansible.cfg");
  if (existsSync(local)) {
    // Ansible ignores ./ansible.cfg in a world-writable directory.
    if ((statSync(cwd).mode & 0o002) !== 0) return undefined;
    return local;
  }
  return undefined;
}

/** Python configparser's reading of one section (enough for [defaults]). */
function readSection(text: string, file: string, section: string): Map<string, { value: string; line: number }> {
  const out = new Map<string, { value: string; line: number }>();
  let current: string | undefined;
  let lastKey: string | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (/^\s*[#;]/.test(raw) || raw.trim() === "") return;
    const sec = /^\s*\[([^\]]+)\]\s*$/.exec(raw);
    if (sec) {
      current = sec[1]!.trim();
      lastKey = undefined;
      return;
    }
    if (/^\s/.test(raw) && lastKey && current === section) {
      const prev = out.get(lastKey)!;
      prev.value += "\n" + raw.trim();
      return;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(raw);
    if (!kv) {
      if (current === section) throw new InventoryError(`expected 'key = value' in [${section}], got '${raw.trim()}'`, { file, line });
      return;
    }
    if (current === section) {
      const value = kv[2]!.replace(/\s;.*$/, "").trim();
      lastKey = kv[1]!.trim().toLowerCase();
      out.set(lastKey, { value, line });
    }
  });
  return out;
}

export function loadAnsibleConfig(cwd: string, env: NodeJS.ProcessEnv = process.env): AnsibleConfig | undefined {
  const path = findAnsibleConfig(cwd, env);
  if (!path) return undefined;
  const text = readFileSync(path, "utf8");
  const d = readSection(text, path, "defaults");
  const base = dirname(path);
  const expand = (p: string): string => {
    const e = p.replace(/^~(?=\/|$)/, homedir());
    return isAbsolute(e) ? e : resolve(base, e);
  };
  const cfg: AnsibleConfig = { path, warnings: [] };
  const inv = d.get("inventory");
  if (inv && inv.value) {
    cfg.inventory = inv.value
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s)
      .map(expand);
  }
  const user = d.get("remote_user");
  if (user && user.value) cfg.remoteUser = user.value;
  const key = d.get("private_key_file");
  if (key && key.value) cfg.privateKeyFile = expand(key.value);
  for (const [name, field] of [
    ["forks", "forks"],
    ["timeout", "timeout"],
  ] as const) {
    const v = d.get(name);
    if (!v) continue;
    if (!/^\d+$/.test(v.value) || parseInt(v.value, 10) < 1) throw new InventoryError(`${name} must be a positive integer, got '${v.value}'`, { file: path, line: v.line });
    cfg[field] = parseInt(v.value, 10);
  }
  const hkc = d.get("host_key_checking");
  if (hkc) {
    const v = hkc.value.toLowerCase();
    if (TRUE.has(v)) cfg.hostKeyChecking = true;
    else if (FALSE.has(v)) {
      cfg.hostKeyChecking = false;
      cfg.warnings.push(
        `${path}:${hkc.line}: host_key_checking = False is ignored: postfleet always verifies host keys (set postfleet_host_key_checking=accept-new for a host to accept a new key once)`,
      );
    } else throw new InventoryError(`host_key_checking must be a boolean, got '${hkc.value}'`, { file: path, line: hkc.line });
  }
  return cfg;
}
