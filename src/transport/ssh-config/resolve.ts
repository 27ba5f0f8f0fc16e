// ~/.ssh/config (and /etc/ssh/ssh_config) for the few options postfleet
// honours: HostName, User, Port, IdentityFile, ProxyJump, ConnectTimeout,
// UserKnownHostsFile, GlobalKnownHostsFile, HostKeyAlias,
// StrictHostKeyChecking, HashKnownHosts (and CheckHostIP, KnownHostsCommand,
// RevokedHostKeys, refused where ssh would use them), evaluated by
// evaluate.ts as OpenSSH does (Include, Host, Match, first value wins,
// IdentityFile accumulates), file names expanded as ssh expands them
// (tokens.ts); values from the inventory win over the files.
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import { evaluateSshConfig } from "./evaluate.js";
import { connectTimeoutMsOf } from "./timeouts.js";
import type { ConfigFileRef, Origin } from "./types.js";
import { connectionTokens, expandSshPath, PathExpansionError, sshTildeExpand, type ConnectionTokens } from "./tokens.js";
import { parseJumpChain, type JumpHost } from "../proxy-jump.js";
import { TransportConfigError } from "../errors.js";
import type { ConnectionTarget, HostKeyChecking } from "../../shared/connection-target.js";

export interface SshConfigOptions {
  /** Files to read, in order; default ~/.ssh/config then /etc/ssh/ssh_config. */
  files?: string[];
  /** Local user name (%u, default user); default the process's user. */
  localUser?: string;
  /** Local home (~, %d); default the process's home. */
  home?: string;
  /** Environment for ${VAR} in file names; default the process's. */
  env?: NodeJS.ProcessEnv;
  /** Local host name (%l, %L, %C); default the machine's. */
  thisHost?: string;
}

export interface HopSettings {
  hostname: string;
  port: number;
  user: string;
  /** Key files (inventory's, else IdentityFile), ~ and tokens expanded; may not exist. */
  identityFiles: string[];
  /** True when identityFiles came from the inventory (then the default keys are not tried). */
  explicitIdentityFiles: boolean;
  /** CertificateFile, expanded as IdentityFile (ssh presents them; ssh2 cannot: named when authentication fails). */
  certificateFiles?: string[];
  /** Jump hosts in `ssh -J` syntax, or undefined. */
  proxyJump: string | undefined;
  connectTimeoutMs: number | undefined;
  /** UserKnownHostsFile (`~`, tokens and ${VAR} expanded; [] for none: nothing read, nothing added), or undefined. */
  knownHostsFiles: string[] | undefined;
  /** GlobalKnownHostsFile (`~` expanded, as ssh does; [] for none), or undefined. */
  globalKnownHostsFiles: string[] | undefined;
  /** HostKeyAlias, lowercased as ssh does: known_hosts lookups and additions use it instead of host and port. */
  hostKeyAlias: string | undefined;
  /** Where `CheckHostIP yes` was set, when it was (ssh_config's first value). */
  checkHostIp: Origin | undefined;
  /** StrictHostKeyChecking mapped to postfleet's modes, or undefined. */
  hostKeyChecking: HostKeyChecking | undefined;
  /** HashKnownHosts: write new known_hosts entries hashed. */
  hashKnownHosts: boolean;
}

/** OpenSSH's StrictHostKeyChecking values in postfleet's terms ("ask" has nobody to ask: strict). */
export function mapStrictHostKeyChecking(v: string | undefined): HostKeyChecking | undefined {
  switch (v?.toLowerCase()) {
    case "yes":
    case "true":
    case "ask":
      return "strict";
    case "accept-new":
      return "accept-new";
    case "no":
    case "false":
    case "off":
      return "off";
    default:
      return undefined;
  }
}

export function defaultConfigFiles(home = homedir()): string[] {
  return [join(home, ".ssh", "config"), "/etc/ssh/ssh_config"];
}

const SYSTEM_CONFIG = "/etc/ssh/ssh_config";

/** The files with their kind: the system file's relative Includes are under /etc/ssh, the others' under ~/.ssh. */
function configFileRefs(o: SshConfigOptions, home: string): ConfigFileRef[] {
  // Like ssh: the default ~/.ssh/config must not be writable by others; a file named explicitly (ssh -F) is not checked.
  const checkUserFile = o.files === undefined;
  return (o.files ?? defaultConfigFiles(home)).map((path) =>
    path === SYSTEM_CONFIG ? { path, scope: "system" } : { path, scope: "user", checkPermissions: checkUserFile },
  );
}

/** One file name as ssh expands it, or a refusal naming where it was written (ssh exits on these too). */
function expandPathAt(raw: string, keyword: string, at: string, label: string, expand: (raw: string) => string): string {
  try {
    return expand(raw);
  } catch (e) {
    if (!(e instanceof PathExpansionError)) throw e;
    throw new TransportConfigError(label, `${at}: ${keyword} ${JSON.stringify(raw)}: ${e.message} (ssh refuses it too)`);
  }
}

