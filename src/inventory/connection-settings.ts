// Every connection setting of a host, merged in one place: Ansible's
// connection variables (templated), the command line and ansible.cfg, into the
// ConnectionTarget the transport connects with. Every problem names the file,
// the host and the variable.
//
// Precedence, field by field (first that is set wins):
//   host            ansible_host / ansible_ssh_host, else the inventory name
//   port            ansible_port / ansible_ssh_port
//   user            ansible_user / ansible_ssh_user, -u, ansible.cfg remote_user
//   privateKeyFiles ansible_ssh_private_key_file / ansible_private_key_file, --private-key, ansible.cfg private_key_file
//   connectTimeoutMs ansible_timeout / ansible_ssh_timeout, -T/--timeout, ansible.cfg timeout
//   knownHostsFile  postfleet_known_hosts_file
//   hostKeyChecking postfleet_host_key_checking, --host-key-checking (ansible.cfg's host_key_checking is never obeyed)
//   proxyJump       postfleet_proxy_jump, ProxyJump in ansible_ssh_common_args
//   become          --become (turns it on), ansible_become, ansible.cfg become / ANSIBLE_BECOME
//   becomeUser      --become-user, ansible_become_user, ansible.cfg become_user / ANSIBLE_BECOME_USER
//   becomePassword  -K's answer, ansible_become_password / _pass / ansible_sudo_pass / _password
//   nodePath        postfleet_node
//   transport       postfleet_transport, --transport (auto: unset, chosen per host when connecting)
//   sshArgs         ansible_ssh_common_args then ansible_ssh_extra_args (shell-like words; openssh transport)
// "ansible.cfg" is its value or its ANSIBLE_* variable (src/inventory/ansible-config.ts).
// That is: -u/--private-key/-T sit between inventory variables and ansible.cfg
// as in Ansible; --become/--become-user/-K override the inventory;
// --host-key-checking applies where the inventory sets none. What is still
// unset here is filled by the transport at connect time, in this order: the
// run's TransportOptions (knownHostsFile, hostKeyChecking, connectTimeoutMs),
// then ~/.ssh/config and /etc/ssh/ssh_config (HostName, Port, User,
// IdentityFile, ProxyJump, ConnectTimeout, UserKnownHostsFile,
// StrictHostKeyChecking), then OpenSSH's defaults (port 22, the local user,
// ssh-agent and ~/.ssh/id_*, ~/.ssh/known_hosts, strict, 10 s, become user root).

import { homedir } from "node:os";
import { HOST_KEY_CHECKING_MODES, TRANSPORT_KINDS, type ConnectionTarget, type HostKeyChecking, type TransportKind } from "../shared/connection-target.js";
import type { AnsibleConfig } from "./ansible-config.js";
import { InventoryError } from "./errors.js";
import type { Origin } from "./model.js";
import { shlexSplit } from "./shlex.js";
import { splitProxyJump } from "../shared/ssh-args.js";

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

/** ssh arguments as Ansible's ssh connection splits them: shlex.split without comments (`#` is a character), each word stripped, empty ones dropped. */
function sshWords(args: string): string[] {
  return shlexSplit(args, { comments: false })
    .map((w) => w.trim())
    .filter((w) => w !== "");
}

/** ProxyJump from ssh arguments: `-J x`, `-Jx`, `-o ProxyJump=x`, `-o "ProxyJump x"`. */
export function proxyJumpFromSshArgs(args: string): string | undefined {
  return splitProxyJump(sshWords(args)).proxyJump;
}

/** Connection settings from the command line (unset or empty: not given). */
export interface ConnectionOverrides {
  /** -u: below ansible_user, above ansible.cfg remote_user. */
  user?: string;
  /** --private-key: below ansible_ssh_private_key_file, above ansible.cfg private_key_file. */
  privateKeyFiles?: string[];
  /** -T/--timeout in ms (0: not given): below ansible_timeout, above ansible.cfg timeout. */
  connectTimeoutMs?: number;
  /** -b/--become: true turns become on for every host; false/undefined leaves the inventory's. */
  become?: boolean;
  /** --become-user: wins over ansible_become_user. */
  becomeUser?: string;
  /** -K's answer: wins over ansible_become_password. Secret. */
  becomePassword?: string;
  /** --host-key-checking: where the inventory sets no postfleet_host_key_checking. */
  hostKeyChecking?: HostKeyChecking;
  /** --transport: where the inventory sets no postfleet_transport. */
  transport?: TransportKind;
}

