// The instance table: the primary instance, synthesized from its main.cf,
// then one entry per multi_instance_directories element, read through
// postconf -xc. Also the claim table that detects conflicting names and
// directories between instances, and instance selection.
import { statSync } from "node:fs";
import { PostmultiFatal, strerror } from "./messages.js";
import type { Selection } from "./options.js";
import { postconf, postconfFatalText, splitList } from "../postfix/postconf.js";
import type { Env } from "../system/process.js";

export const NAME_PREFIX = "postfix-";

export interface Instance {
  configDir: string;
  queueDir: string;
  dataDir: string;
  /** multi_instance_name, null when empty. */
  name: string | null;
  /** multi_instance_group, null when empty. */
  group: string | null;
  enabled: boolean;
  primary: boolean;
}

/** The primary instance's parameters that postmulti uses. */
export interface PrimaryConfig {
  configDir: string;
  commandDir: string;
  daemonDir: string;
  metaDir: string;
  shlibDir: string;
  queueDir: string;
  dataDir: string;
  multiDirs: string;
  name: string;
  group: string;
  enable: boolean;
  startCmds: string;
  stopCmds: string;
  controlCmds: string;
  importEnvironment: string;
  syslogName: string;
  maillogFile: string;
  postlogService: string;
  myhostname: string;
  wrapper: string;
  mailVersion: string;
  mailOwner: string;
}

export const PRIMARY_PARAMS = [
  "config_directory",
  "command_directory",
  "daemon_directory",
  "meta_directory",
  "shlib_directory",
  "queue_directory",
  "data_directory",
  "multi_instance_directories",
  "multi_instance_name",
  "multi_instance_group",
  "multi_instance_enable",
  "postmulti_start_commands",
  "postmulti_stop_commands",
  "postmulti_control_commands",
  "import_environment",
  "syslog_name",
  "maillog_file",
  "postlog_service_name",
  "myhostname",
  "multi_instance_wrapper",
  "mail_version",
  "mail_owner",
] as const;

/** Shared directories: checked and claimed by the primary (meta_directory only checked). */
export const SHARED_DIRS = ["command_directory", "daemon_directory", "meta_directory", "shlib_directory"] as const;

export function primaryFromValues(v: Map<string, string>): PrimaryConfig {
  const g = (n: string) => v.get(n) ?? "";
  return {
    configDir: g("config_directory"),
    commandDir: g("command_directory"),
    daemonDir: g("daemon_directory"),
    metaDir: g("meta_directory"),
    shlibDir: g("shlib_directory"),
    queueDir: g("queue_directory"),
    dataDir: g("data_directory"),
    multiDirs: g("multi_instance_directories"),
    name: g("multi_instance_name"),
    group: g("multi_instance_group"),
    enable: g("multi_instance_enable").toLowerCase() === "yes",
    startCmds: g("postmulti_start_commands"),
    stopCmds: g("postmulti_stop_commands"),
    controlCmds: g("postmulti_control_commands"),
    importEnvironment: g("import_environment"),
    syslogName: g("syslog_name"),
    maillogFile: g("maillog_file"),
    postlogService: g("postlog_service_name"),
    myhostname: g("myhostname"),
    wrapper: g("multi_instance_wrapper"),
    mailVersion: g("mail_version"),
    mailOwner: g("mail_owner"),
  };
}

/** Read the primary instance's main.cf, as postmulti's mail_conf_read() does. */
export async function readPrimary(postconfPath: string, env: Env): Promise<PrimaryConfig> {
  const r = await postconf(postconfPath, ["-x", ...PRIMARY_PARAMS], env);
  if (r.exitCode !== 0) {
    throw new PostmultiFatal(postconfFatalText(r.stderr) ?? `${postconfPath} failed: ${r.stderr.trim()}`, "failed");
  }
  return primaryFromValues(r.values);
}

export class ClaimTable {
  private owners = new Map<string, string>();

  ownerOf(value: string): string | undefined {
    return this.owners.get(value);
  }

  /** Register a claim or fail with postmulti's conflict message. */
  claim(instancePath: string, param: string, value: string): void {
    const requestor = `${instancePath}, ${param}`;
    const owner = this.owners.get(value);
    if (owner === undefined) this.owners.set(value, requestor);
    else if (owner !== requestor)
      throw new PostmultiFatal(
        `instance ${instancePath}, ${param}=${value} conflicts with instance ${owner}=${value}`,
        "conflict",
      );
  }

  claimInstance(ip: Instance): void {
    if (ip.name !== null) this.claim(ip.configDir, "multi_instance_name", ip.name);
    this.claim(ip.configDir, "config_directory", ip.configDir);
    this.claim(ip.configDir, "queue_directory", ip.queueDir);
    this.claim(ip.configDir, "data_directory", ip.dataDir);
  }
}

/** check_shared_dir_status(): shared directories must exist; claim them for the primary. */
export function checkSharedDirs(p: PrimaryConfig, claims: ClaimTable): void {
  const values: Record<(typeof SHARED_DIRS)[number], string> = {
    command_directory: p.commandDir,
    daemon_directory: p.daemonDir,
    meta_directory: p.metaDir,
    shlib_directory: p.shlibDir,
  };
  for (const param of SHARED_DIRS) {
    const value = values[param];
    if (!value.startsWith("/")) continue;
    let isDir: boolean;
    try {
      isDir = statSync(value).isDirectory();
    } catch (e) {
      throw new PostmultiFatal(`${param} = '${value}': directory not found: ${strerror(e)}`);
    }
    if (!isDir) throw new PostmultiFatal(`${param} = '${value}' is not a directory`);
    if (param === "meta_directory") continue;
    claims.claim(p.configDir, param, value);
  }
}

