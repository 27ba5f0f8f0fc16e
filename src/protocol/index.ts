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
// Protocol 2: the agent reads requests while others run. Requests other than
// `cancel` run one at a time in arrival order; `cancel` is answered at once.
// Responses carry their request's id and may therefore come out of order
// (a `cancel` answer overtakes the request it cancels). A cancelled or timed-
// out request still answers with its own response shape, with `error.code`
// "cancelled" or "timeout" and the per-instance results completed so far, so
// the controller can say exactly which instances were done. A child process
// that outlives its timeout or a cancel gets SIGTERM on its whole process
// group, then SIGKILL after KILL_GRACE_MS.
//
// One-shot structured mode: `node agent.cjs --json [--dry-run] POSTMULTI-ARGS`
// prints one PostmultiResponse (id 0) and exits with postmulti's exit code.

export const PROTOCOL_VERSION = 2;

/** After SIGTERM to a timed-out or cancelled command's process group, SIGKILL follows after this. */
export const KILL_GRACE_MS = 5000;

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

/** Stop request `target` (kill its running command's process group); answered at once. */
export interface CancelRequest {
  id: number;
  op: "cancel";
  target: number;
}

/**
 * Take the host's configuration lock for this agent until `unlock` or the
 * agent's exit, so that a run's several requests are one unit for other
 * postfleet runs and agents. Requests of this agent do not wait for it.
 */
export interface LockRequest {
  id: number;
  op: "lock";
  /** Shown to whoever waits for the lock (e.g. "postfleet run rolling-restart.yml by alice"). */
  holder: string;
  /** How long to wait for a lock another process holds (default 60 s); then error code "lock". */
  timeoutMs?: number;
}

export interface UnlockRequest {
  id: number;
  op: "unlock";
}

/**
 * main.cf and master.cf of one instance: read them, and (with `set`) change
 * only what differs, through Postfix's own postconf (-e, -X, -M, -F, -P)
 * under the host lock. With `dryRun` nothing is written, and the answer says
 * what would change.
 */
export interface ConfigRequest {
  id: number;
  op: "config";
  /** Instance name (multi_instance_name), or "-" for the primary. */
  instance: string;
  set?: ConfigSpec;
  dryRun?: boolean;
  /** Also answer with the whole configuration after the change (postconf -n, -M, -F, -P). */
  read?: boolean;
  lockTimeoutMs?: number;
  /**
   * Dry run only (else code "usage"): when no instance has this name yet,
   * answer for the instance that `postmulti -I <instance> [-G group] -e
   * create` would make. The agent builds the main.cf and master.cf that
   * Postfix's postmulti-script would install, in a private temporary
   * directory, diffs `set` against them as for an existing instance, and
   * removes the directory: nothing on the host changes. A create that
   * postmulti would refuse (name, directory in use) is this request's error
   * with postmulti's text. The answer's `instance` has the new instance's
   * config directory. Ignored when the instance exists. Older agents answer
   * "No instance named ..." (code "not-found").
   */
  newInstance?: { group?: string };
}

/** Master fields that `-F` sets; every other key of a master_cf entry is a `-o` parameter (`-P`). */
export const MASTER_FIELDS = ["service", "type", "private", "unprivileged", "chroot", "wakeup", "process_limit", "command"] as const;
export type MasterField = (typeof MASTER_FIELDS)[number];

export interface ConfigSpec {
  /** main.cf: name → value (postconf -e where the current value differs). */
  main?: Record<string, string>;
  /** main.cf: parameters to remove (postconf -X where present), back to their default. */
  mainAbsent?: string[];
  /**
   * master.cf: "service/type" → { field or -o parameter → value }. A field
   * (MASTER_FIELDS) is set with -F, a parameter with -P; null removes a
   * parameter (-PX). An entry that does not exist is created with -M from its
   * fields (for those not given: private n for inet entries (master(8) refuses
   * a private inet service), else y; unprivileged y; chroot y (Debian n);
   * wakeup never; process_limit -; `command` is required).
   * An entry given as null is removed as a whole (postconf -MX) where it exists.
   */
  master?: Record<string, Record<string, string | null> | null>;
}