/**
 * The one merge of a host's connection settings (precedence: see the top of
 * this file). `read` gives the host's templated inventory variables; throws
 * InventoryError naming file, host and variable.
 */
export function resolveConnectionTarget(name: string, read: VarReader, cli: ConnectionOverrides = {}, config?: AnsibleConfig): ConnectionTarget {
  const t: ConnectionTarget = { name, address: name };
  const conn = read("ansible_connection");
  if (conn && !["ssh", "smart", "paramiko", "paramiko_ssh"].includes(String(conn.value))) {
    throw varError(name, conn, `is '${String(conn.value)}', but postfleet reaches hosts over SSH only: remove it or set it to ssh`);
  }
  const host = read("ansible_host", "ansible_ssh_host");
  if (host) {
    t.address = asString(name, host).trim();
    if (!t.address) throw varError(name, host, "is empty");
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
    if (!HOST_KEY_CHECKING_MODES.includes(s as HostKeyChecking)) throw varError(name, hkc, "must be strict, accept-new or off");
    t.hostKeyChecking = s as HostKeyChecking;
  } else if (cli.hostKeyChecking) t.hostKeyChecking = cli.hostKeyChecking;
  // ansible_ssh_common_args split once: its ProxyJump here, all its words for the openssh transport below.
  const commonWords = sshArgWords(name, read("ansible_ssh_common_args"));
  const pj = read("postfleet_proxy_jump");
  if (pj) t.proxyJump = asString(name, pj);
  else {
    const j = splitProxyJump(commonWords).proxyJump;
    if (j) t.proxyJump = j;
  }
  const become = read("ansible_become");
  if (become) t.become = asBool(name, become);
  // Checked against the inventory's own ansible_become (before --become), as before the merge moved here.
  const method = read("ansible_become_method");
  if (method && t.become && String(method.value) !== "sudo") throw varError(name, method, `is '${String(method.value)}', but postfleet becomes root with sudo only`);
  if (cli.become) t.become = true;
  else if (t.become === undefined && config?.become) t.become = true;
  // Inventory values are checked even when the command line overrides them (a broken inventory stays an error).
  const bu = read("ansible_become_user");
  if (bu) t.becomeUser = asString(name, bu);
  if (cli.becomeUser) t.becomeUser = cli.becomeUser;
  else if (!bu && config?.becomeUser) t.becomeUser = config.becomeUser;
  const bp = read("ansible_become_password", "ansible_become_pass", "ansible_sudo_pass", "ansible_sudo_password");
  if (bp) {
    if (typeof bp.value !== "string" && typeof bp.value !== "number") throw varError(name, bp, "must be a string (the value is not shown)");
    t.becomePassword = String(bp.value);
  }
  if (cli.becomePassword !== undefined) t.becomePassword = cli.becomePassword;
  const node = read("postfleet_node");
  if (node) t.nodePath = asString(name, node);
  const timeout = read("ansible_timeout", "ansible_ssh_timeout");
  if (timeout) t.connectTimeoutMs = asInt(name, timeout, 1, 86400) * 1000;
  else if (cli.connectTimeoutMs) t.connectTimeoutMs = cli.connectTimeoutMs;
  else if (config?.timeout) t.connectTimeoutMs = config.timeout * 1000;
  const transport = read("postfleet_transport");
  if (transport) {
    const s = String(transport.value);
    if (s !== "auto" && !TRANSPORT_KINDS.includes(s as TransportKind)) throw varError(name, transport, "must be auto, ssh2 or openssh");
    // auto (the default): the transport chooses per host, at connect time (transport-choice.ts).
    if (s !== "auto") t.transport = s as TransportKind;
  } else if (cli.transport) t.transport = cli.transport;
  const sshArgs = [...commonWords, ...sshArgWords(name, read("ansible_ssh_extra_args"))];
  if (sshArgs.length) t.sshArgs = sshArgs;
  return t;
}

/** An ssh-arguments variable (ansible_ssh_common_args, ansible_ssh_extra_args) as argv words (sshWords); never run by a shell. */
function sshArgWords(host: string, v: ResolvedVar | undefined): string[] {
  if (!v) return [];
  try {
    return sshWords(asString(host, v));
  } catch (e) {
    throw varError(host, v, `cannot be split into words: ${(e as Error).message}`);
  }
}
