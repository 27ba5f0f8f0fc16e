// The shape of a run's results: what the engine produces, what `--json`
// prints (exactly one document) and what the renderers read. It lives with
// the engine so that the engine never imports a printer. Field names are part
// of the CLI's contract; add fields, never rename.
import type { CommandOutput, Effect, InstanceFacts } from "../protocol/index.js";
import type { DriftData } from "./drift-data.js";
import type { HostTimings, UnverifiedHostKey } from "../transport/index.js";

export type HostStatus = "ok" | "changed" | "failed" | "unreachable" | "skipped";

export interface ResultRow extends CommandOutput {
  instance: string;
  /** The command run for this instance, as one quoted line ("" when none). */
  command: string;
  changed: boolean;
  /** Why nothing was run for this instance (e.g. "not running" for stop). */
  skipped?: string;
  group?: string;
  configDirectory?: string;
  enabled?: boolean;
  /** Playbooks: the step this row belongs to. */
  step?: string;
}

export interface HostOutcome {
  host: string;
  status: HostStatus;
  /** Why the host failed, was unreachable or skipped. Never contains secrets. */
  error?: string;
  /** One line about the host (ping: versions; bootstrap: what was installed). */
  message?: string;
  /** What the host's command printed itself, apart from per-instance results (e.g. `postmulti -l`). */
  stdout?: string;
  results: ResultRow[];
  durationMs: number;
  /** When work on the host began and ended (ISO 8601, ms; wall clock of the controller). Absent for hosts never attempted. */
  startedAt?: string;
  finishedAt?: string;
  /** Command-specific data, one shape per operation (`kind` names it). */
  data?: HostData;
  /** Where the host's time went: connect, auth, agent check/upload, hello, each request (ms). */
  timings?: HostTimings;
  /** Present when the host's key was accepted without verification (host key checking off). */
  hostKey?: { verified: false } & UnverifiedHostKey;
  /** Playbook runs: on_gate_failure: revert ran on the host (true: its files are back and the gate held again; the host is still failed). */
  reverted?: boolean;
}

/** What each operation adds about a host, beyond its per-instance results. */
export type HostData = PostmultiData | PingData | FactsData | BootstrapData | DriftData;

export interface PostmultiData {
  kind: "postmulti";
  /** postmulti's exit code on the host. */
  exitCode: number;
  dryRun: boolean;
  /** Operation-level effects (dry run: what would happen). */
  effects?: Effect[];
}

export interface PingData {
  kind: "ping";
  nodeVersion: string;
  postfixVersion: string;
  agentVersion: string;
  hostname: string;
  /** How many Postfix instances the host has (primary included). */
  instances: number;
  /** Who the agent runs as: "root" or "uid N". */
  user: string;
}

export interface FactsData {
  kind: "facts";
  postfixVersion: string;
  instances: InstanceFacts[];
  /** Per instance name: age in seconds of its oldest deferred message (postqueue -j), for instances with deferred mail whose queue was read. */
  oldestDeferredS?: Record<string, number | null>;
  /** Per instance name: why its queue could not be read. */
  queueErrors?: Record<string, string>;
}

export interface NodeVersionInfo {
  version: string;
  path: string;
}

export interface BootstrapData {
  kind: "bootstrap";
  before: NodeVersionInfo | null;
  after: NodeVersionInfo;
  packageManager: string | null;
}

export interface Summary {
  ok: number;
  changed: number;
  failed: number;
  unreachable: number;
  skipped: number;
}

export interface RunDocument {
  command: string;
  summary: Summary;
  /** True when the run was interrupted; hosts not reached are "skipped". */
  aborted: boolean;
  hosts: HostOutcome[];
  /** Hosts whose key this run did not verify (host key checking off); absent when every key was checked. */
  hostKeyCheckingOff?: string[];
}

/** Exit codes of every postfleet command that reaches hosts. */
export const EXIT = { ok: 0, usage: 1, failed: 2, unreachable: 3, aborted: 4 } as const;

export function summarize(hosts: readonly HostOutcome[]): Summary {
  const s: Summary = { ok: 0, changed: 0, failed: 0, unreachable: 0, skipped: 0 };
  for (const h of hosts) s[h.status]++;
  return s;
}

export function runDocument(command: string, hosts: HostOutcome[], aborted: boolean, hostKeyCheckingOff: string[] = []): RunDocument {
  return { command, summary: summarize(hosts), aborted, hosts, ...(hostKeyCheckingOff.length ? { hostKeyCheckingOff } : {}) };
}

export function exitCodeOf(doc: RunDocument): number {
  if (doc.aborted) return EXIT.aborted;
  if (doc.summary.failed > 0) return EXIT.failed;
  if (doc.summary.unreachable > 0) return EXIT.unreachable;
  return EXIT.ok;
}