/** One parameter or master.cf field that changed (or would change). */
export interface ParamChange {
  file: "main.cf" | "master.cf";
  /** main.cf: the parameter; master.cf: "service/type/field" (-F), "service/type/param" (-P) or "service/type" (-M). */
  name: string;
  /** null: was not set (main.cf: at its default; master.cf: absent). */
  before: string | null;
  /** null: removed. */
  after: string | null;
  /** main.cf, when removed or not set before: postconf -d's value. */
  defaultValue?: string;
  /** master.cf: "field" (-F) or "param" (-P) or "entry" (-M: a whole new or removed service). */
  kind?: "field" | "param" | "entry";
}

export interface HealthRequest {
  id: number;
  op: "health";
  /** Instance name, or "-" for the primary. */
  instance: string;
  checks: HealthCheck[];
  /** Retry until every check passes or this time is up (0: check once). */
  timeoutMs?: number;
  /** Pause between attempts (default 500 ms). */
  intervalMs?: number;
}

export type HealthCheck =
  /** The instance's master process is alive. */
  | { kind: "master" }
  /**
   * An SMTP server answers with a 220 banner. Without address/port: every
   * inet smtpd listener of the instance's master.cf, on its inet_interfaces
   * (wildcard addresses probed on loopback). An instance without inet smtpd
   * listeners passes with detail "no inet listener".
   */
  | { kind: "smtp"; address?: string; port?: number }
  /** active + incoming + deferred messages of the instance at most `max`. */
  | { kind: "queue"; max: number }
  /** smtpd processes of the instance's master at most `max` (drain: 0). */
  | { kind: "sessions"; max: number }
  /** A command, in the instance's context (as postmulti -x), exits 0. */
  | { kind: "command"; argv: string[]; shell?: boolean };

export interface HealthCheckResult {
  kind: HealthCheck["kind"];
  ok: boolean;
  /** What was seen: "pid 1234", "220 mx.example.net ESMTP at 127.0.0.1:25", "queue 3 > 0", "exit 1: ..." */
  detail: string;
}

/**
 * Start, stop, reload or restart one instance, the way the host runs Postfix:
 * through systemctl where systemd runs it as `postfix@<instance>` units
 * (Debian), else through postfix(1) with the instance's MAIL_CONFIG. Starting
 * a running or disabled instance, and stopping a stopped one, answer
 * changed:false with `skipped` saying why.
 */
export interface ServiceRequest {
  id: number;
  op: "service";
  instance: string;
  action: "start" | "stop" | "reload" | "restart";
  /** Default "auto": systemd when the host's Postfix runs under postfix@ units. */
  via?: "auto" | "systemd" | "postfix";
  dryRun?: boolean;
  timeoutMs?: number;
}

/**
 * A mail-flow probe: inject one uniquely tagged message into `instance` (SMTP
 * to `address`:`port`, else to the instance's first inet smtpd listener, else
 * through the instance's sendmail) and follow it through Postfix's own log
 * (maillog_file of each instance, else /var/log/mail.log) by queue ID across
 * the instance chain ("queued as" links) until `outcome`: "delivered" (status=
 * sent to a relay that is no local Postfix listener), "accepted" (the first
 * hop queued it and handed it on) or "verify" (sendmail -bv: the recipient is
 * deliverable; no message is sent). A deferral or bounce at a hop ends the
 * probe at once; any probe still queued is removed with postsuper -d.
 */
