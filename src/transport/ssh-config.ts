// ~/.ssh/config (and /etc/ssh/ssh_config) for the few options postfleet
// honours: HostName, User, Port, IdentityFile, ProxyJump, ConnectTimeout,
// UserKnownHostsFile, StrictHostKeyChecking, HashKnownHosts.
// As in OpenSSH the first value found wins (IdentityFile accumulates), and
// values from the inventory win over the config files.
import { existsSync, readFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import SSHConfig from "ssh-config";
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
    case "ask":
      return "strict";
    case "accept-new":
      return "accept-new";
    case "no":
    case "off":
      return "off";
    default:
      return undefined;
  }
}

export function defaultConfigFiles(home = homedir()): string[] {
  return [join(home, ".ssh", "config"), "/etc/ssh/ssh_config"];
}

function loadConfigs(files: string[]): SSHConfig[] {
  return files.filter((f) => existsSync(f)).map((f) => SSHConfig.parse(readFileSync(f, "utf8")));
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
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
  const merged: Record<string, string | string[]> = {};
  for (const cfg of loadConfigs(o.files ?? defaultConfigFiles(home))) {
    // (ssh-config echoes a given User back as the result's User, so pass it only when the inventory set one.)
    const computed = cfg.compute(given.user ? { Host: given.host, User: given.user } : { Host: given.host }, { ignoreCase: true });
    for (const [k, v] of Object.entries(computed)) {
      if (k === "identityfile") merged[k] = [...((merged[k] as string[] | undefined) ?? []), ...(Array.isArray(v) ? v : [v])];
      else if (!(k in merged)) merged[k] = v;
    }
  }
  const rawHostName = first(merged.hostname);
  const hostname = rawHostName
    ? expandTokens(rawHostName, { h: given.host, n: given.host, p: 22, r: "", u: localUser, d: home })
    : given.host;
  const cfgPort = first(merged.port);
  const port = given.port ?? (cfgPort ? Number(cfgPort) : 22);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TransportConfigError(given.host, `ssh config: invalid Port ${JSON.stringify(cfgPort)} for ${given.host}`);
  }
  const user = given.user ?? first(merged.user) ?? localUser;
  const tokens = { h: hostname, n: given.host, p: port, r: user, u: localUser, d: home };
  const explicit = (given.identityFiles?.length ?? 0) > 0;
  const identityFiles = (explicit ? given.identityFiles! : ((merged.identityfile as string[] | undefined) ?? []))
    // Relative paths stay relative to the working directory, as in OpenSSH.
    .map((f) => expandTilde(expandTokens(f, tokens), home));
  const cfgJump = first(merged.proxyjump);
  const proxyJump = given.proxyJump ?? (cfgJump && cfgJump.toLowerCase() !== "none" ? cfgJump : undefined);
  const cfgTimeout = first(merged.connecttimeout);
  const connectTimeoutMs =
    given.connectTimeoutMs ?? (cfgTimeout && Number(cfgTimeout) > 0 ? Number(cfgTimeout) * 1000 : undefined);
  const khf = merged.userknownhostsfile;
  const knownHostsFiles = khf
    ? (Array.isArray(khf) ? khf : khf.split(/\s+/)).filter(Boolean).map((f) => expandTilde(expandTokens(f, tokens), home))
    : undefined;
  return {
    hostname,
    port,
    user,
    identityFiles,
    explicitIdentityFiles: explicit,
    proxyJump,
    connectTimeoutMs,
    knownHostsFiles,
    hostKeyChecking: mapStrictHostKeyChecking(first(merged.stricthostkeychecking)),
    hashKnownHosts: first(merged.hashknownhosts)?.toLowerCase() === "yes",
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

export interface JumpSpec {
  host: string;
  user?: string;
  port?: number;
}

/** Parse `ssh -J` syntax: [user@]host[:port][,...]; IPv6 as [addr]:port. */
export function parseProxyJump(spec: string, label: string): JumpSpec[] {
  return spec.split(",").map((part) => {
    const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s[\]]+)(?::(\d+))?$/.exec(part.trim().replace(/^ssh:\/\//, ""));
    if (!m) throw new TransportConfigError(label, `invalid ProxyJump entry ${JSON.stringify(part)} (expected [user@]host[:port])`);
    const host = m[2]!.replace(/^\[(.*)\]$/, "$1");
    const port = m[3] ? Number(m[3]) : undefined;
    if (port !== undefined && (port < 1 || port > 65535)) {
      throw new TransportConfigError(label, `invalid port in ProxyJump entry ${JSON.stringify(part)}`);
    }
    return { host, ...(m[1] ? { user: m[1] } : {}), ...(port ? { port } : {}) };
  });
}
