// Every request the controller sends the agent (one AgentRequest per line), with
// the answer shapes that belong to one request only (probe, queue, revert).
import type { AgentError, InstanceInfo } from "./common.js";

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
