// From a host's (templated) Ansible connection variables to the transport's
// ConnectionTarget. Every problem names the file, the host and the variable.

import { homedir } from "node:os";
import type { ConnectionTarget, HostKeyChecking } from "../transport/target.js";
import type { AnsibleConfig } from "./config.js";
import { InventoryError } from "./errors.js";
import type { Origin } from "./model.js";

export interface ResolvedVar {
  name: string;
  value: unknown;
  origin?: Origin;
}

/** Reads one variable, templated; throws InventoryError naming file/host/variable. */
export type VarReader = (...names: string[]) => ResolvedVar | undefined;

const TRUE = new Set(["y", "yes", "on", "1", "true", "t"]);
const FALSE = new Set(["n", "no", "off", "0", "false", "f"]);

export function varError(host: string, v: { name: string; origin?: Origin }, problem: string): InventoryError {
  return new InventoryError(`host ${host}: variable ${v.name} ${problem}`, v.origin ?? {});
}

function asString(host: string, v: ResolvedVar): string {
  if (typeof v.value === "string") return v.value;
  if (typeof v.value === "number") return String(v.value);
  throw varError(host, v, "must be a string");
}

function asBool(host: string, v: ResolvedVar): boolean {
  if (typeof v.value === "boolean") return v.value;
  const s = String(v.value).toLowerCase();
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw varError(host, v, "must be a boolean (yes/no, true/false)");
}

function asInt(host: string, v: ResolvedVar, min: number, max: number): number {
  const n = typeof v.value === "number" ? v.value : typeof v.value === "string" && /^\s*\d+\s*$/.test(v.value) ? parseInt(v.value, 10) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw varError(host, v, `must be an integer from ${min} to ${max}`);
  return n;
}

const expandHome = (p: string): string => p.replace(/^~(?=\/|$)/, homedir());

/** ProxyJump from ssh arguments: `-J x`, `-Jx`, `-o ProxyJump=x`, `-o "ProxyJump x"`. */
export function proxyJumpFromSshArgs(args: string): string | undefined {
  const tokens = args.match(/"[^"]*"|'[^']*'|\S+/g)?.map((t) => t.replace(/^["']|["']$/g, "")) ?? [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "-J") return tokens[i + 1];
    if (t.startsWith("-J")) return t.slice(2);
    let opt: string | undefined;
    if (t === "-o") opt = tokens[i + 1];
    else if (t.startsWith("-o")) opt = t.slice(2);
    if (opt) {
      const m = /^ProxyJump\s*[= ]\s*(.+)$/i.exec(opt.trim());
      if (m) return m[1]!.trim();
    }
  }
  return undefined;
}

/** Command-line values (-u, --private-key, -T): below inventory variables, above ansible.cfg, as in Ansible. */
export interface ConnectionDefaults {
  user?: string;
  privateKeyFiles?: string[];
  connectTimeoutMs?: number;
}

export function buildConnectionTarget(name: string, read: VarReader, config?: AnsibleConfig, cli: ConnectionDefaults = {}): ConnectionTarget {
  const t: ConnectionTarget = { name, host: name };
  const conn = read("ansible_connection");
  if (conn && !["ssh", "smart", "paramiko", "paramiko_ssh"].includes(String(conn.value))) {
    throw varError(name, conn, `is '${String(conn.value)}', but postfleet reaches hosts over SSH only: remove it or set it to ssh`);
  }
  const host = read("ansible_host", "ansible_ssh_host");
  if (host) {
    t.host = asString(name, host).trim();
    if (!t.host) throw varError(name, host, "is empty");
  }
  const port = read("ansible_port", "ansible_ssh_port");
  if (port) t.port = asInt(name, port, 1, 65535);
  const user = read("ansible_user", "ansible_ssh_user");
  if (user) t.user = asString(name, user);
  else if (cli.user) t.user = cli.user;
  else if (config?.remoteUser) t.user = config.remoteUser;
  const key = read("ansible_ssh_private_key_file", "ansible_private_key_file");
  if (key) {
    const list = Array.isArray(key.value) ? key.value : [key.value];
    t.privateKeyFiles = list.map((k) => expandHome(asString(name, { ...key, value: k })));
  } else if (cli.privateKeyFiles?.length) t.privateKeyFiles = [...cli.privateKeyFiles];
  else if (config?.privateKeyFile) t.privateKeyFiles = [config.privateKeyFile];
  const kh = read("postfleet_known_hosts_file");
  if (kh) t.knownHostsFile = expandHome(asString(name, kh));
  const hkc = read("postfleet_host_key_checking");
  if (hkc) {
    const s = typeof hkc.value === "boolean" ? (hkc.value ? "strict" : "off") : String(hkc.value);
    if (!["strict", "accept-new", "off"].includes(s)) throw varError(name, hkc, "must be strict, accept-new or off");
    t.hostKeyChecking = s as HostKeyChecking;
  }
  const pj = read("postfleet_proxy_jump");
  if (pj) t.proxyJump = asString(name, pj);
  else {
    const common = read("ansible_ssh_common_args");
    if (common) {
      const j = proxyJumpFromSshArgs(asString(name, common));
      if (j) t.proxyJump = j;
    }
  }
  const become = read("ansible_become");
  if (become) t.become = asBool(name, become);
  const method = read("ansible_become_method");
  if (method && t.become && String(method.value) !== "sudo") throw varError(name, method, `is '${String(method.value)}', but postfleet becomes root with sudo only`);
  const bu = read("ansible_become_user");
  if (bu) t.becomeUser = asString(name, bu);
  const bp = read("ansible_become_password", "ansible_become_pass", "ansible_sudo_pass", "ansible_sudo_password");
  if (bp) {
    if (typeof bp.value !== "string" && typeof bp.value !== "number") throw varError(name, bp, "must be a string (the value is not shown)");
    t.becomePassword = String(bp.value);
  }
  const node = read("postfleet_node");
  if (node) t.nodePath = asString(name, node);
  const timeout = read("ansible_timeout", "ansible_ssh_timeout");
  if (timeout) t.connectTimeoutMs = asInt(name, timeout, 1, 86400) * 1000;
  else if (cli.connectTimeoutMs) t.connectTimeoutMs = cli.connectTimeoutMs;
  else if (config?.timeout) t.connectTimeoutMs = config.timeout * 1000;
  return t;
}
