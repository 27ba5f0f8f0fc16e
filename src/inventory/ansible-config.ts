// ansible.cfg as far as postfleet uses it ([defaults] inventory, remote_user,
// private_key_file, forks, timeout, host_key_checking, vault_password_file,
// vault_identity_list, ask_vault_pass, vault_id_match; [privilege_escalation] become,
// become_user, become_ask_pass), found as Ansible finds it (ANSIBLE_CONFIG,
// ./ansible.cfg unless the directory is world-writable, ~/.ansible.cfg,
// /etc/ansible/ansible.cfg: the first found wins), each key overridden by
// its ANSIBLE_* environment variable as in Ansible. host_key_checking =
// False is reported, never obeyed: postfleet keeps verifying host keys.

import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { InventoryError } from "./errors.js";

export interface AnsibleConfig {
  /** The ansible.cfg that was read (none: only ANSIBLE_* variables were set). */
  path?: string;
  /** The ANSIBLE_* environment variables that set a value, in the order read. */
  fromEnv: string[];
  /** [defaults] inventory, as absolute paths (or host lists). */
  inventory?: string[];
  remoteUser?: string;
  privateKeyFile?: string;
  forks?: number;
  /** Connection timeout, seconds. */
  timeout?: number;
  /** What host_key_checking said, if anything (postfleet does not weaken checking because of it). */
  hostKeyChecking?: boolean;
  become?: boolean;
  becomeUser?: string;
  becomeAskPass?: boolean;
  vaultPasswordFiles?: string[];
  vaultIdentityList?: string[];
  askVaultPass?: boolean;
  /** vault_id_match: a vault with a vault id is tried only with the passwords of that id. */
  vaultIdMatch?: boolean;
  /** Things the operator should know (e.g. host_key_checking = False ignored). */
  warnings: string[];
}

const TRUE = new Set(["y", "yes", "on", "1", "true", "t"]);
const FALSE = new Set(["n", "no", "off", "0", "false", "f"]);

/** Where Ansible looks last. */
export const SYSTEM_ANSIBLE_CONFIG = "/etc/ansible/ansible.cfg";

/** The home directory as Ansible expands `~` (HOME first). */
function home(env: NodeJS.ProcessEnv): string {
  return env["HOME"] || homedir();
}

export interface ConfigSearch {
  /** The file to read, if any. */
  path?: string;
  /** ./ansible.cfg was passed over because its directory is world-writable. */
  skippedWorldWritable?: string;
}

/** The ansible.cfg Ansible would read: ANSIBLE_CONFIG, ./ansible.cfg, ~/.ansible.cfg, /etc/ansible/ansible.cfg. */
export function searchAnsibleConfig(cwd: string, env: NodeJS.ProcessEnv = process.env, systemPath = SYSTEM_ANSIBLE_CONFIG): ConfigSearch {
  const out: ConfigSearch = {};
  const fromEnv = env["ANSIBLE_CONFIG"];
  if (fromEnv) {
    let p = resolve(cwd, fromEnv.replace(/^~(?=\/|$)/, home(env)));
    if (existsSync(p) && statSync(p).isDirectory()) p = join(p, "ansible.cfg");
    if (existsSync(p)) return { path: p };
  }
  const local = join(cwd, "ansible.cfg");
  if (existsSync(local)) {
    // Ansible passes over ./ansible.cfg in a world-writable directory (and says so).
    if ((statSync(cwd).mode & 0o002) === 0) return { path: local };
    out.skippedWorldWritable = local;
  }
  for (const p of [join(home(env), ".ansible.cfg"), systemPath]) {
    if (existsSync(p) && statSync(p).isFile()) return { ...out, path: p };
  }
  return out;
}

