// The ssh_config evaluator's vocabulary: which files it reads, where a value
// came from, and the values it obtains (first wins), as OpenSSH's readconf.c.
/** A user file's relative Includes live in ~/.ssh, a system file's in /etc/ssh (and `~` is refused there). */
export type ConfigScope = "user" | "system";

export interface ConfigFileRef {
  path: string;
  scope: ConfigScope;
  /** Refuse the file when group/world-writable or owned by someone else (OpenSSH checks ~/.ssh/config and every included file). */
  checkPermissions?: boolean;
}

export interface Origin {
  file: string;
  line: number;
}

export interface Obtained<T> {
  value: T;
  at: Origin;
}

export interface ObtainedIdentityFile extends Obtained<string> {
  scope: ConfigScope;
}

/** The values obtained from the files (first wins), each with where it came from. */
export interface ObtainedConfig {
  /** HostName as written (tokens not expanded). */
  hostname?: Obtained<string>;
  user?: Obtained<string>;
  port?: Obtained<number>;
  /** IdentityFile entries in order, duplicates dropped as OpenSSH does (same path and scope). */
  identityFiles: ObtainedIdentityFile[];
  /** CertificateFile entries in order (ssh2 cannot present them: named when authentication fails). */
  certificateFiles?: Obtained<string>[];
  /**
   * ProxyJump and ProxyCommand share one slot in OpenSSH: whichever comes first blocks the other.
   * A jump's spec is "none" or the chain as `ssh -G` prints it.
   */
  proxy?: Obtained<{ kind: "jump" | "command"; spec: string }>;
  /** ConnectTimeout in seconds. */
  connectTimeout?: Obtained<number>;
  /** UserKnownHostsFile as written (ssh expands `~`, tokens and ${VAR} later: tokens.ts). */
  userKnownHostsFiles?: Obtained<string[]>;
  /** GlobalKnownHostsFile as written (ssh expands only `~` there). */
  globalKnownHostsFiles?: Obtained<string[]>;
  /** HostKeyAlias as written (ssh lowercases it): the name known_hosts lookups and additions use. */
  hostKeyAlias?: Obtained<string>;
  /** CheckHostIP (only the first value counts; a yes is refused where ssh would use it: resolve.ts). */
  checkHostIp?: Obtained<boolean>;
  /** StrictHostKeyChecking, lowercased. */
  strictHostKeyChecking?: Obtained<string>;
  hashKnownHosts?: Obtained<boolean>;
  /** CanonicalizeHostname, lowercased (only "no"/"false" can be obtained: the others are refused). */
  canonicalizeHostname?: Obtained<string>;
  /** KnownHostsCommand and RevokedHostKeys: only "none" can be obtained (any other value that applies is refused). */
  knownHostsCommand?: Obtained<string>;
  revokedHostKeys?: Obtained<string>;
  /** IgnoreUnknown's pattern list: unknown keywords it matches are skipped instead of refused. */
  ignoreUnknown?: Obtained<string>;
}

/** What the caller already fixed (like ssh's -l, -p, -J, -i, -o ConnectTimeout): config values for these are ignored. */
export interface PresetValues {
  user?: string;
  port?: boolean;
  proxyJump?: boolean;
  connectTimeout?: boolean;
  identityFiles?: boolean;
}

export interface EvaluationInput {
  /** The host name as given (inventory's host). */
  host: string;
  localUser: string;
  home: string;
  files: ConfigFileRef[];
  preset?: PresetValues;
}

export interface Evaluation {
  config: ObtainedConfig;
  /** The name to connect to: HostName with %h expanded, lowercased unless an address (as ssh does). */
  hostname: string;
  /** True when a `Match final` asked for the second pass and it was made. */
  finalPass: boolean;
}
