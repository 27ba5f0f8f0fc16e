// ~/.ssh/config (and /etc/ssh/ssh_config) for the few options postfleet
// honours: HostName, User, Port, IdentityFile, ProxyJump, ConnectTimeout,
// UserKnownHostsFile, StrictHostKeyChecking, HashKnownHosts, evaluated by
// ssh-config-file.ts as OpenSSH does (Include, Host, Match, first value wins,
// IdentityFile accumulates); values from the inventory win over the files.
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import { connectTimeoutMsOf, evaluateSshConfig, type ConfigFileRef } from "./ssh-config-file.js";
import { parseJumpChain, type JumpHost } from "./proxy-jump.js";
import { TransportConfigError } from "./errors.js";
import type { ConnectionTarget, HostKeyChecking } from "../shared/connection-target.js";

export interface SshConfigOptions {
  /** Files to read, in order; default ~/.ssh/config then /etc/ssh/ssh_config. */
  files?: string[];
  /** Local user name (%u, default user); default the process's user. */
  localUser?: string;
  /** Local home (~, %d); default the process's home. */
  home?: string;
}

export interface HopSettings {
  hostname: string;
  port: number;
  user: string;
  /** Key files (inventory's, else IdentityFile), ~ and tokens expanded; may not exist. */
  identityFiles: string[];
  /** True when identityFiles came from the inventory (then the default keys are not tried). */
  explicitIdentityFiles: boolean;
  /** Jump hosts in `ssh -J` syntax, or undefined. */
  proxyJump: string | undefined;
  connectTimeoutMs: number | undefined;
  /** UserKnownHostsFile (expanded), or undefined. */
  knownHostsFiles: string[] | undefined;
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

/** Expand OpenSSH's %-tokens that are cheap to know here. */
export function expandTokens(s: string, t: { h: string; p: number; r: string; u: string; d: string; n: string }): string {
  return s.replace(/%(.)/g, (whole, c: string) => {
    switch (c) {
      case "%": return "%";
      case "h": return t.h;
      case "p": return String(t.p);
      case "r": return t.r;
      case "u": return t.u;
      case "d": return t.d;
      case "n": return t.n;
      default: return whole;
    }
  });
}

export function expandTilde(p: string, home: string): string {
  if (p === "~") return home;
  if (p.startsWith("~/")) return join(home, p.slice(2));
  return p;
}

/** Settings for one hop (the target itself or a jump host), ssh_config applied under inventory values. */
export function resolveHop(
  given: { host: string; port?: number; user?: string; identityFiles?: string[]; proxyJump?: string; connectTimeoutMs?: number },
  o: SshConfigOptions = {},
): HopSettings {
  const home = o.home ?? homedir();
  const localUser = o.localUser ?? userInfo().username;
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
  const tokens = { h: hostname, n: given.host, p: port, r: user, u: localUser, d: home };
  const identityFiles = (explicit ? given.identityFiles! : c.identityFiles.map((f) => f.value))
    // Relative paths stay relative to the working directory, as in OpenSSH.
    .map((f) => expandTilde(expandTokens(f, tokens), home));
  const cfgJump = c.proxy?.value.kind === "jump" ? c.proxy.value.spec : undefined;
  // "none" (inventory or file) means no jump host, as for ssh -J none; an inventory's none still hides the file's.
  const jump = given.proxyJump ?? cfgJump;
  const proxyJump = jump && jump.toLowerCase() !== "none" ? jump : undefined;
  const cfgTimeout = c.connectTimeout?.value;
  const connectTimeoutMs = given.connectTimeoutMs ?? (cfgTimeout !== undefined ? connectTimeoutMsOf(cfgTimeout) : undefined);
  // "none" (OpenSSH: no user known_hosts file) reads as empty and takes no new entry.
  const knownHostsFiles = c.userKnownHostsFiles?.value.map((f) => (f.toLowerCase() === "none" ? "/dev/null" : expandTilde(expandTokens(f, tokens), home)));
  return {
    hostname,
    port,
    user,
    identityFiles,
    explicitIdentityFiles: explicit,
    proxyJump,
    connectTimeoutMs,
    knownHostsFiles,
    hostKeyChecking: mapStrictHostKeyChecking(c.strictHostKeyChecking?.value),
    hashKnownHosts: c.hashKnownHosts?.value ?? false,
  };
}

export function resolveTarget(t: ConnectionTarget, o: SshConfigOptions = {}): HopSettings {
  return resolveHop(
    {
      host: t.host,
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