/** The path of the ansible.cfg Ansible would read, if any. */
export function findAnsibleConfig(cwd: string, env: NodeJS.ProcessEnv = process.env, systemPath = SYSTEM_ANSIBLE_CONFIG): string | undefined {
  return searchAnsibleConfig(cwd, env, systemPath).path;
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

/** One setting: its ini section and key, and the environment variable that overrides it. */
interface Setting {
  section: "defaults" | "privilege_escalation";
  key: string;
  env: string;
}

const S = {
  inventory: { section: "defaults", key: "inventory", env: "ANSIBLE_INVENTORY" },
  remoteUser: { section: "defaults", key: "remote_user", env: "ANSIBLE_REMOTE_USER" },
  privateKeyFile: { section: "defaults", key: "private_key_file", env: "ANSIBLE_PRIVATE_KEY_FILE" },
  forks: { section: "defaults", key: "forks", env: "ANSIBLE_FORKS" },
  timeout: { section: "defaults", key: "timeout", env: "ANSIBLE_TIMEOUT" },
  hostKeyChecking: { section: "defaults", key: "host_key_checking", env: "ANSIBLE_HOST_KEY_CHECKING" },
  vaultPasswordFile: { section: "defaults", key: "vault_password_file", env: "ANSIBLE_VAULT_PASSWORD_FILE" },
  vaultIdentityList: { section: "defaults", key: "vault_identity_list", env: "ANSIBLE_VAULT_IDENTITY_LIST" },
  askVaultPass: { section: "defaults", key: "ask_vault_pass", env: "ANSIBLE_ASK_VAULT_PASS" },
  vaultIdMatch: { section: "defaults", key: "vault_id_match", env: "ANSIBLE_VAULT_ID_MATCH" },
  become: { section: "privilege_escalation", key: "become", env: "ANSIBLE_BECOME" },
  becomeUser: { section: "privilege_escalation", key: "become_user", env: "ANSIBLE_BECOME_USER" },
  becomeAskPass: { section: "privilege_escalation", key: "become_ask_pass", env: "ANSIBLE_BECOME_ASK_PASS" },
} as const satisfies Record<string, Setting>;

/** A setting's value and where it came from (paths in the file are relative to the file, in the environment to the working directory). */
interface Found {
  value: string;
  /** For messages: FILE:LINE, or the variable's name. */
  where: string;
  file?: string;
  line?: number;
  base: string;
}

/**
 * ansible.cfg and the ANSIBLE_* variables as Ansible reads them; undefined when
 * neither gives anything. Bad values are errors at FILE:LINE (or naming the variable).
 */
export function loadAnsibleConfig(cwd: string, env: NodeJS.ProcessEnv = process.env, systemPath = SYSTEM_ANSIBLE_CONFIG): AnsibleConfig | undefined {
  const search = searchAnsibleConfig(cwd, env, systemPath);
  const path = search.path;
  const sections = new Map<string, Map<string, { value: string; line: number }>>();
  if (path) {
    const text = readFileSync(path, "utf8");
    for (const sec of ["defaults", "privilege_escalation"]) sections.set(sec, readSection(text, path, sec));
  }
  const cfg: AnsibleConfig = { fromEnv: [], warnings: [] };
  if (path) cfg.path = path;
  if (search.skippedWorldWritable) {
    cfg.warnings.push(`${search.skippedWorldWritable} is not read: its directory is world-writable (as Ansible does)`);
  }
  const get = (s: Setting): Found | undefined => {
    const e = env[s.env];
    if (e !== undefined && e !== "") {
      cfg.fromEnv.push(s.env);
      return { value: e, where: s.env, base: cwd };
    }
    const v = sections.get(s.section)?.get(s.key);
    if (!v || !path) return undefined;
    return { value: v.value, where: `${path}:${v.line}`, file: path, line: v.line, base: dirname(path) };
  };
  const fail = (f: Found, msg: string): never => {
    if (f.file) throw new InventoryError(msg, { file: f.file, line: f.line! });
    throw new InventoryError(`${f.where}: ${msg}`);
  };
  const expand = (f: Found, p: string): string => {
    const e = p.replace(/^~(?=\/|$)/, home(env));
    return isAbsolute(e) ? e : resolve(f.base, e);
  };
  const list = (f: Found) =>
    f.value
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x);
  const bool = (f: Found, key: string): boolean => {
    const v = f.value.toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    return fail(f, `${key} must be a boolean, got '${f.value}'`);
  };
  const positive = (f: Found, key: string): number => {
    if (!/^\d+$/.test(f.value.trim()) || parseInt(f.value, 10) < 1) fail(f, `${key} must be a positive integer, got '${f.value}'`);
    return parseInt(f.value, 10);
  };

  let f = get(S.inventory);
  if (f && f.value) cfg.inventory = list(f).map((x) => expand(f!, x));
  f = get(S.remoteUser);
  if (f && f.value) cfg.remoteUser = f.value;
  f = get(S.privateKeyFile);
  if (f && f.value) cfg.privateKeyFile = expand(f, f.value);
  f = get(S.forks);
  if (f) cfg.forks = positive(f, "forks");
  f = get(S.timeout);
  if (f) cfg.timeout = positive(f, "timeout");
  f = get(S.hostKeyChecking);
  if (f) {
    cfg.hostKeyChecking = bool(f, "host_key_checking");
    if (!cfg.hostKeyChecking) {
      cfg.warnings.push(
        `${f.where}: host_key_checking = False is ignored: postfleet always verifies host keys (set postfleet_host_key_checking=accept-new for a host to accept a new key once)`,
      );
    }
  }
  f = get(S.vaultPasswordFile);
  if (f && f.value) cfg.vaultPasswordFiles = list(f).map((x) => expand(f!, x));
  f = get(S.vaultIdentityList);
  if (f && f.value) cfg.vaultIdentityList = list(f);
  f = get(S.askVaultPass);
  if (f) cfg.askVaultPass = bool(f, "ask_vault_pass");
  f = get(S.vaultIdMatch);
  if (f) cfg.vaultIdMatch = bool(f, "vault_id_match");
  f = get(S.become);
  if (f) cfg.become = bool(f, "become");
  f = get(S.becomeUser);
  if (f && f.value) cfg.becomeUser = f.value;
  f = get(S.becomeAskPass);
  if (f) cfg.becomeAskPass = bool(f, "become_ask_pass");
  if (!path && cfg.fromEnv.length === 0 && cfg.warnings.length === 0) return undefined;
  return cfg;
}
