// The process environments postmulti gives to the commands it runs.
import type { Instance, PrimaryConfig } from "./instances.js";
import { splitList } from "../postfix/postconf.js";
import type { Env } from "../system/process.js";

export const ROOT_PATH = "/bin:/usr/bin:/sbin:/usr/sbin";

/**
 * postmulti's own environment after start-up: its caller's, plus what
 * Postfix's logging initialization exports, plus MAIL_VERBOSE with -v.
 */
export function baseEnv(callerEnv: Env, p: PrimaryConfig, verbose: number): Env {
  const env: Env = { ...callerEnv };
  env.MAIL_LOGTAG = p.syslogName;
  if (p.maillogFile !== "") {
    env.POSTLOG_SERVICE = `${p.queueDir}/public/${p.postlogService}`;
    env.POSTLOG_HOSTNAME = p.myhostname;
  }
  if (verbose > 0) env.MAIL_VERBOSE = "";
  return env;
}

/** "$command_directory:" in front of PATH (or of the default root PATH). */
export function prependCommandPath(env: Env, commandDir: string): void {
  const path = env.PATH;
  env.PATH = `${commandDir}:${path ? path : ROOT_PATH}`;
}

/** clean_env(): keep only the import_environment names; apply its name=value entries. */
export function cleanEnv(env: Env, importEnvironment: string): Env {
  const out: Env = {};
  for (const entry of splitList(importEnvironment)) {
    const eq = entry.indexOf("=");
    if (eq >= 0) out[entry.slice(0, eq).trim()] = entry.slice(eq + 1).trim();
    else if (env[entry] !== undefined) out[entry] = env[entry]!;
  }
  return out;
}

/** Environment of a `postmulti -p` child: only MAIL_CONFIG changes. */
export function postfixCommandEnv(base: Env, ip: Instance): Env {
  return { ...base, MAIL_CONFIG: ip.configDir };
}

/** Environment of a `postmulti -x` child. */
export function genericCommandEnv(base: Env, p: PrimaryConfig, ip: Instance): Env {
  const env: Env = { ...base, MAIL_CONFIG: ip.configDir };
  env.daemon_directory = p.daemonDir;
  env.command_directory = p.commandDir;
  env.config_directory = ip.configDir;
  env.queue_directory = ip.queueDir;
  env.data_directory = ip.dataDir;
  env.multi_instance_name = ip.name ?? "";
  env.multi_instance_group = ip.group ?? "";
  env.multi_instance_enable = ip.enabled ? "yes" : "no";
  prependCommandPath(env, p.commandDir);
  return env;
}

export interface ExportFlags {
  dirs: boolean;
  name: boolean;
  group: boolean;
}

/** Environment of postmulti-script (export_helper_environment()). */
export function helperEnv(base: Env, p: PrimaryConfig, target: Instance, flags: ExportFlags, secondaries: Instance[]): Env {
  const env = cleanEnv(base, p.importEnvironment);
  prependCommandPath(env, p.commandDir);
  env.MAIL_CONFIG = p.configDir;
  env.command_directory = p.commandDir;
  env.daemon_directory = p.daemonDir;
  env.meta_directory = p.metaDir;
  env.shlib_directory = p.shlibDir;
  env.config_directory = target.configDir;
  env.queue_directory = target.queueDir;
  env.data_directory = target.dataDir;
  if (flags.dirs) env.multi_instance_directories = secondaries.map((s) => s.configDir).join(" ");
  if (flags.name) env.multi_instance_name = target.name ? target.name : "-";
  if (flags.group) env.multi_instance_group = target.group ? target.group : "-";
  return env;
}
