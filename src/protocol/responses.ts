// Every answer the agent sends (one AgentResponse line per request, and the hello).
import type { AgentError, CommandOutput, Effect, InstanceInfo, InstanceResult, QueueName } from "./common.js";
import type { HealthCheckResult, MasterField, ParamChange, ProbeResponse, QueueResponse, RevertResponse, ServiceRequest } from "./requests.js";

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
  /** Messages per queue; present when requested and readable. */
  queues?: Record<QueueName, number>;
  /** Requested, and the queue directories could not be read (why): the counts are unknown, not 0. */
  queueError?: string;
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
  /** systemd runs this host's Postfix (postfix@<instance> units): `service` requests use systemctl. */
  systemd?: boolean;
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
  /** True when this is a resident agent reached through its socket (no Node.js start for this run). */
  resident?: boolean;
  /** A fresh agent started by the loader: whether V8's code cache compiled its bundle (agent-launch.ts CodeCacheState). */
  codeCache?: "used" | "missing" | "rejected" | "off";
  /** Why the code cache was rejected or is off. */
  codeCacheReason?: string;
}

export interface PersistResponse {
  id: number;
  op: "persist";
  /** Where the resident agent will listen (absolute, on the host). */
  socketPath: string;
  idleMs: number;
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

export interface CancelResponse {
  id: number;
  op: "cancel";
  target: number;
  /** False when no such request was queued or running (already answered). */
  found: boolean;
}

export interface LockResponse {
  id: number;
  op: "lock";
  /** Where the lock file is, and who holds it now (this agent). */
  path: string;
  holder: string;
}

export interface UnlockResponse {
  id: number;
  op: "unlock";
  /** False when this agent held no lock. */
  released: boolean;
}

export interface ConfigResponse {
  id: number;
  op: "config";
  instance: InstanceInfo;
  dryRun: boolean;
  changed: boolean;
  changes: ParamChange[];
  /** With `read`: postconf -n (after the change; in dry-run, as it would be). */
  main?: Record<string, string>;
  /** With `read`: master.cf entries as postconf -M prints them, one per line, normalized. */
  master?: string[];
  error?: AgentError;
}

export interface HealthResponse {
  id: number;
  op: "health";
  instance: InstanceInfo;
  /** Every check passed (on the last attempt). */
  ok: boolean;
  checks: HealthCheckResult[];
  attempts: number;
  durationMs: number;
  error?: AgentError;
}

export interface ServiceResponse extends CommandOutput {
  id: number;
  op: "service";
  instance: InstanceInfo;
  action: ServiceRequest["action"];
  via: "systemd" | "postfix";
  /** argv run (null when skipped). */
  command: string[] | null;
  changed: boolean;
  skipped?: string;
  dryRun: boolean;
  error?: AgentError;
}

/** One master.cf service as postconf shows it. */
export interface MasterService {
  /** "service/type". */
  key: string;
  /** postconf -M's line, words joined by one space. */
  line: string;
  /** postconf -F. */
  fields: Record<MasterField, string>;
  /** postconf -P: the service's -o parameters. */
  params: Record<string, string>;
}

/** One instance's configuration (drift-facts). */
export interface InstanceConfig extends InstanceInfo {
  /** Position on the host: 0 the primary, then 1.. in multi_instance_directories order. */
  order: number;
  /** postconf -n. */
  main: Record<string, string>;
  /** master.cf services in file order. */
  master: MasterService[];
  /** sha256 (hex) of the canonical JSON of `main` and `master` as read (before any normalization). */
  hash: string;
  /** Reading this instance failed (the other instances are still there). */
  error?: string;
}

export interface DriftFactsResponse {
  id: number;
  op: "drift-facts";
  postfixVersion: string;
  /** The host's own name (os.hostname()). */
  hostname: string;
  /** The host's non-loopback IP addresses. */
  addresses: string[];
  instances: InstanceConfig[];
  error?: AgentError;
}

export type AgentResponse =
  | HelloResponse
  | PersistResponse
  | PostmultiResponse
  | FactsResponse
  | ShutdownResponse
  | CancelResponse
  | LockResponse
  | UnlockResponse
  | ConfigResponse
  | HealthResponse
  | ServiceResponse
  | DriftFactsResponse
  | ProbeResponse
  | QueueResponse
  | RevertResponse
  | ErrorResponse;
