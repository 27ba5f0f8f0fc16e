// The OpenSSH transport's pure parts: the argv given to the system's `ssh`
// (never a shell line: each element reaches ssh verbatim) and the reading of
// what ssh said when it could not connect, in the ssh2 transport's error kinds.
import type { ConnectionTarget, HostKeyChecking } from "../shared/connection-target.js";
import { AuthError, HostKeyError, TransportConfigError, UnreachableError, type TransportError } from "./errors.js";

export interface OpenSshArgvOptions {
  /** The master's socket (ControlPath), in the run's private directory. */
  controlPath: string;
  /** ssh_config to read instead of ssh's own (`-F`); undefined: the operator's (~/.ssh/config, /etc/ssh/ssh_config). */
  configFile?: string;
  /** The run's default when the target sets none (UserKnownHostsFile). */
  knownHostsFile?: string;
  /** GlobalKnownHostsFile list; [] reads none; undefined: ssh_config's or ssh's. */
  globalKnownHostsFiles?: string[];
  /** The run's default when the target sets none; undefined: ssh_config's (ssh's "ask" is "yes" under BatchMode). */
  hostKeyChecking?: HostKeyChecking;
  /** Connect timeout in ms (the target's, else ssh_config's or the run's, else 10 s). */
  connectTimeoutMs: number;
  /** ssh-agent socket (IdentityAgent); null: none; undefined: ssh_config's or $SSH_AUTH_SOCK. */
  agentSocket?: string | null;
}

/** postfleet's host key policy as ssh's StrictHostKeyChecking. */
export const STRICT_HOST_KEY_CHECKING: Record<HostKeyChecking, string> = { strict: "yes", "accept-new": "accept-new", off: "no" };

/**
 * A value for `-o Keyword=VALUE`: ssh splits some values at whitespace (file lists) and expands
 * `%` tokens in paths, so such values are double-quoted (backslash before `"` and `\`) and `%` doubled.
 */