const nameOrNull = (v: string) => (v === "" ? null : v);

export function primaryInstance(p: PrimaryConfig): Instance {
  return {
    configDir: p.configDir,
    queueDir: p.queueDir,
    dataDir: p.dataDir,
    name: nameOrNull(p.name),
    group: nameOrNull(p.group),
    enabled: p.enable,
    primary: true,
  };
}

/** What load_instance() needs from a secondary main.cf. */
export const INSTANCE_PARAMS = [
  "queue_directory",
  "data_directory",
  "multi_instance_name",
  "multi_instance_group",
  "multi_instance_enable",
] as const;

export interface InstanceReader {
  /** Run `$command_directory/postconf -xc DIR params...`; stderr is passed through in plain mode. */
  (configDir: string): Promise<{ stdout: string; exitCode: number }>;
}

/** Parse load_instance()'s postconf output into the instance (or postmulti's fatal). */
export function parseInstance(configDir: string, out: { stdout: string; exitCode: number }): Omit<Instance, "configDir" | "primary"> {
  let queueDir: string | undefined;
  let dataDir: string | undefined;
  let name: string | null = null;
  let group: string | null = null;
  let enabled = false;
  let count = 0;
  for (const line of out.stdout.split("\n")) {
    if (line === "") continue;
    const m = /^\s*([^=]*?)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || m[1] === "") throw new PostmultiFatal(`Invalid ${configDir}/main.cf parameter: ${line}`);
    const [, key, value] = m as unknown as [string, string, string];
    if (key === "queue_directory" && ++count) queueDir = value;
    else if (key === "data_directory" && ++count) dataDir = value;
    else if (key === "multi_instance_name" && ++count) name = nameOrNull(value);
    else if (key === "multi_instance_group" && ++count) group = nameOrNull(value);
    else if (key === "multi_instance_enable" && ++count) {
      const v = value.toLowerCase();
      if (v !== "yes" && v !== "no")
        throw new PostmultiFatal(`Unexpected ${configDir}/main.cf entry: multi_instance_enable = ${value}`);
      enabled = v === "yes";
    }
  }
  if (count !== INSTANCE_PARAMS.length)
    throw new PostmultiFatal(`Failed to obtain all required ${configDir}/main.cf parameters`);
  if (out.exitCode !== 0) throw new PostmultiFatal(`Cannot parse ${configDir}/main.cf file`);
  return { queueDir: queueDir!, dataDir: dataDir!, name, group, enabled };
}

/** load_all_instances(): primary first, then multi_instance_directories in order. */
export async function loadAllInstances(p: PrimaryConfig, claims: ClaimTable, read: InstanceReader): Promise<Instance[]> {
  const secondaries = splitList(p.multiDirs);
  const primary = primaryInstance(p);
  if (secondaries.length === 0) primary.enabled = true; // single-instance mode
  claims.claimInstance(primary);
  const list = [primary];
  for (const dir of secondaries) {
    // One at a time, as postmulti: the first bad main.cf stops the load.
    const ip: Instance = { configDir: dir, ...parseInstance(dir, await read(dir)), primary: false };
    claims.claimInstance(ip);
    list.push(ip);
  }
  return list;
}

/** match_instance_selection(): by name, name without "postfix-", config dir path, "-", or group. */
export function matchesSelection(ip: Instance, s: Selection): boolean {
  switch (s.type) {
    case "none":
      return false;
    case "all":
      return true;
    case "group":
      return ip.group !== null && s.name === ip.group;
    case "name": {
      const name = s.name;
      let iname: string;
      if (name.startsWith("/") || ip.name === null) iname = ip.configDir;
      else if (!name.startsWith(NAME_PREFIX) && ip.name.startsWith(NAME_PREFIX)) iname = ip.name.slice(NAME_PREFIX.length);
      else iname = ip.name;
      return name === iname || (ip.primary && name === "-");
    }
  }
}

/** The word list lookup of postmulti_{start,stop,control}_commands. */
export function wordInList(list: string, word: string): boolean {
  return list.split(/[\s,]+/).filter((w) => w !== "").includes(word);
}

export type IterFlags = { reverse: boolean; checkDisabled: boolean; skipDisabled: boolean };

/** The instances an iterator command runs for, in order. */
export function iterationOrder(list: Instance[], flags: IterFlags, s: Selection): Instance[] {
  const ordered = flags.reverse ? [...list].reverse() : list;
  return ordered.filter((ip) => !(flags.skipDisabled && !ip.enabled) && matchesSelection(ip, s));
}

/** How `postmulti -p CMD` treats CMD: start-like, stop-like, control or other. */
export function postfixCommandFlags(p: PrimaryConfig, cmd: string): IterFlags {
  if (wordInList(p.startCmds, cmd)) return { reverse: false, checkDisabled: true, skipDisabled: false };
  if (wordInList(p.stopCmds, cmd)) return { reverse: true, checkDisabled: false, skipDisabled: true };
  if (wordInList(p.controlCmds, cmd)) return { reverse: false, checkDisabled: false, skipDisabled: true };
  return { reverse: false, checkDisabled: false, skipDisabled: false };
}

/** The user-visible instance name ("-" when unset). */
export const dash = (v: string | null) => (v === null || v === "" ? "-" : v);
