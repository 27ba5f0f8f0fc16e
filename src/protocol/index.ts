// The controller/agent contract, in one place. The agent (src/agent, bundled
// into dist/agent.cjs) and the controller (src/transport, src/orchestrator)
// both import these types; nothing else crosses the SSH channel.
//
// Framing in the long-running mode (`node agent.cjs --serve`): newline-
// delimited JSON. The controller writes one AgentRequest per line on stdin;
// the agent answers each with exactly one AgentResponse line on stdout, in
// order, carrying the request's id. The first line the agent prints, before
// any request, is a HelloResponse with id 0. EOF on stdin ends the agent.
//
// One-shot structured mode: `node agent.cjs --json [--dry-run] POSTMULTI-ARGS`
// prints one PostmultiResponse (id 0) and exits with postmulti's exit code.

export const PROTOCOL_VERSION = 1;

/** Queue names whose message counts `facts` reports, as in Postfix's queue_directory. */
export const QUEUE_NAMES = ["maildrop", "incoming", "active", "deferred", "hold", "corrupt"] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

// ---------------------------------------------------------------- requests

export interface PostmultiRequest {
  id: number;
  op: "postmulti";
  /** postmulti(1) arguments exactly as on its command line, e.g. ["-g", "mta", "-p", "reload"]. */
  args: string[];
  /** Report what would be done; change nothing, run nothing that changes anything. */
  dryRun?: boolean;
  /** Per-instance command timeout; the command is killed and reported as failed. */
  timeoutMs?: number;
  /** How long to wait for the host's configuration lock (default 60 s); then code "lock". */
  lockTimeoutMs?: number;
}

export interface FactsRequest {
  id: number;
  op: "facts";
  /** Also count queued messages per instance (reads the queue directories). */
  queues?: boolean;
}

export interface ShutdownRequest {
  id: number;
  op: "shutdown";
}

export type AgentRequest = PostmultiRequest | FactsRequest | ShutdownRequest;

// ---------------------------------------------------------------- responses

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

/** What one postmulti operation did (or, in dry-run, would do) on one instance. */
export interface InstanceResult extends InstanceInfo {
  /** The command run for this instance (argv), or null if none was run. */
  command: string[] | null;
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
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
  code: "usage" | "conflict" | "not-found" | "lock" | "timeout" | "failed" | "internal";
}

export interface PostmultiResponse {
  id: number;
  op: "postmulti";
  /** The exit code postmulti would have exited with. */
  exitCode: number;
  dryRun: boolean;
  /** True if any instance result changed something. */
  changed: boolean;
  results: InstanceResult[];
  /** Warnings postmulti would print ("postmulti: warning: ..."), without the prefix. */
  warnings: string[];
  /** Set when postmulti would stop with "postmulti: fatal: ...". */
  error?: AgentError;
  /** Operation-level effects (life-cycle actions touch the primary's main.cf too). */
  effects?: Effect[];
  /** What postmulti itself prints on stdout (the `-l` listing), when anything. */
  stdout?: string;
}

export interface InstanceFacts extends InstanceInfo {
  queueDirectory: string;
  dataDirectory: string;
  /** A master process of this instance is alive. */
  running: boolean;
  /** Messages per queue; present when requested. */
  queues?: Record<QueueName, number>;
}

export interface FactsResponse {
  id: number;
  op: "facts";
  postfixVersion: string;
  nodeVersion: string;
  agentVersion: string;
  hostname: string;
  instances: InstanceFacts[];
  /** The primary's multi_instance_wrapper (expanded); empty before `postmulti -e init`. */
  multiInstanceWrapper?: string;
  /** The primary's multi_instance_enable. */
  multiInstanceEnable?: boolean;
  error?: AgentError;
}

export interface HelloResponse {
  id: 0;
  op: "hello";
  protocol: number;
  agentVersion: string;
  nodeVersion: string;
  /** Effective uid the agent runs as (0 when root / become). */
  uid: number;
}

export interface ShutdownResponse {
  id: number;
  op: "shutdown";
}

export interface ErrorResponse {
  id: number;
  op: "error";
  error: AgentError;
}

export type AgentResponse = HelloResponse | PostmultiResponse | FactsResponse | ShutdownResponse | ErrorResponse;
