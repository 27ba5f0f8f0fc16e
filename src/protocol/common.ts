// What requests and responses share: an instance as postmulti sees it, the
// one shape of a command's result, effects and the agent's errors.

/** Queue names whose message counts `facts` reports, as in Postfix's queue_directory. */
export const QUEUE_NAMES = ["maildrop", "incoming", "active", "deferred", "hold", "corrupt"] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** One Postfix instance as postmulti sees it (from multi_instance_directories). */
export interface InstanceInfo {
  /** multi_instance_name, or "-" when unset (the primary normally). */
  name: string;
  /** multi_instance_group, or "-" when unset. */
  group: string;
  /** multi_instance_enable. */
  enabled: boolean;
  configDirectory: string;
  /** True for the primary instance (default config directory). */
  primary: boolean;
}

/**
 * What one command run on a host produced: the one shape of a command's
 * result, which the agent's spawner, the protocol's answers and the run
 * document all extend.
 */
export interface CommandOutput {
  /** Exit status as postmulti computes it: WEXITSTATUS, or 1 when killed by a signal. */
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** What one postmulti operation did (or, in dry-run, would do) on one instance. */
export interface InstanceResult extends InstanceInfo, CommandOutput {
  /** The command run for this instance (argv), or null if none was run. */
  command: string[] | null;
  /** True if anything on the host changed (files, parameters, running state). */
  changed: boolean;
  /** Dry-run: the effects that would happen. Otherwise the effects that happened, where known. */
  effects?: Effect[];
  /** Structured mode: why no command was run (e.g. "already running", "already enabled"). */
  skipped?: string;
  /** The command was killed after timeoutMs. */
  timedOut?: boolean;
}

export type Effect =
  | { kind: "run"; argv: string[]; env?: Record<string, string> }
  | { kind: "set-parameter"; file: string; name: string; from: string | null; to: string | null }
  | { kind: "create-directory"; path: string; owner: string; mode: string }
  | { kind: "write-file"; path: string }
  | { kind: "remove"; path: string };

export interface AgentError {
  /** Exactly the text postmulti prints after "postmulti: fatal: ", or the agent's own reason. */
  message: string;
  /** Machine-readable reason for the controller: usage, conflict, lock, timeout, internal... */
  code: "usage" | "conflict" | "not-found" | "lock" | "timeout" | "cancelled" | "failed" | "internal";
}
