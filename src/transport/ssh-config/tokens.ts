// How OpenSSH 9.2 turns a file name from ssh_config (or -i) into a path:
// ssh.c expands `~` first (misc.c tilde_expand: `~`, `~/path`, `~user/path`),
// then %-tokens and ${VAR} (vdollar_percent_expand) for the keywords that take
// them. UserKnownHostsFile, IdentityFile, CertificateFile, IdentityAgent and
// ControlPath take the default client set (sshconnect.h
// DEFAULT_CLIENT_PERCENT_EXPAND_ARGS): %C %L %i %k %l %n %p %d %h %r %u and %%;
// GlobalKnownHostsFile takes `~` only (its `%` stays as written). An unknown
// token, a lone `%` at the end, an unterminated or empty `${}` and an
// undefined variable are errors, as they are fatal in ssh.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";

/** The values of the default client tokens for one connection. */
export interface ConnectionTokens {
  /** %C: SHA-1 (hex) of %l%h%p%r, ssh's connection hash. */
  C: string;
  /** %L: the local host name up to its first dot. */
  L: string;
  /** %i: the local user's uid. */
  i: string;
  /** %k: HostKeyAlias (lowercased, as ssh lowercases it), else the host name as given. */
  k: string;
  /** %l: the local host name. */
  l: string;
  /** %n: the host name as given (before HostName). */
  n: string;
  /** %p: the port. */
  p: string;
  /** %d: the local home directory. */
  d: string;
  /** %h: the host name connected to (after HostName). */
  h: string;
  /** %r: the remote user. */
  r: string;
  /** %u: the local user name. */
  u: string;
}

export interface TokenInput {
  /** The name as given (inventory host). */
  hostArg: string;
  /** HostName applied and lowercased, as ssh connects to it. */
  hostname: string;
  port: number;
  remoteUser: string;
  localUser: string;
  home: string;
  hostKeyAlias?: string | undefined;
  /** Default: the process's uid. */
  uid?: number;
  /** Default: the machine's host name (gethostname). */
  thisHost?: string;
}

export function connectionTokens(t: TokenInput): ConnectionTokens {
  const l = t.thisHost ?? osHostname();
  const p = String(t.port);
  return {
    C: createHash("sha1").update(`${l}${t.hostname}${p}${t.remoteUser}`).digest("hex"),
    L: l.split(".")[0]!,
    i: String(t.uid ?? process.getuid?.() ?? 0),
    k: t.hostKeyAlias ?? t.hostArg,
    l,
    n: t.hostArg,
    p,
    d: t.home,
    h: t.hostname,
    r: t.remoteUser,
    u: t.localUser,
  };
}

/** A path ssh would refuse to expand: why (the caller adds file:line and keyword). */
export class PathExpansionError extends Error {}

/** The home directory of `user` from /etc/passwd, or undefined. */
export function passwdHome(user: string): string | undefined {
  try {
    for (const entry of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const f = entry.split(":");
      if (f[0] === user && f.length >= 6) return f[5];
    }
  } catch {
    // no passwd file: the user is unknown
  }
  return undefined;
}

/**
 * misc.c tilde_expand: `~` and `~/` are `home/`, `~/path` is home/path, `~user/path` that user's home
 * (the local user's is `home`); anything else as is.
 */
export function sshTildeExpand(path: string, home: string, localUser: string): string {
  if (!path.startsWith("~")) return path;
  const rest = path.slice(1);
  let user: string | undefined;
  let tail: string;
  if (rest === "" || rest.startsWith("/")) tail = rest.replace(/^\/+/, "");
  else {
    const slash = rest.indexOf("/");
    user = slash < 0 ? rest : rest.slice(0, slash);
    tail = slash < 0 ? "" : rest.slice(slash + 1).replace(/^\/+/, "");
  }
  let dir = home;
  if (user !== undefined && user !== localUser) {
    const found = passwdHome(user);
    if (found === undefined) throw new PathExpansionError(`~${user}: no such user`);
    dir = found;
  }
  return `${dir}${dir === "" || !dir.endsWith("/") ? "/" : ""}${tail}`;
}

/** misc.c vdollar_percent_expand with the default client tokens and ${VAR} from `env`. */
export function percentDollarExpand(s: string, tokens: ConnectionTokens, env: NodeJS.ProcessEnv = process.env): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "$" && s[i + 1] === "{") {
      const end = s.indexOf("}", i + 2);
      if (end < 0) throw new PathExpansionError(`environment variable '${s.slice(i + 2)}' is missing its closing '}'`);
      const name = s.slice(i + 2, end);
      if (name === "") throw new PathExpansionError("zero-length environment variable ${}");
      const value = env[name];
      if (value === undefined) throw new PathExpansionError(`environment variable \${${name}} has no value`);
      out += value;
      i = end;
      continue;
    }
    if (c !== "%") {
      out += c;
      continue;
    }
    const t = s[++i];
    if (t === "%") out += "%";
    else if (t === undefined) throw new PathExpansionError("a lone % at the end (write %% for a percent sign)");
    else if (Object.hasOwn(tokens, t)) out += tokens[t as keyof ConnectionTokens];
    else throw new PathExpansionError(`unknown token %${t}`);
  }
  return out;
}

/** A UserKnownHostsFile, IdentityFile, ... value as ssh opens it: `~` first, then tokens and ${VAR}. */
export function expandSshPath(raw: string, tokens: ConnectionTokens, home: string, localUser: string, env: NodeJS.ProcessEnv = process.env): string {
  return percentDollarExpand(sshTildeExpand(raw, home, localUser), tokens, env);
}