export function configValue(v: string, percentTokens = false): string {
  const s = percentTokens ? v.replace(/%/g, "%%") : v;
  return /^[^\s"'\\#=]+$/.test(s) ? s : `"${s.replace(/(["\\])/g, "\\$1")}"`;
}

/**
 * The options every ssh of this host gets, before the destination: the operator's ssh_config
 * as is (or `configFile`), BatchMode, the private ControlPath, postfleet's own settings mapped to
 * ssh's, the target's user, port, keys and jump hosts, then ansible_ssh_common_args and
 * ansible_ssh_extra_args (ssh takes the first value of an option, so postfleet's own win).
 */
export function opensshOptions(t: ConnectionTarget, o: OpenSshArgvOptions): string[] {
  const a: string[] = [];
  if (o.configFile !== undefined) a.push("-F", o.configFile);
  a.push("-o", "BatchMode=yes");
  a.push("-o", `ControlPath=${configValue(o.controlPath, true)}`);
  const checking = t.hostKeyChecking ?? o.hostKeyChecking;
  if (checking) a.push("-o", `StrictHostKeyChecking=${STRICT_HOST_KEY_CHECKING[checking]}`);
  const known = t.knownHostsFile ?? o.knownHostsFile;
  if (known !== undefined) a.push("-o", `UserKnownHostsFile=${configValue(known, true)}`);
  if (o.globalKnownHostsFiles !== undefined) {
    const files = o.globalKnownHostsFiles.length ? o.globalKnownHostsFiles : ["/dev/null"];
    a.push("-o", `GlobalKnownHostsFile=${files.map((f) => configValue(f)).join(" ")}`);
  }
  if (o.agentSocket !== undefined) a.push("-o", `IdentityAgent=${o.agentSocket === null ? "none" : configValue(o.agentSocket, true)}`);
  a.push("-o", `ConnectTimeout=${Math.max(1, Math.ceil(o.connectTimeoutMs / 1000))}`);
  if (t.user !== undefined) a.push("-l", t.user);
  if (t.port !== undefined) a.push("-p", String(t.port));
  for (const f of t.privateKeyFiles ?? []) a.push("-i", f);
  if (t.proxyJump !== undefined) a.push("-J", t.proxyJump);
  a.push(...(t.sshArgs ?? []));
  return a;
}

/**
 * The master connection: authenticates, then goes to the background (-f) holding the ControlPath for
 * `persistS` idle seconds at most. `-v` (passed on by ssh to a ProxyJump's ssh) puts each host key ssh
 * accepted into its log, jump hosts first: the host's identity for its resident agent's record.
 */
export function masterArgv(t: ConnectionTarget, o: OpenSshArgvOptions, persistS: number): string[] {
  return ["-v", ...opensshOptions(t, o), "-o", "ControlMaster=yes", "-o", `ControlPersist=${persistS}`, "-N", "-f", "--", t.address];
}

/**
 * Ask the master to forward `localSocket` (a Unix socket in the run's private directory) to
 * `remoteSocket` on the host (sshd's direct-streamlocal, as the login user): how the resident agent is
 * reached. ssh's -L splits at ':', so a path holding one (or white space) is refused (undefined).
 */
export function forwardArgv(t: ConnectionTarget, o: OpenSshArgvOptions, localSocket: string, remoteSocket: string): string[] | undefined {
  if (/[:\s]/.test(localSocket + remoteSocket)) return undefined;
  return [...opensshOptions(t, o), "-O", "forward", "-L", `${localSocket}:${remoteSocket}`, "--", t.address];
}

/**
 * The SHA256 fingerprints of the host keys ssh accepted, in the order it met them (jump hosts, then
 * the host), from its `-v` log ("Server host key: TYPE FP", or "Server host certificate: TYPE FP, ..."
 * whose fingerprint is the certified key's own, as the ssh2 transport's).
 */
export function hostKeysFromLog(log: string): string[] {
  return [...log.matchAll(/^debug1: Server host (?:key|certificate): \S+ (SHA256:[A-Za-z0-9+/]+)/gm)].map((m) => m[1]!);
}

/** One command through the master: no terminal, no escape character (the agent's bytes pass as they are), `command` run by the login shell as ssh2's exec runs it. */
export function sessionArgv(t: ConnectionTarget, o: OpenSshArgvOptions, command: string): string[] {
  return [...opensshOptions(t, o), "-o", "ControlMaster=no", "-T", "-e", "none", "--", t.address, command];
}

/** Ask the master to exit (end of the run). */
export function exitArgv(t: ConnectionTarget, o: OpenSshArgvOptions): string[] {
  return [...opensshOptions(t, o), "-O", "exit", "--", t.address];
}

/** ssh's own lines (debug and banners left out), for messages. */
function sshSays(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !/^@+$/.test(l) && !/^debug\d?:/.test(l) && !/^OpenSSH_\S+ /.test(l));
  return lines.join(" ").replace(/\s+/g, " ").slice(0, 1500);
}

/**
 * What ssh's failure to connect (exit 255) means, as the ssh2 transport reports it: host key
 * refused, authentication failed, unreachable, or a configuration ssh would not take.
 */
export function classifySshFailure(host: string, where: string, stderr: string, timeoutMs: number): TransportError {
  const said = sshSays(stderr) || "ssh exited with status 255 and said nothing";
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
    return new HostKeyError(host, `host key of ${where} has CHANGED; ssh refused it: ${said}`, "changed");
  }
  if (/revoked/i.test(stderr) && /host key|certificate/i.test(stderr)) {
    return new HostKeyError(host, `host key of ${where} is revoked; ssh refused it: ${said}`, "revoked");
  }
  if (/Host key verification failed|Certificate invalid|No .* host key is known|host key .* not in list of known hosts|Host key for .* has changed/i.test(stderr)) {
    return new HostKeyError(host, `host key of ${where} refused by ssh: ${said}`, "unknown");
  }
  if (/Permission denied|Too many authentication failures|No more authentication methods/i.test(stderr)) {
    return new AuthError(host, `authentication failed for ${where}; ssh: ${said}`);
  }
  if (/Connection timed out|Operation timed out|timed out during banner exchange/i.test(stderr)) {
    return new UnreachableError(host, `timed out after ${timeoutMs / 1000} s connecting to ${where}; ssh: ${said}`);
  }
  if (/command-line line \d+|Bad configuration option|bad port|Invalid ProxyJump|garbage at end of line|Unsupported option|\.ssh\/config line|ssh_config line|terminating, \d+ bad configuration options/i.test(stderr)) {
    return new TransportConfigError(host, `ssh refused its configuration for ${where}: ${said}`);
  }
  // Connection refused, no route to host, name not resolved, closed or reset during the handshake.
  return new UnreachableError(host, `cannot connect to ${where}: ${said}`);
}