let localUserName: string | undefined;
/** The controller's login name (%u, ssh's default user): read from the password database once per process, not per hop. */
export function currentUserName(): string {
  return (localUserName ??= userInfo().username);
}

/** Settings for one hop (the target itself or a jump host), ssh_config applied under inventory values. */
export function resolveHop(
  given: { host: string; port?: number; user?: string; identityFiles?: string[]; proxyJump?: string; connectTimeoutMs?: number },
  o: SshConfigOptions = {},
): HopSettings {
  const home = o.home ?? homedir();
  const localUser = o.localUser ?? currentUserName();
  const explicit = (given.identityFiles?.length ?? 0) > 0;
  const { config: c, hostname } = evaluateSshConfig({
    host: given.host,
    localUser,
    home,
    files: configFileRefs(o, home),
    preset: {
      // Like ssh -l/-p/-J/-i: these make the files' values irrelevant (and Match user sees the given user).
      ...(given.user ? { user: given.user } : {}),
      port: given.port !== undefined,
      proxyJump: given.proxyJump !== undefined,
      connectTimeout: given.connectTimeoutMs !== undefined,
      identityFiles: explicit,
    },
  });
  const port = given.port ?? c.port?.value ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TransportConfigError(given.host, `invalid port ${port} for ${given.host}`);
  }
  const user = given.user ?? c.user?.value ?? localUser;
  const hostKeyAlias = c.hostKeyAlias?.value.toLowerCase();
  const tokens: ConnectionTokens = connectionTokens({
    hostArg: given.host,
    hostname,
    port,
    remoteUser: user,
    localUser,
    home,
    hostKeyAlias,
    thisHost: o.thisHost,
  });
  const full = (raw: string) => expandSshPath(raw, tokens, home, localUser, o.env ?? process.env);
  const at = (origin: Origin) => `${origin.file}:${origin.line}`;
  // Relative paths stay relative to the working directory, as in OpenSSH. Inventory files are expanded as ssh expands -i.
  const identityFiles = explicit
    ? given.identityFiles!.map((f) => expandPathAt(f, "ansible_ssh_private_key_file", `host ${given.host}`, given.host, full))
    : c.identityFiles.map((f) => expandPathAt(f.value, "IdentityFile", at(f.at), given.host, full));
  const certificateFiles = (c.certificateFiles ?? []).map((f) => expandPathAt(f.value, "CertificateFile", at(f.at), given.host, full));
  const cfgJump = c.proxy?.value.kind === "jump" ? c.proxy.value.spec : undefined;
  // "none" (inventory or file) means no jump host, as for ssh -J none; an inventory's none still hides the file's.
  const jump = given.proxyJump ?? cfgJump;
  const proxyJump = jump && jump.toLowerCase() !== "none" ? jump : undefined;
  const cfgTimeout = c.connectTimeout?.value;
  const connectTimeoutMs = given.connectTimeoutMs ?? (cfgTimeout !== undefined ? connectTimeoutMsOf(cfgTimeout) : undefined);
  // "none" (OpenSSH: no such file) is an empty list: nothing is read from it, and no new key can be added.
  const khs = c.userKnownHostsFiles;
  const knownHostsFiles = khs && (isNone(khs.value) ? [] : khs.value.map((f) => expandPathAt(f, "UserKnownHostsFile", at(khs.at), given.host, full)));
  const gkhs = c.globalKnownHostsFiles;
  const globalKnownHostsFiles =
    gkhs &&
    (isNone(gkhs.value) ? [] : gkhs.value.map((f) => expandPathAt(f, "GlobalKnownHostsFile", at(gkhs.at), given.host, (raw) => sshTildeExpand(raw, home, localUser))));
  return {
    hostname,
    port,
    user,
    identityFiles,
    explicitIdentityFiles: explicit,
    ...(certificateFiles.length ? { certificateFiles } : {}),
    proxyJump,
    connectTimeoutMs,
    knownHostsFiles,
    globalKnownHostsFiles,
    hostKeyAlias,
    checkHostIp: c.checkHostIp?.value ? c.checkHostIp.at : undefined,
    hostKeyChecking: mapStrictHostKeyChecking(c.strictHostKeyChecking?.value),
    hashKnownHosts: c.hashKnownHosts?.value ?? false,
  };
}

function isNone(files: string[]): boolean {
  return files.length === 1 && files[0]!.toLowerCase() === "none";
}

export function resolveTarget(t: ConnectionTarget, o: SshConfigOptions = {}): HopSettings {
  return resolveHop(
    {
      host: t.address,
      port: t.port,
      user: t.user,
      identityFiles: t.privateKeyFiles,
      proxyJump: t.proxyJump,
      connectTimeoutMs: t.connectTimeoutMs,
    },
    o,
  );
}

/** Parse `ssh -J` syntax as ssh does: [user@]host[:port] or ssh://[user@]host[:port], comma-separated; IPv6 as [addr]:port. */
export function parseProxyJump(spec: string, label: string): JumpHost[] {
  try {
    return parseJumpChain(spec);
  } catch (e) {
    throw new TransportConfigError(label, (e as Error).message);
  }
}
