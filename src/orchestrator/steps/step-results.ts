// Results of a playbook run, per play → batch → host → step → instance. They
// extend the run document of one-command runs, so that scripts written for
// `--json` of the other commands (summary, aborted, hosts[].status) keep working.
import type { CommandOutput, HealthCheckResult, ParamChange, ProbeResponse } from "../../protocol/index.js";
import type { HostOutcome, HostStatus, RunDocument } from "../run-document.js";
import type { StepType } from "./step-model.js";

export type StepStatus = "ok" | "changed" | "failed" | "skipped";

export interface InstanceStepResult extends Partial<Pick<CommandOutput, "stdout" | "stderr">>, Pick<CommandOutput, "durationMs"> {
  instance: string;
  status: StepStatus;
  /** What was done, in words: "started", "stopped", "created", "reloaded", "settings applied", "would start"… */
  action: string;
  /** systemd or postfix, for start/stop/reload/restart. */
  via?: "systemd" | "postfix";
  /** Commands run, each as one quoted line. */
  commands?: string[];
  /** main.cf / master.cf changes (with --check: the changes that would be made). */
  changes?: ParamChange[];
  /** Health checks of the gate or wait, as last seen. */
  health?: HealthCheckResult[];
  /** A mail-flow probe of the gate or wait: its hops, where it stopped, what was removed. */
  probe?: Pick<ProbeResponse, "ok" | "outcome" | "messageId" | "injectedVia" | "hops" | "failure" | "removed" | "durationMs">;
  error?: string;
}

export interface StepResult {
  index: number;
  name: string;
  /** "revert": the files an on_gate_failure: revert step kept, put back after a later gate failed (revert.ts). */
  type: StepType | "then" | "revert";
  status: StepStatus;
  /** Why it failed or was skipped. */
  error?: string;
  skipped?: string;
  instances: InstanceStepResult[];
  durationMs: number;
}

/** A play with a canary: its first batch is the "canary" stage, the others the "rollout". */
export type StageName = "canary" | "rollout";

/** How the canary stage ended: promoted to the rest; failed, aborted by the operator, or stopped (interrupt...) before promotion; passed with no other host to promote to. */
export type CanaryOutcome = "promoted" | "failed" | "aborted" | "stopped" | "passed";

export interface StageResult {
  stage: StageName;
  /** Its batches (0-based; the canary is batch 0). */
  batches: number[];
  hosts: string[];
  /** canary: how promotion is decided, and how the stage ended (absent while it has not). */
  promote?: "auto" | "pause";
  soakMs?: number;
  outcome?: CanaryOutcome;
  detail?: string;
}

export interface PlayHostOutcome extends HostOutcome {
  steps: StepResult[];
  /** Set in a play with a canary stage: which stage the host ran in. */
  stage?: StageName;
  /** Set when the host stopped before its last step although nothing failed on it (budget spent, interrupt). */
  incomplete?: string;
}

export interface BatchResult {
  /** 0-based. */
  batch: number;
  hosts: PlayHostOutcome[];
  durationMs: number;
  /** Set in a play with a canary stage. */
  stage?: StageName;
}

export interface PlayResult {
  name: string;
  pattern: string;
  hosts: string[];
  batches: BatchResult[];
  /** Why the play stopped before its last batch ("failure budget spent: 2 of 2 hosts failed"). */
  stopped?: string;
  /** Failed + unreachable hosts, and the budget they were counted against. */
  failures: number;
  maxFail?: number;
  /** A play with a canary: the canary stage (batch 0), then the rollout (the other batches). */
  stages?: StageResult[];
}

export interface PlaybookDocument extends RunDocument {
  playbook: string;
  check: boolean;
  plays: PlayResult[];
  /** Hosts for --limit @FILE: failed, unreachable, incomplete or never attempted. */
  retryHosts: string[];
}

/** A host's overall status over its steps. */
export function hostStatusOf(steps: readonly StepResult[]): HostStatus {
  if (steps.some((s) => s.status === "failed")) return "failed";
  if (steps.some((s) => s.status === "changed")) return "changed";
  return "ok";
}

/** A step's status over its instances. */
export function stepStatusOf(instances: readonly InstanceStepResult[]): StepStatus {
  if (instances.some((i) => i.status === "failed")) return "failed";
  if (instances.some((i) => i.status === "changed")) return "changed";
  if (instances.length > 0 && instances.every((i) => i.status === "skipped")) return "skipped";
  return "ok";
}