export interface ProbeRequest {
  id: number;
  op: "probe";
  instance: string;
  outcome?: ProbeOutcome;
  /** Envelope sender (default PROBE_SENDER). */
  sender?: string;
  /** Envelope recipient (default PROBE_RECIPIENT, which no real mailbox has). */
  recipient?: string;
  address?: string;
  port?: number;
  /** The whole probe must reach its outcome within this time (default PROBE_MAX_LATENCY_MS). */
  maxLatencyMs?: number;
}
export type ProbeOutcome = "delivered" | "accepted" | "verify";
export const PROBE_SENDER = "postfleet-probe@postfleet.invalid";
export const PROBE_RECIPIENT = "probe@postfleet.invalid";
export const PROBE_MAX_LATENCY_MS = 30_000;

/** One queue the probe passed through: an instance's queue ID and what that instance did with it. */
export interface ProbeHop {
  /** The instance's syslog_name as logged ("postfix-in"), and its multi_instance_name when known. */
  syslogName: string;
  instance: string | null;
  queueId: string;
  /** Where this hop delivered it ("127.0.0.1[127.0.0.1]:10025"); null while not delivered. */
  relay: string | null;
  /** sent, deferred, bounced, deliverable, undeliverable; null while queued. */
  status: string | null;
  /** Postfix's delay= for this hop, in ms (time the message spent in this instance). */
  latencyMs: number | null;
  /** When the agent saw this hop's last line, ms after the injection. */
  seenAfterMs: number;
  /** The hop's delivery line (or its last line). */
  line: string;
}

export interface ProbeResponse {
  id: number;
  op: "probe";
  instance: InstanceInfo;
  ok: boolean;
  outcome: ProbeOutcome;
  /** The probe's Message-ID (its tag in the log). */
  messageId: string;
  /** Where it was injected: "smtp 127.0.0.1:25" or "sendmail -C /etc/postfix-in". */
  injectedVia: string;
  hops: ProbeHop[];
  /** Why it failed: the hop (syslog_name) where it stopped and the log line that says why. */
  failure?: { hop: string; reason: string; line?: string };
  /** Probe messages left in a queue and removed (postsuper -d), with what postsuper said. */
  removed: { instance: string; queueId: string; result: string }[];
  /** The log files read. */
  logFiles: string[];
  durationMs: number;
  error?: AgentError;
}

/**
 * Read-only: one instance's queues from `postqueue -c CONFIG_DIR -j`, read as
 * a stream (a queue may hold millions of messages; nothing is kept per
 * message): counts per queue, the age of the oldest deferred message, and the
 * distinct delay_reason texts (normalized: whitespace collapsed, identifiers
 * of 8+ characters with a digit as "#", at most 200 characters; at most
 * `maxReasons`, default QUEUE_MAX_REASONS).
 */
export interface QueueRequest {
  id: number;
  op: "queue";
  instance: string;
  maxReasons?: number;
}
export const QUEUE_MAX_REASONS = 20;
export const QUEUE_GATE_QUEUES = ["active", "incoming", "deferred", "hold", "maildrop"] as const;
export type QueueGateQueue = (typeof QUEUE_GATE_QUEUES)[number];

export interface QueueResponse {
  id: number;
  op: "queue";
  instance: InstanceInfo;
  counts: Record<QueueGateQueue, number>;
  /** Messages postqueue listed in a queue not named above (corrupt...). */
  other: number;
  /** Age in seconds of the oldest deferred message (by arrival_time); null when none is deferred. */
  oldestDeferredS: number | null;
  /** Distinct normalized delay_reason texts, in the order first seen. */
  delayReasons: string[];
  /** More distinct reasons were seen than maxReasons. */
  reasonsTruncated: boolean;
  /** Lines that were no JSON object (counted, not kept). */
  badLines: number;
  durationMs: number;
  error?: AgentError;
}

/**
 * `on_gate_failure: revert`: one instance's main.cf and
 * master.cf kept byte for byte before a settings change, and put back.
 * - `snapshot`: read both files, keep a copy on the host in
 *   CONFIG_DIR/.postfleet-revert/ (directory 0700, files 0600, root's),
 *   answer their bytes (base64) and sha256.
 * - `restore`: write the given bytes (else the host's copy) back through the
 *   same locked staged edit as a config request (staged-edit.ts), under the
 *   host lock; only files that differ are replaced. Answers the sha256 after.
 * - `discard`: remove the host's copy.
 */
export interface RevertRequest {
  id: number;
  op: "revert";
  instance: string;
  action: "snapshot" | "restore" | "discard";
  /** restore: the controller's copy (base64 by file name); absent: the host's copy. */
  files?: Partial<Record<RevertFile, string>>;
}
export const REVERT_FILES = ["main.cf", "master.cf"] as const;
export type RevertFile = (typeof REVERT_FILES)[number];

export interface RevertResponse {
  id: number;
  op: "revert";
  instance: InstanceInfo;
  action: RevertRequest["action"];
  /** snapshot: both files' bytes (base64); restore/discard: none. */
  files: Partial<Record<RevertFile, string>>;
  /** sha256 (hex) of each file: as kept (snapshot) or as it is now (restore). */
  sha256: Partial<Record<RevertFile, string>>;
  /** restore: the files replaced (those that differed). */
  replaced: RevertFile[];
  /** Where the host keeps its copy. */
  hostCopy?: string;
  error?: AgentError;
}

/**
 * Read-only: every instance's configuration in one request (for `postfleet
 * drift`): main.cf (postconf -n), master.cf (-M, -F, -P), the instance set.
 */
export interface DriftFactsRequest {
  id: number;
  op: "drift-facts";
}

/**
 * Keep an agent for the next runs (the resident agent): this agent starts at
 * once, detached, a resident agent of the same verified bundle that listens
 * on a Unix socket only the login user can open (in /run/postfleet for a root
 * agent, in the login user's private cache otherwise) while this run goes on,
 * and for `idleMs` (at most an hour) without a served caller after this run
 * ended, then exits. A caller must present
 * `secret` (64 hex digits, held only by the controller and, on the host, only
 * in the resident agent's memory) in its first line, an AttachLine.
 */
export interface PersistRequest {
  id: number;
  op: "persist";
  secret: string;
  idleMs: number;
}

/** The first line a caller writes on a resident agent's socket; the agent answers with its hello, or an error and the end. */
export interface AttachLine {
  op: "attach";
  secret: string;
  /** The bundle the caller expects; another one answers "stale" and the resident agent exits. */
  sha256: string;
  /** The caller's idle time, which the resident agent adopts from now on (the last caller decides). */
  idleMs?: number;
  /** Ask the resident agent to exit: it answers a ShutdownResponse (id 0) and goes. */
  stop?: boolean;
}

/**
 * The controller's heartbeat: a line without id, never answered, written right
 * after the hello and then every HEARTBEAT_INTERVAL_MS while the session is
 * open. From the first one on, the agent watches the session: when its input
 * ends, or stays silent for `deadlineMs` (any line resets that clock), the
 * controller is gone (killed, or behind a cut link that sends no EOF), and the
 * agent cancels what runs (process group TERM, then KILL), releases the host
 * lock and ends the session. A session that never sent one (a hand-driven
 * `agent.cjs --serve`) is not watched, and still finishes its requests at the
 * end of its input. No PROTOCOL_VERSION bump: an agent without heartbeats
 * answers the line with a usage error of id 0, which the controller ignores.
 */
export interface HeartbeatLine {
  op: "heartbeat";
  /** Silence after which the agent gives the controller up (HEARTBEAT_DEADLINE_MIN_MS..86400000). */
  deadlineMs: number;
}
export const HEARTBEAT_INTERVAL_MS = 5000;
export const HEARTBEAT_DEADLINE_MS = 30_000;
export const HEARTBEAT_DEADLINE_MIN_MS = 100;

export type AgentRequest =
  | PostmultiRequest
  | PersistRequest
  | FactsRequest
  | ShutdownRequest
  | CancelRequest
  | LockRequest
  | UnlockRequest
  | ConfigRequest
  | HealthRequest
  | ServiceRequest
  | DriftFactsRequest
  | ProbeRequest
  | QueueRequest
  | RevertRequest;

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
